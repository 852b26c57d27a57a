/**
 * `pitr.targets`: where could a recovery stop? Picks the stretch of archived
 * WAL to read (from the newest physical backup, or around --from/--to), lets the
 * source plugin read it (pg_waldump for postgres), and adds to each candidate
 * the base backup and the exact `lifeboat pitr plan` command that stops there.
 */
import path from 'node:path';
import { z } from 'zod';
import { compressionOfKey, decompressStream } from '../../core/compression.js';
import { LifeboatError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import { DEFAULT_CANDIDATE_KINDS, parseHistory, type HistoryEntry, type PitrCandidate, type PitrTargetOptions, type WalScanPiece } from '../../core/pitr.js';
import { parseLsn, segmentNumber, walLayout } from '../../core/wal.js';
import { stepContext, TempDirs } from '../../runtime/context.js';
import type { AgentEnv } from '../../runtime/env.js';
import { walFetch } from './wal.js';
import { shellQuote } from '../../core/shell.js';
import { PitrTargetsParamsSchema } from '../../protocol/index.js';

export type PitrTargetsParams = z.output<typeof PitrTargetsParamsSchema>;

export interface PitrTargetsResult {
  cluster: string;
  /** The WAL read: first and last segment, how many, and why it starts where it does. */
  range: {
    timeline: number;
    from?: string;
    to?: string;
    segments: number;
    startLsn?: string;
    endLsn?: string;
    startedAt: 'backup' | 'from' | 'newest-segments' | 'archive-start';
    /** The backup the range starts at (startedAt = backup): WAL before it was not read. */
    backup?: string;
    /** Only the newest `maxSegments` of the range were read. */
    limited: boolean;
  };
  records: number;
  candidates: PitrCandidate[];
  /** Matching candidates left out by `limit` (older ones). */
  omitted: number;
  warnings: string[];
}

export interface ArchivedSegment {
  name: string;
  /** When the archive stored it (the storage's modification time), if known. */
  mtimeMs?: number;
}

/**
 * Which archived segments to read: the timeline (newest by default) with its
 * ancestors from the history files, from the newest physical backup's start (or
 * the first segment archived at or after `from`) to the newest segment (or the
 * first archived at or after `to`), at most `maxSegments` of the newest; split
 * into runs of consecutive segments (a missing one is a warning).
 */
export function selectWalRange(o: {
  segments: ArchivedSegment[];
  histories: Map<number, HistoryEntry[]>;
  segSize: number;
  maxSegments: number;
  newestBackup?: { id: string; timeline: number; walStart: string; startLsn: string };
  timeline?: number;
  from?: string;
  to?: string;
}): { pieces: WalScanPiece[]; range: PitrTargetsResult['range']; warnings: string[] } {
  const all = o.segments.map((s) => ({ ...s, timeline: parseInt(s.name.slice(0, 8), 16), segno: segmentNumber(s.name, o.segSize) }));
  type Seg = (typeof all)[number];
  const timeline = o.timeline ?? Math.max(...all.map((s) => s.timeline));
  if (!all.some((s) => s.timeline === timeline)) {
    throw new LifeboatError('USAGE', `timeline ${timeline} has no archived WAL`, { hint: `archived timelines: ${[...new Set(all.map((s) => s.timeline))].sort((a, b) => a - b).join(', ')}` });
  }
  // the timeline and its ancestors, in WAL order: each ancestor up to the segment of its switch point
  const lineage: { timeline: number; below?: bigint }[] = (o.histories.get(timeline) ?? []).map((h) => ({ timeline: h.parent, below: parseLsn(h.switchLsn) / BigInt(o.segSize) }));
  lineage.push({ timeline });
  const ordered: Seg[] = [];
  let above = 0n;
  for (const l of lineage) {
    ordered.push(...all.filter((s) => s.timeline === l.timeline && s.segno >= above && (l.below === undefined || s.segno < l.below)).sort((a, b) => (a.segno < b.segno ? -1 : 1)));
    if (l.below !== undefined) above = l.below;
  }

  const warnings: string[] = [];
  let start = 0;
  let startedAt: PitrTargetsResult['range']['startedAt'] = 'archive-start';
  let startLsn: string | undefined;
  let fromBackup: string | undefined;
  const hasTimes = ordered.every((s) => s.mtimeMs !== undefined);
  if (o.from) {
    if (hasTimes) {
      // a segment archived before --from holds only records from before it
      const at = Date.parse(o.from);
      const i = ordered.findIndex((s) => s.mtimeMs! >= at);
      start = i < 0 ? ordered.length : i;
    } else warnings.push('the storage does not report archive times: --from only filters candidates, WAL is read from the default start');
    startedAt = 'from';
  }
  if (!o.from || !hasTimes) {
    const b = o.newestBackup;
    const i = b ? ordered.findIndex((s) => s.timeline === b.timeline && s.name === b.walStart) : -1;
    if (i >= 0) {
      start = i;
      startLsn = b!.startLsn;
      startedAt = 'backup';
      fromBackup = b!.id;
    } else if (ordered.length > o.maxSegments) {
      start = ordered.length - o.maxSegments;
      startedAt = 'newest-segments';
    }
  }
  let end = ordered.length - 1;
  if (o.to && hasTimes) {
    // the first segment archived at or after --to holds the last records before it
    const i = ordered.findIndex((s) => s.mtimeMs! >= Date.parse(o.to!));
    if (i >= 0) end = i;
  }
  let limited = false;
  if (end - start + 1 > o.maxSegments) {
    start = end - o.maxSegments + 1;
    startLsn = undefined;
    fromBackup = undefined;
    limited = true;
    warnings.push(`only the newest ${o.maxSegments} segments of the range were read; narrow it with --from/--to or raise --max-segments`);
  }
  const chosen = start <= end ? ordered.slice(start, end + 1) : [];

  const pieces: WalScanPiece[] = [];
  let prev: Seg | undefined;
  for (const s of chosen) {
    const cur = pieces.at(-1);
    if (cur && prev && cur.timeline === s.timeline && s.segno === prev.segno + 1n) cur.segments.push(s.name);
    else {
      if (prev && prev.timeline === s.timeline) warnings.push(`WAL between ${prev.name} and ${s.name} is missing from the archive: not read`);
      pieces.push({ timeline: s.timeline, segments: [s.name] });
    }
    prev = s;
  }
  if (startLsn && pieces[0]) pieces[0].startLsn = startLsn;
  const range: PitrTargetsResult['range'] = {
    timeline,
    segments: chosen.length,
    startedAt,
    limited,
    ...(chosen[0] ? { from: chosen[0].name, to: chosen.at(-1)!.name } : {}),
    ...(startLsn ? { startLsn } : {}),
    ...(fromBackup ? { backup: fromBackup } : {}),
  };
  return { pieces, range, warnings };
}


async function readText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Run `fn` over items, `n` at a time. */
async function eachLimited<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function pitrTargets(env: AgentEnv, p: PitrTargetsParams): Promise<PitrTargetsResult> {
  if (p.from && p.to && Date.parse(p.from) > Date.parse(p.to)) throw new LifeboatError('USAGE', `--from ${p.from} is after --to ${p.to}`);
  const cluster = await env.cluster(p.cluster);
  const find = cluster.plugin.source.steps.findTargets;
  if (!find) throw new LifeboatError('UNSUPPORTED', `source plugin ${cluster.plugin.meta.name} cannot read WAL for recovery targets`);
  const repo = await env.repository(cluster.repoName);

  // what the archive holds
  const segments: ArchivedSegment[] = [];
  const histories = new Map<number, HistoryEntry[]>();
  for await (const o of repo.storage.list(walLayout.prefix(cluster.name))) {
    const k = walLayout.parse(o.key);
    if (!k) continue;
    if (/^[0-9A-F]{24}$/.test(k.name)) {
      segments.push({ name: k.name, ...(o.mtimeMs !== undefined ? { mtimeMs: o.mtimeMs } : {}) });
    } else if (k.name.endsWith('.history')) {
      const raw = await repo.storage.get(o.key);
      histories.set(parseInt(k.name.slice(0, 8), 16), parseHistory(await readText(raw.pipe(decompressStream({ algorithm: compressionOfKey(o.key) })))));
    }
  }
  if (segments.length === 0) {
    throw new LifeboatError('NOT_FOUND', `no archived WAL for cluster ${cluster.name} in repository ${cluster.repoName}`, {
      hint: `recovery targets are read from archived WAL: set up archiving (lifeboat setup-archiving -c ${cluster.name}), then check it with lifeboat check -c ${cluster.name}`,
    });
  }
  const manifests: Manifest[] = [];
  for await (const e of repo.manifests(cluster.name)) if ('manifest' in e && e.manifest.physical) manifests.push(e.manifest);
  manifests.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  const segSize = manifests.at(-1)?.physical?.walSegmentSize ?? 16 * 1024 * 1024;
  const newest = manifests.at(-1);
  const { pieces, range, warnings } = selectWalRange({
    segments,
    histories,
    segSize,
    maxSegments: p.maxSegments,
    ...(newest?.physical ? { newestBackup: { id: newest.id, timeline: newest.physical.timeline, walStart: newest.physical.walStart, startLsn: newest.physical.startLsn } } : {}),
    ...(p.timeline !== undefined ? { timeline: p.timeline } : {}),
    ...(p.from ? { from: p.from } : {}),
    ...(p.to ? { to: p.to } : {}),
  });
  const kinds = p.kinds ?? [...DEFAULT_CANDIDATE_KINDS];
  if (range.segments === 0) return { cluster: cluster.name, range, records: 0, candidates: [], omitted: 0, warnings };

  const opts: PitrTargetOptions = { kinds, minRows: p.minRows, limit: p.limit, ...(p.relation ? { relation: p.relation } : {}), ...(p.from ? { from: p.from } : {}), ...(p.to ? { to: p.to } : {}) };
  const temp = new TempDirs();
  const ctx = stepContext(cluster, env.host, {
    id: 'pitr-targets',
    signal: AbortSignal.timeout(6 * 3600_000),
    log: () => undefined,
    progress: () => undefined,
    step: (_n, f) => f(),
    tmpDir: () => temp.make(),
  });
  let scan;
  try {
    scan = await find(
      ctx,
      {
        pieces,
        segSize,
        fetch: (names, dir) => eachLimited(names, 4, async (name) => void (await walFetch(env, { cluster: cluster.name, name, dest: path.join(dir, name) }))),
        backups: manifests.map((m) => ({ id: m.id, finishedAt: m.finishedAt, ...(m.physical?.relationMap ? { relationMap: m.physical.relationMap } : {}) })),
      },
      opts,
    );
  } finally {
    await temp.cleanup();
  }
  if (scan.endLsn) range.endLsn = scan.endLsn;

  // the base backup and the command for each candidate
  const physical = manifests.map((m) => ({ id: m.id, stop: parseLsn(m.physical!.stopLsn) }));
  for (const c of scan.candidates) {
    const at = parseLsn(c.lsn);
    const base = physical.filter((b) => b.stop <= at).at(-1);
    const s = c.suggested;
    const target = s.kind === 'name' ? `--name ${shellQuote(s.value)}` : s.kind === 'time' ? `--time ${shellQuote(s.value)}` : `--${s.kind} ${s.value}`;
    if (base) {
      c.baseBackup = base.id;
      c.command = `lifeboat pitr plan -c ${shellQuote(cluster.name)} ${target}${s.inclusive ? '' : ' --exclusive'} --backup ${base.id}`;
    } else {
      c.note = [c.note, 'no physical backup ends before this point: recovery cannot reach it'].filter(Boolean).join('; ');
    }
  }
  return { cluster: cluster.name, range, records: scan.records, candidates: scan.candidates, omitted: scan.omitted, warnings: [...warnings, ...scan.warnings] };
}
