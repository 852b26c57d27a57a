import { LifeboatError } from './errors.js';
import type { PhysicalDetails } from './manifest.js';
import { parseLsn, segmentName, segmentNumber } from './wal.js';

/** Where recovery stops. */
export type PitrTarget =
  | { kind: 'time'; time: string }
  | { kind: 'lsn'; lsn: string }
  | { kind: 'xid'; xid: string }
  | { kind: 'name'; name: string }
  | { kind: 'latest' }
  | { kind: 'immediate' };

export type PitrAction = 'promote' | 'pause' | 'shutdown';

export interface PitrStepState {
  name: string;
  description: string;
  precondition: string;
  status: 'pending' | 'running' | 'done' | 'failed';
  startedAt?: string;
  finishedAt?: string;
  detail?: string;
  error?: string;
}

/** A recovery plan: read-only facts and the exact steps; stored by the agent so a walk resumes. */
export interface PitrPlan {
  id: string;
  cluster: string;
  createdAt: string;
  backupId: string;
  target: PitrTarget;
  inclusive: boolean;
  action: PitrAction;
  mode: 'side-by-side' | 'in-place';
  dataDir: string;
  port: number;
  /** The restore_command written into the recovered cluster. */
  restoreCommand: string;
  /** WAL the recovery replays: from the base backup's first segment to the newest archived one. */
  wal: { timeline: number; from: string; to: string; segments: number };
  /** A query the verify step runs on the recovered server (its rows are shown), besides the row counts. */
  verifyQuery?: string;
  steps: PitrStepState[];
}

/**
 * A recovery target time as given (`2026-11-21 09:30:00+00`, `2026-11-21T09:30:00.123456Z`,
 * `… +05:30`, `… UTC`) → the form written into recovery_target_time and the
 * instant in ms. A zone is required: without one PostgreSQL would read the time
 * in the server's zone and Lifeboat, choosing the base backup, in its own. The
 * zone is written as a numeric offset: PostgreSQL reads recovery_target_time
 * before it loads zone abbreviations, so `Z` there stops the server at start.
 * Every digit of the fraction is kept (PostgreSQL stops to the microsecond).
 */
export function parseTargetTime(text: string): { time: string; ms: number } {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?\s*(?:([zZ]|UTC|GMT)|([+-])(\d{2})(?::?(\d{2}))?)$/.exec(text.trim());
  if (!m) {
    const zoneless = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text.trim());
    throw new LifeboatError('USAGE', zoneless ? `--time ${text} has no time zone` : `--time ${text} is not a time`, {
      hint: "give a date, a time and a zone, e.g. '2026-11-21 09:30:00+00' (UTC), '2026-11-21 09:30:00.250-05' or '2026-11-21T09:30:00Z'",
    });
  }
  const [, y, mo, d, h, mi, sec = '00', frac, utc, sign, oh, om = '00'] = m;
  const offsetMin = utc ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec));
  const check = new Date(local);
  if (check.getUTCFullYear() !== Number(y) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59 || Number(oh ?? 0) > 15 || Number(om) > 59) {
    throw new LifeboatError('USAGE', `--time ${text} is not a time`, { hint: "e.g. '2026-11-21 09:30:00+00'" });
  }
  const ms = local - offsetMin * 60_000 + (frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0);
  const zone = utc ? '+00:00' : `${sign}${oh}:${om}`;
  return { time: `${y}-${mo}-${d} ${h}:${mi}:${sec}${frac ? `.${frac}` : ''}${zone}`, ms };
}

/** One line of a timeline history file: `parentTLI <tab> switchpoint <tab> reason`. */
export interface HistoryEntry {
  parent: number;
  switchLsn: string;
  reason: string;
}

export function parseHistory(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [parent, lsn, ...reason] = t.split(/\s+/);
    if (parent && lsn && /^\d+$/.test(parent)) out.push({ parent: Number(parent), switchLsn: lsn, reason: reason.join(' ') });
  }
  return out;
}

/** How far archived WAL runs without a gap from a segment (see {@link walRunFrom}). */
export interface WalRun {
  /** The timeline the run ends on (after following timeline switches). */
  timeline: number;
  /** The newest segment of the run; undefined when not even the first one is archived. */
  last?: string;
  segments: number;
  /** The first segment that is not archived: where the run stops. */
  missing: string;
  /**
   * true when WAL after `missing` exists (on its timeline) or a timeline switch
   * must pass it: recovery cannot go on. false: `missing` is simply not written
   * or archived yet (the end of the archive).
   */
  gap: boolean;
}

/** What {@link walRunFrom} and {@link checkWalContinuity} read. */
export interface WalContinuityInput {
  from: string;
  segSize: number;
  archived: Set<string>;
  /** history content by timeline number (the history file of timeline N describes N's parents). */
  histories: Map<number, HistoryEntry[]>;
  /** Follow later timelines that branch off this one (recovery_target_timeline = latest). */
  followTimelines: boolean;
}

/**
 * Walk archived WAL from `from` (a segment name) on its timeline, following
 * timeline switches recorded in history files, as far as it runs without a gap.
 * Never throws at a gap: it says where the run stopped and whether that is a
 * gap or the end of the archive (a recoverable window needs "continuous up to
 * the gap", not a yes/no).
 */
export function walRunFrom(opts: WalContinuityInput): WalRun {
  const segno = (name: string) => segmentNumber(name, opts.segSize);
  const tli = (name: string) => parseInt(name.slice(0, 8), 16);
  let timeline = tli(opts.from);
  let current = segno(opts.from);
  let count = 0;
  let last: string | undefined;
  const run = (missing: string, gap: boolean): WalRun => ({ timeline, ...(last ? { last } : {}), segments: count, missing, gap });
  for (let guard = 0; guard < 10_000_000; guard++) {
    // a newer timeline that branched off this one at or after our position?
    if (opts.followTimelines) {
      const child = [...opts.histories.entries()]
        .filter(([t, h]) => t > timeline && h.some((e) => e.parent === timeline))
        .sort((a, b) => a[0] - b[0])[0];
      if (child) {
        const entry = child[1].find((e) => e.parent === timeline)!;
        const switchSeg = parseLsn(entry.switchLsn) / BigInt(opts.segSize);
        // replay this timeline up to the switch segment, then continue on the child
        for (; current < switchSeg; current++) {
          const name = segmentName(timeline, current * BigInt(opts.segSize), opts.segSize);
          if (!opts.archived.has(name)) return run(name, true);
          count++;
          last = name;
        }
        timeline = child[0];
        continue;
      }
    }
    const name = segmentName(timeline, current * BigInt(opts.segSize), opts.segSize);
    if (!opts.archived.has(name)) {
      // the end of the archive, unless a later segment of this timeline exists: then it is a gap
      const later = [...opts.archived].some((n) => /^[0-9A-F]{24}$/.test(n) && tli(n) === timeline && segno(n) > current);
      return run(name, later);
    }
    count++;
    last = name;
    current++;
  }
  throw new LifeboatError('INTERNAL', 'WAL continuity check did not terminate');
}

/**
 * Check that archived WAL runs without a gap from `from` (a segment name) on its
 * timeline up to the newest archived segment, following timeline switches
 * recorded in history files. Returns the last segment and count, or throws
 * naming the first missing segment.
 */
export function checkWalContinuity(opts: WalContinuityInput): { timeline: number; last: string; segments: number } {
  const r = walRunFrom(opts);
  if (r.gap || !r.last) throw gap(r.missing, r.timeline);
  return { timeline: r.timeline, last: r.last, segments: r.segments };
}

function gap(name: string, timeline: number): LifeboatError {
  return new LifeboatError('VERIFY_FAILED', `WAL segment ${name} (timeline ${timeline}) is missing from the archive`, {
    details: { missingSegment: name },
    hint: 'recovery cannot pass this gap: choose a target before it, or a base backup taken after it',
  });
}

// ---------------------------------------------------------------------------
// The recoverable window: where point-in-time recovery is possible, in time.

/** One stretch of time recovery can stop anywhere in. */
export interface WindowSpan {
  /** ISO: the base backup's finishedAt (recovery can stop no earlier than the backup's end). */
  from: string;
  /** ISO: when the newest continuous WAL segment was stored (its object's mtime; without one, the backup's finishedAt). */
  to: string;
  /** The base backup's stop LSN. */
  fromLsn: string;
  /** The newest continuous segment. */
  lastSegment: string;
  timeline: number;
  /** Base backups whose recovery covers this span, oldest first. */
  backups: string[];
  /** The span ends because this segment is missing (not at the end of the archive); `at`: ISO mtime of the segment before it. */
  gap?: { segment: string; at?: string };
}

export interface RecoverableWindow {
  cluster: string;
  now: string;
  /** Oldest first; spans that overlap or end on the same segment are merged. */
  spans: WindowSpan[];
  /** Spans that end at a gap. */
  gaps: number;
  /** ISO mtime of the newest archived segment. */
  newestSegmentAt?: string;
}

/** A physical backup as the window needs it (a Manifest with `physical` fits). */
export interface WindowBackup {
  id: string;
  finishedAt: string;
  physical: Pick<PhysicalDetails, 'startLsn' | 'stopLsn' | 'timeline' | 'walStart' | 'walSegmentSize'>;
}

/** What the repository's WAL archive holds. */
export interface WindowArchive {
  /** Every archived WAL file name (segments, history files, backup labels). */
  names: Set<string>;
  /** When each segment's object was stored (ms since the epoch), where the storage says. */
  mtimes: Map<string, number>;
  histories: Map<number, HistoryEntry[]>;
}

/** The archived names plus the segments a physical backup carries in its own tar (they count as available). */
export function withBackupWal(names: Set<string>, ph: WindowBackup['physical']): Set<string> {
  const out = new Set(names);
  const seg = BigInt(ph.walSegmentSize);
  for (let s = parseLsn(ph.startLsn) / seg; s <= parseLsn(ph.stopLsn) / seg; s++) out.add(segmentName(ph.timeline, s * seg, ph.walSegmentSize));
  return out;
}

const isoOf = (ms: number) => new Date(ms).toISOString();

/** How far recovery from one backup reaches. */
function spanOf(b: WindowBackup, archive: WindowArchive): WindowSpan {
  const ph = b.physical;
  const run = walRunFrom({ from: ph.walStart, segSize: ph.walSegmentSize, archived: withBackupWal(archive.names, ph), histories: archive.histories, followTimelines: true });
  const lastSegment = run.last ?? ph.walStart;
  const mtime = archive.mtimes.get(lastSegment);
  // the stop segment may be stored a moment before the manifest records the end
  const to = mtime !== undefined && mtime > Date.parse(b.finishedAt) ? isoOf(mtime) : b.finishedAt;
  const span: WindowSpan = { from: b.finishedAt, to, fromLsn: ph.stopLsn, lastSegment, timeline: run.timeline, backups: [b.id] };
  if (run.gap) span.gap = { segment: run.missing, ...(mtime !== undefined ? { at: isoOf(mtime) } : {}) };
  return span;
}

/**
 * Merge spans (sorted by start) that overlap in time or end on the same segment:
 * the earlier backup's recovery then runs through the later one's, so the two
 * are one stretch (without mtimes, time alone would split them).
 */
function mergeSpans(spans: WindowSpan[]): WindowSpan[] {
  const out: WindowSpan[] = [];
  for (const s of spans) {
    const cur = out.at(-1);
    const sameEnd = cur && cur.lastSegment === s.lastSegment && cur.timeline === s.timeline;
    if (!cur || (!sameEnd && Date.parse(s.from) > Date.parse(cur.to))) {
      out.push({ ...s, backups: [...s.backups] });
      continue;
    }
    cur.backups.push(...s.backups);
    if (Date.parse(s.to) >= Date.parse(cur.to)) {
      cur.to = s.to;
      cur.lastSegment = s.lastSegment;
      cur.timeline = s.timeline;
      if (s.gap) cur.gap = s.gap;
      else delete cur.gap;
    }
  }
  return out;
}

/**
 * Where point-in-time recovery is possible, in time: from each physical backup's
 * end as far as archived WAL runs without a gap; overlapping spans merged.
 * Pure (no storage, no clock but `now`), so it can be tested without PostgreSQL.
 */
export function buildRecoverableWindow(cluster: string, backups: WindowBackup[], archive: WindowArchive, now = new Date()): RecoverableWindow {
  const sorted = [...backups].sort((a, b) => Date.parse(a.finishedAt) - Date.parse(b.finishedAt) || a.id.localeCompare(b.id));
  const spans = mergeSpans(sorted.map((b) => spanOf(b, archive)));
  let newest = -Infinity;
  for (const [name, t] of archive.mtimes) if (/^[0-9A-F]{24}$/.test(name) && t > newest) newest = t;
  return {
    cluster,
    now: now.toISOString(),
    spans,
    gaps: spans.filter((s) => s.gap).length,
    ...(Number.isFinite(newest) ? { newestSegmentAt: isoOf(newest) } : {}),
  };
}

// ---------------------------------------------------------------------------
// The target finder: candidate stop points found in archived WAL.

/** What a candidate is. `commit` is opt-in (a busy cluster has millions). */
export const PITR_CANDIDATE_KINDS = ['restore-point', 'commit', 'drop', 'truncate', 'rewrite', 'delete-burst', 'update-burst', 'drop-database'] as const;
export type PitrCandidateKind = (typeof PITR_CANDIDATE_KINDS)[number];
/** Listed when no kinds are asked for: everything but plain commits. */
export const DEFAULT_CANDIDATE_KINDS: readonly PitrCandidateKind[] = PITR_CANDIDATE_KINDS.filter((k) => k !== 'commit');

/** A relation a candidate touches; WAL knows only tablespace/database/file ids. */
export interface PitrCandidateRelation {
  /** `tablespace/database/relfilenode` as WAL names it, e.g. `1663/5/16384`. */
  id: string;
  /** `schema.table`, when resolved. */
  name?: string;
  database?: string;
  /** table, partitioned, matview, toast (of `name`), index, or unknown. */
  relkind?: 'table' | 'partitioned' | 'matview' | 'toast' | 'index' | 'sequence' | 'other';
  /** Where the name came from: the live catalog, or the map recorded by backup ID. */
  nameFrom?: string;
  /** Rows deleted/updated/inserted in this transaction (bursts, commits). */
  rows?: number;
}

/** Where to stop for a candidate: the arguments of `lifeboat pitr plan`. */
export interface PitrSuggestion {
  kind: 'xid' | 'lsn' | 'name' | 'time';
  value: string;
  /** false: stop just before it (the candidate's transaction is not replayed). */
  inclusive: boolean;
}

export interface PitrCandidate {
  kind: PitrCandidateKind;
  /** The record to stop at: the commit record of the transaction, or the restore point record. */
  lsn: string;
  timeline: number;
  xid?: string;
  /** ISO time: the commit time; for restore points the last commit before it (`timeApprox`). */
  time?: string;
  timeApprox?: boolean;
  /** Restore point name; dropped database name. */
  name?: string;
  relations: PitrCandidateRelation[];
  /** Rows deleted/updated (bursts), or touched (commit). */
  rows?: number;
  /** One line for people, e.g. `DROP TABLE app.orders (+2 index/TOAST files)`. */
  summary: string;
  /** Anything the reader should know (how sure the label is, what is lost with it). */
  note?: string;
  destructive: boolean;
  suggested: PitrSuggestion;
  /** Filled by the agent: the newest physical backup that ends before this point. */
  baseBackup?: string;
  /** Filled by the agent: the exact command that plans recovery to `suggested`. */
  command?: string;
}

export interface PitrTargetOptions {
  kinds: PitrCandidateKind[];
  /** Rows per transaction and relation that make a delete/update burst. */
  minRows: number;
  /** Only candidates touching this relation (`schema.table` or `table`). */
  relation?: string;
  /** ISO times bounding the candidates (inclusive). */
  from?: string;
  to?: string;
  /** Keep the newest N candidates. */
  limit: number;
}

/** One timeline's stretch of archived WAL, in order. */
export interface WalScanPiece {
  timeline: number;
  /** Segment file names, consecutive. */
  segments: string[];
  /** Start reading here (e.g. a base backup's start); default: the first segment's start. */
  startLsn?: string;
  /** Stop here (a timeline switch point); default: the end of the last segment. */
  endLsn?: string;
}

/** What the agent gives a plugin scanning archived WAL. */
export interface WalScanSource {
  pieces: WalScanPiece[];
  segSize: number;
  /** Fetch segments (verified against their sha256) into `dir`; the caller deletes them when done. */
  fetch(names: string[], dir: string): Promise<void>;
  /** Physical backups, oldest first, with the relation-name map each recorded (if any). */
  backups: { id: string; finishedAt: string; relationMap?: RelationMap }[];
}

export interface PitrTargetScan {
  candidates: PitrCandidate[];
  /** Candidates that matched but were left out by `limit` (the oldest ones). */
  omitted: number;
  records: number;
  segments: number;
  /** The last record read. */
  endLsn?: string;
  warnings: string[];
}

/** Relation names by storage id, recorded by a physical backup (see PhysicalDetails.relationMap). */
export type RelationMap = NonNullable<import('./manifest.js').PhysicalDetails['relationMap']>;
