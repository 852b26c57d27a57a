import { describe, expect, test } from 'vitest';
import { buildRecoverableWindow, checkWalContinuity, walRunFrom, type HistoryEntry, type WindowArchive, type WindowBackup } from '../../src/core/pitr.js';
import { formatLsn } from '../../src/core/wal.js';
import { runningJobsOf } from '../../src/agent/units/overview.js';

// The recoverable window's span builder (pitr.window), pure: no PostgreSQL, no storage.

const SEG = 16 * 1024 * 1024;
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const min = (n: number) => T0 + n * 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
/** Segment `n` of `tl` (16 MB segments, log 0). */
const seg = (n: number, tl = 1) => `${hex(tl)}00000000${hex(n)}`;
const lsn = (n: number) => formatLsn(BigInt(n));

/** A physical backup whose WAL lies in segment `n`, finished at minute `at`. */
function backup(id: string, n: number, at: number, tl = 1): WindowBackup {
  return {
    id,
    finishedAt: iso(min(at)),
    physical: { startLsn: lsn(n * SEG + 0x28), stopLsn: lsn(n * SEG + 0x100), timeline: tl, walStart: seg(n, tl), walSegmentSize: SEG },
  };
}

/** Segments `from..to` of `tl`, segment n stored at minute n (unless `mtimes` is false), minus `missing`. */
function archive(from: number, to: number, opts: { missing?: number[]; tl?: number; mtimes?: boolean; histories?: Map<number, HistoryEntry[]> } = {}): WindowArchive {
  const a: WindowArchive = { names: new Set(), mtimes: new Map(), histories: opts.histories ?? new Map() };
  for (let n = from; n <= to; n++) {
    if (opts.missing?.includes(n)) continue;
    a.names.add(seg(n, opts.tl));
    if (opts.mtimes !== false) a.mtimes.set(seg(n, opts.tl), min(n));
  }
  return a;
}

describe('buildRecoverableWindow', () => {
  test('two backups on continuous WAL make one span from the first backup to the newest segment', () => {
    const a = backup('20260301-100200P-aaaa', 2, 2.5);
    const b = backup('20260301-100500P-bbbb', 5, 5.5);
    const w = buildRecoverableWindow('pg', [b, a], archive(1, 10), new Date(min(11)));
    expect(w.spans).toEqual([
      { from: a.finishedAt, to: iso(min(10)), fromLsn: a.physical.stopLsn, lastSegment: seg(10), timeline: 1, backups: [a.id, b.id] },
    ]);
    expect(w.gaps).toBe(0);
    expect(w.cluster).toBe('pg');
    expect(w.now).toBe(iso(min(11)));
    expect(w.newestSegmentAt).toBe(iso(min(10)));
  });

  test('a missing segment ends the span at the gap; a backup after the gap starts a new span', () => {
    const a = backup('20260301-100200P-aaaa', 2, 2.5);
    const b = backup('20260301-100400P-bbbb', 4, 4.5); // before the gap: same span
    const c = backup('20260301-100800P-cccc', 8, 8.5); // after it: a new one
    const w = buildRecoverableWindow('pg', [a, b, c], archive(1, 12, { missing: [6] }));
    expect(w.spans).toHaveLength(2);
    expect(w.spans[0]).toEqual({
      from: a.finishedAt,
      to: iso(min(5)),
      fromLsn: a.physical.stopLsn,
      lastSegment: seg(5),
      timeline: 1,
      backups: [a.id, b.id],
      gap: { segment: seg(6), at: iso(min(5)) },
    });
    expect(w.spans[1]).toEqual({ from: c.finishedAt, to: iso(min(12)), fromLsn: c.physical.stopLsn, lastSegment: seg(12), timeline: 1, backups: [c.id] });
    expect(w.gaps).toBe(1);
  });

  test('no physical backup: no spans (archived WAL alone recovers nothing)', () => {
    const w = buildRecoverableWindow('pg', [], archive(1, 10));
    expect(w.spans).toEqual([]);
    expect(w.gaps).toBe(0);
    expect(w.newestSegmentAt).toBe(iso(min(10)));
  });

  test('the end of the archive is not a gap, and without mtimes a span ends at the backup; same-end spans still merge', () => {
    const a = backup('20260301-100200P-aaaa', 2, 2.5);
    const b = backup('20260301-100500P-bbbb', 5, 5.5);
    const w = buildRecoverableWindow('pg', [a, b], archive(1, 10, { mtimes: false }));
    expect(w.spans).toEqual([{ from: a.finishedAt, to: b.finishedAt, fromLsn: a.physical.stopLsn, lastSegment: seg(10), timeline: 1, backups: [a.id, b.id] }]);
    expect(w.newestSegmentAt).toBeUndefined();
  });

  test('the span follows a timeline switch recorded in a history file', () => {
    const histories = new Map([[2, [{ parent: 1, switchLsn: lsn(6 * SEG), reason: 'no recovery target specified' }]]]);
    const a = archive(1, 5, { histories });
    for (let n = 6; n <= 8; n++) {
      a.names.add(seg(n, 2));
      a.mtimes.set(seg(n, 2), min(n));
    }
    a.names.add('00000002.history');
    const w = buildRecoverableWindow('pg', [backup('20260301-100200P-aaaa', 2, 2.5)], a);
    expect(w.spans).toHaveLength(1);
    expect(w.spans[0]).toMatchObject({ lastSegment: seg(8, 2), timeline: 2, to: iso(min(8)) });
    expect(w.spans[0]!.gap).toBeUndefined();
  });

  test('segments inside the backup count even when not archived; the span does not end before the backup', () => {
    const b = backup('20260301-100500P-bbbb', 5, 5.5);
    const w = buildRecoverableWindow('pg', [b], archive(1, 4));
    expect(w.spans).toEqual([{ from: b.finishedAt, to: b.finishedAt, fromLsn: b.physical.stopLsn, lastSegment: seg(5), timeline: 1, backups: [b.id] }]);
  });
});

describe('walRunFrom and checkWalContinuity', () => {
  const input = (a: WindowArchive) => ({ from: seg(2), segSize: SEG, archived: a.names, histories: a.histories, followTimelines: true });

  test('walRunFrom stops at a gap and says so; checkWalContinuity still throws naming it', () => {
    const a = archive(1, 9, { missing: [6] });
    expect(walRunFrom(input(a))).toEqual({ timeline: 1, last: seg(5), segments: 4, missing: seg(6), gap: true });
    expect(() => checkWalContinuity(input(a))).toThrow(`WAL segment ${seg(6)} (timeline 1) is missing from the archive`);
  });

  test('at the end of the archive both return the last segment', () => {
    const a = archive(1, 9);
    expect(walRunFrom(input(a))).toEqual({ timeline: 1, last: seg(9), segments: 8, missing: seg(10), gap: false });
    expect(checkWalContinuity(input(a))).toEqual({ timeline: 1, last: seg(9), segments: 8 });
  });

  test('nothing archived from the start: a run of none; checkWalContinuity throws', () => {
    const a = archive(5, 9);
    expect(walRunFrom(input(a))).toMatchObject({ segments: 0, missing: seg(2), gap: true });
    expect(walRunFrom(input(a)).last).toBeUndefined();
    expect(() => checkWalContinuity(input(archive(1, 1)))).toThrow(/missing from the archive/);
  });
});

describe('cluster.overview: which cluster a running job belongs to', () => {
  const rec = (id: string, cluster: string | undefined, params: Record<string, unknown>, status: 'running' | 'succeeded' = 'running') => ({
    id,
    type: 'backup',
    startedAt: '2026-03-01T10:00:00.000Z',
    status,
    ...(cluster ? { cluster } : {}),
    params,
  });
  const records = [rec('1', 'a', {}), rec('2', undefined, { cluster: 'b' }), rec('3', undefined, {}), rec('4', 'a', {}, 'succeeded')];

  test('the record, then its params, then the only cluster; finished jobs are left out', () => {
    expect(runningJobsOf(records, 'a').map((j) => j.id)).toEqual(['1']);
    expect(runningJobsOf(records, 'b').map((j) => j.id)).toEqual(['2']);
    expect(runningJobsOf(records, 'a', 'a').map((j) => j.id)).toEqual(['1', '3']);
    expect(runningJobsOf(records, 'a', 'a')[0]).toEqual({ id: '1', type: 'backup', startedAt: '2026-03-01T10:00:00.000Z' });
  });
});
