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
