/**
 * Results about WAL and point-in-time recovery: pitr.*, wal.verify, and the
 * pitr job (core/pitr.ts, agent/units/pitr.ts, agent/units/pitr-targets.ts).
 */
import { z } from 'zod';
import { PITR_CANDIDATE_KINDS } from '../../core/pitr.js';
import { Count, IsoTime } from './common.js';

const Timeline = z.number().int().positive();

// ---------------------------------------------------------------------------
// Plans

/** PitrTarget: where recovery stops. `time` is in the form written into recovery_target_time (`2026-11-21 09:30:00+00:00`). */
export const PitrTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('time'), time: z.string() }),
  z.object({ kind: z.literal('lsn'), lsn: z.string() }),
  z.object({ kind: z.literal('xid'), xid: z.string() }),
  z.object({ kind: z.literal('name'), name: z.string() }),
  z.object({ kind: z.literal('latest') }),
  z.object({ kind: z.literal('immediate') }),
]);

/** PitrStepState: one step of a plan and how far it got. */
export const PitrStepStateSchema = z.object({
  name: z.string(),
  description: z.string(),
  precondition: z.string(),
  status: z.enum(['pending', 'running', 'done', 'failed']),
  startedAt: IsoTime.optional(),
  finishedAt: IsoTime.optional(),
  /** The step's one-line result. */
  detail: z.string().optional(),
  error: z.string().optional(),
});

/** PitrPlan: a stored recovery plan, its facts and its steps. */
export const PitrPlanSchema = z.object({
  id: z.string(),
  cluster: z.string(),
  createdAt: IsoTime,
  backupId: z.string(),
  target: PitrTargetSchema,
  inclusive: z.boolean(),
  action: z.enum(['promote', 'pause', 'shutdown']),
  mode: z.enum(['side-by-side', 'in-place']),
  dataDir: z.string(),
  port: z.number().int(),
  /** The restore_command written into the recovered cluster. */
  restoreCommand: z.string(),
  /** WAL the recovery replays: segment names and how many. */
  wal: z.object({ timeline: Timeline, from: z.string(), to: z.string(), segments: Count }),
  verifyQuery: z.string().optional(),
  steps: z.array(PitrStepStateSchema),
});

/** pitr.plans: newest first. */
export const PitrPlansResultSchema = z.array(PitrPlanSchema);

/** pitr.restorePoint. */
export const RestorePointResultSchema = z.object({
  cluster: z.string(),
  name: z.string(),
  lsn: z.string(),
});

// ---------------------------------------------------------------------------
// The recoverable window

/** WindowSpan: one stretch of time recovery can stop anywhere in. */
export const WindowSpanSchema = z.object({
  /** The base backup's finishedAt. */
  from: IsoTime,
  /** When the newest continuous segment was stored (or the backup's finishedAt). */
  to: IsoTime,
  fromLsn: z.string(),
  lastSegment: z.string(),
  timeline: Timeline,
  /** Base backups whose recovery covers this span, oldest first. */
  backups: z.array(z.string()),
  /** The span ends because this segment is missing (not at the end of the archive). */
  gap: z.object({ segment: z.string(), at: IsoTime.optional() }).optional(),
});

/** pitr.window: RecoverableWindow. */
export const RecoverableWindowSchema = z.object({
  cluster: z.string(),
  now: IsoTime,
  /** Oldest first. */
  spans: z.array(WindowSpanSchema),
  /** Spans that end at a gap. */
  gaps: Count,
  newestSegmentAt: IsoTime.optional(),
});

// ---------------------------------------------------------------------------
// Recovery targets found in WAL

/** PitrCandidateRelation: a relation a candidate touches. */
export const PitrCandidateRelationSchema = z.object({
  /** `tablespace/database/relfilenode` as WAL names it. */
  id: z.string(),
  name: z.string().optional(),
  database: z.string().optional(),
  relkind: z.enum(['table', 'partitioned', 'matview', 'toast', 'index', 'sequence', 'other']).optional(),
  nameFrom: z.string().optional(),
  rows: Count.optional(),
});

/** PitrSuggestion: where to stop for a candidate, as pitr.plan params. */
export const PitrSuggestionSchema = z.object({
  kind: z.enum(['xid', 'lsn', 'name', 'time']),
  value: z.string(),
  /** false: stop just before it. */
  inclusive: z.boolean(),
});

/** PitrCandidate: one place a recovery could stop. Its times are the plugin's (pg_waldump's), not ISO from the agent. */
export const PitrCandidateSchema = z.object({
  kind: z.enum(PITR_CANDIDATE_KINDS),
  lsn: z.string(),
  timeline: Timeline,
  xid: z.string().optional(),
  time: z.string().optional(),
  timeApprox: z.boolean().optional(),
  name: z.string().optional(),
  relations: z.array(PitrCandidateRelationSchema),
  rows: Count.optional(),
  summary: z.string(),
  note: z.string().optional(),
  destructive: z.boolean(),
  suggested: PitrSuggestionSchema,
  /** The newest physical backup that ends before this point. */
  baseBackup: z.string().optional(),
  /** The `lifeboat pitr plan` command that stops at `suggested`. */
  command: z.string().optional(),
});

/** pitr.targets: PitrTargetsResult. */
export const PitrTargetsResultSchema = z.object({
  cluster: z.string(),
  /** The WAL read. */
  range: z.object({
    timeline: Timeline,
    from: z.string().optional(),
    to: z.string().optional(),
    segments: Count,
    startLsn: z.string().optional(),
    endLsn: z.string().optional(),
    startedAt: z.enum(['backup', 'from', 'newest-segments', 'archive-start']),
    backup: z.string().optional(),
    limited: z.boolean(),
  }),
  records: Count,
  /** Oldest first, at most `limit` (the newest). */
  candidates: z.array(PitrCandidateSchema),
  /** Matching candidates left out by `limit`. */
  omitted: Count,
  warnings: z.array(z.string()),
});

// ---------------------------------------------------------------------------
// WAL verification

/** wal.verify: WalVerifyResult. */
export const WalVerifyResultSchema = z.object({
  cluster: z.string(),
  ok: z.boolean(),
  segments: Count,
  timelines: z.array(Timeline),
  /** Per physical backup: how far WAL runs from its start, or the gap that cuts it. */
  backups: z.array(
    z.object({
      id: z.string(),
      ok: z.boolean(),
      from: z.string(),
      to: z.string().optional(),
      segments: Count.optional(),
      timeline: Timeline.optional(),
      gap: z.string().optional(),
    }),
  ),
  /** Every archived WAL object read back against the sha256 in its key. */
  contents: z.object({
    objects: Count,
    bytes: Count,
    damaged: z.array(z.object({ name: z.string(), key: z.string(), problem: z.string() })),
  }),
});
