import { afterEach, describe, expect, test } from 'vitest';
import { initialState, LOG_CAP, type AppState, type BackupSummary } from '../../src/tui/state/model.js';
import { reducer, type Action } from '../../src/tui/state/reducer.js';
import { backupGroups, fleetRows } from '../../src/tui/state/selectors.js';
import { colorOn } from '../../src/tui/views/common.js';
import { timeBarCells } from '../../src/tui/views/timebar.js';
import { groupedLines } from '../../src/tui/views/cluster.js';

const run = (s: AppState, ...actions: Action[]) => actions.reduce(reducer, s);

function backup(i: number, tag: string): BackupSummary {
  const t = new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString();
  return { id: `b${String(i).padStart(5, '0')}`, cluster: 'pg', kind: i % 2 ? 'physical' : 'logical', tag, startedAt: t, finishedAt: t, durationMs: 1000, rawSize: 10, storedSize: 5, databases: ['app'], host: 'h' };
}

describe('reducer and selectors', () => {
  test('a late answer for another cluster is dropped', () => {
    let s = run(initialState(), { type: 'cluster/open', host: 'a', cluster: 'one' });
    s = run(s, { type: 'cluster/backups', host: 'a', cluster: 'two', value: { loading: false, data: { backups: [backup(1, 'daily')] } } });
    expect(s.cluster!.backups.loading).toBe(true);
  });

  test('job logs are capped, newest kept', () => {
    let s = run(initialState(), { type: 'live/start', host: 'h', jobId: 'j', jobType: 'verify', label: 'v' });
    for (let i = 0; i < LOG_CAP + 20; i++) s = reducer(s, { type: 'live/log', host: 'h', log: { jobId: 'j', level: 'info', message: `m${i}`, time: '' } });
    const logs = s.live['h/j']!.logs;
    expect(logs.length).toBe(LOG_CAP);
    expect(logs.at(-1)!.message).toBe(`m${LOG_CAP + 19}`);
    s = reducer(s, { type: 'live/done', host: 'h', jobId: 'j', ok: false, error: { code: 'CANCELLED', message: 'cancelled' } });
    expect(s.live['h/j']!.status).toBe('cancelled');
  });

  test('back returns to where Enter came from; the cursor stays in range', () => {
    let s = run(initialState(), { type: 'nav/push', route: { view: 'jobs' } }, { type: 'nav/push', route: { view: 'job', host: 'h', jobId: 'x' } }, { type: 'nav/back' });
    expect(s.route).toEqual({ view: 'jobs' });
    s = run(s, { type: 'jobs/move', delta: 50, count: 3 });
    expect(s.jobsCursor).toBe(2);
  });

  test('backups grouped by tag in tag order, newest first; the visible lines follow the cursor', () => {
    const list = Array.from({ length: 10_000 }, (_, i) => backup(i, ['weekly', 'daily', 'manual'][i % 3]!));
    const s = run(initialState(), { type: 'cluster/open', host: 'h', cluster: 'pg' }, { type: 'cluster/backups', host: 'h', cluster: 'pg', value: { loading: false, data: { backups: list } } });
    const g = backupGroups(s);
    expect(g.groups.map((x) => x.tag)).toEqual(['daily', 'weekly', 'manual']);
    expect(g.ordered[0]!.id > g.ordered[1]!.id).toBe(true);
    expect(backupGroups(s)).toBe(g); // memoized: a keypress does not sort again
    const lines = groupedLines(g, 5000, 10);
    expect(lines.length).toBe(10);
    expect(lines.some((l) => l.kind === 'backup' && l.index === 5000)).toBe(true);
    const top = groupedLines(g, 0, 5);
    expect(top[0]).toEqual({ kind: 'tag', tag: 'daily', count: g.groups[0]!.count });
  });

  test('fleet rows: health from the overview, filter matches problems too', () => {
    const overview = (cluster: string, ok: boolean) => ({
      cluster,
      status: { cluster, repository: 'main', ok, backups: 1, invalid: 0, byTag: {}, maxBackupAgeHours: 26, storedBytes: 1, repositoryBytes: 1, ...(ok ? {} : { problem: 'newest backup is 30 h old' }) },
      runningJobs: [],
    });
    const s = run(initialState(), { type: 'hosts/listed', hosts: ['b', 'a'] }, { type: 'host/data', host: 'a', clusters: [overview('x', true), overview('y', false)] as never, latencyMs: 1, at: 1 }, { type: 'host/down', host: 'b', error: { code: 'CONNECTION_FAILED', message: 'refused' } });
    const rows = fleetRows(s);
    expect(rows.map((r) => [r.key, r.health])).toEqual([['a/x', 'warn'], ['a/y', 'bad'], ['b', 'down']]);
    expect(fleetRows(run(s, { type: 'fleet/filter', text: '30 h', filtering: false })).map((r) => r.key)).toEqual(['a/y']);
  });
});

describe('time bar and colour', () => {
  const saved = process.env.NO_COLOR;
  afterEach(() => {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  });

  test('recoverable where a span covers, ╳ at a gap, ▼ at base backups', () => {
    const now = Date.UTC(2026, 0, 2);
    const h = (n: number) => new Date(now - n * 3_600_000).toISOString();
    const w = { cluster: 'pg', now: h(0), gaps: 1, spans: [{ from: h(24), to: h(12), fromLsn: '0/1', lastSegment: 'x', timeline: 1, backups: ['a'], gap: { segment: 'y', at: h(12) } }, { from: h(6), to: h(0), fromLsn: '0/2', lastSegment: 'z', timeline: 1, backups: ['b'] }] };
    const bar = timeBarCells(w, [Date.parse(h(24)), Date.parse(h(6))], 24, now);
    expect(bar.cells).toMatch(/^█{11,12}╳░{4,6}█{5,7}$/);
    expect(bar.marks[0]).toBe('▼');
    expect(bar.marks[18]).toBe('▼');
  });

  test('NO_COLOR turns colour off', () => {
    delete process.env.NO_COLOR;
    expect(colorOn()).toBe(true);
    process.env.NO_COLOR = '1';
    expect(colorOn()).toBe(false);
  });
});

describe('stored text never drives the terminal (issue 10 item 18)', () => {
  test('cell() and <T> show control characters and escape sequences as \\xNN', async () => {
    const { cell, T } = await import('../../src/tui/views/common.js');
    const { render } = await import('ink-testing-library');
    const React = (await import('react')).default;
    expect(cell('evil\x1b]0;owned\x07label', 40)).toBe('evil\\x1b]0;owned\\x07label'.padEnd(40));
    const ink = render(React.createElement(T, null, 'a\x1b[2Jb\nc'));
    expect(ink.lastFrame()).toBe('a\\x1b[2Jb\\nc');
    ink.unmount();
  });
});
