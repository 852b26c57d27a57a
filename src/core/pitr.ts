import { LifeboatError } from './errors.js';
import { parseLsn, segmentName } from './wal.js';

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

/**
 * Check that archived WAL runs without a gap from `from` (a segment name) on its
 * timeline up to the newest archived segment, following timeline switches
 * recorded in history files. Returns the last segment and count, or throws
 * naming the first missing segment.
 */
export function checkWalContinuity(opts: {
  from: string;
  segSize: number;
  archived: Set<string>;
  /** history content by timeline number (the history file of timeline N describes N's parents). */
  histories: Map<number, HistoryEntry[]>;
  /** Follow later timelines that branch off this one (recovery_target_timeline = latest). */
  followTimelines: boolean;
}): { timeline: number; last: string; segments: number } {
  const perId = 0x100000000n / BigInt(opts.segSize);
  const segno = (name: string) => BigInt(`0x${name.slice(8, 16)}`) * perId + BigInt(`0x${name.slice(16, 24)}`);
  const tli = (name: string) => parseInt(name.slice(0, 8), 16);
  let timeline = tli(opts.from);
  let current = segno(opts.from);
  let count = 0;
  let last = opts.from;
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
          if (!opts.archived.has(name)) throw gap(name, timeline);
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
      if (later) throw gap(name, timeline);
      if (count === 0) throw gap(name, timeline);
      return { timeline, last, segments: count };
    }
    count++;
    last = name;
    current++;
  }
  throw new LifeboatError('INTERNAL', 'WAL continuity check did not terminate');
}

function gap(name: string, timeline: number): LifeboatError {
  return new LifeboatError('VERIFY_FAILED', `WAL segment ${name} (timeline ${timeline}) is missing from the archive`, {
    details: { missingSegment: name },
    hint: 'recovery cannot pass this gap: choose a target before it, or a base backup taken after it',
  });
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
