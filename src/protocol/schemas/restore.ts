/**
 * Results of plans that change data: restore.plan and the restore job
 * (core/plugin.ts RestorePlan, agent/units/restore.ts), retention.plan and the
 * expire job (agent/units/retention.ts).
 */
import { z } from 'zod';
import { BackupSummarySchema } from './catalog.js';
import { CheckSchema, Count } from './common.js';

/** RestoreAction: one thing a restore does, in order. */
export const RestoreActionSchema = z.object({
  kind: z.enum(['load-globals', 'terminate-connections', 'drop-database', 'create-database', 'create-schema', 'truncate', 'restore', 'compare']),
  description: z.string(),
});

/** RestorePlan (core/plugin.ts): what a restore would do; the restore job carries it out. */
export const RestorePlanSchema = z.object({
  backupId: z.string(),
  targetDatabase: z.string(),
  sourceDatabase: z.string(),
  targetExists: z.boolean(),
  /** Sessions connected to the target now (they would be terminated). */
  connectedSessions: Count,
  clean: z.boolean(),
  tables: z.array(z.string()),
  schemas: z.array(z.string()),
  noOwner: z.boolean().optional(),
  noPrivileges: z.boolean().optional(),
  dataOnly: z.boolean().optional(),
  withGlobals: z.boolean().optional(),
  actions: z.array(RestoreActionSchema),
  warnings: z.array(z.string()),
});

/** restore.plan: PlanResult. */
export const PlanResultSchema = z.object({
  backup: BackupSummarySchema,
  plan: RestorePlanSchema,
  /** A safety backup of the target is taken first (it exists, and safetyBackup was not turned off). */
  safetyBackup: z.boolean(),
  /**
   * The cluster restored into. Optional on the wire although today's agent
   * always sends it: agents of the same protocol version from before
   * --to-cluster do not (the recorded TUI fixture is one).
   */
  targetCluster: z.string().optional(),
});

/** The restore job's result: RestoreJobResult (RestoreResult, the plan carried out, the safety backup's id). */
export const RestoreJobResultSchema = z.object({
  checks: z.array(CheckSchema),
  /** Tables compared with the manifest's row counts. */
  compared: Count,
  mismatches: Count,
  plan: RestorePlanSchema,
  safetyBackupId: z.string().optional(),
});

/** RetentionBackup: a backup a retention plan removes or keeps, and why. */
export const RetentionBackupSchema = z.object({
  id: z.string(),
  kind: z.enum(['logical', 'physical']),
  /** A backup tag, or `damaged` for a named backup whose manifest cannot be read. */
  tag: z.string(),
  /** The manifest's finishedAt; for a damaged backup the time in its id (or empty). */
  finishedAt: z.string(),
  storedSize: Count,
  reason: z.string(),
  /** Removed backups: every key that goes, the manifest first. */
  objects: z.array(z.string()).optional(),
});

/** retention.plan and the expire job: RetentionPlan (`applied` is true only from the job). */
export const RetentionPlanSchema = z.object({
  cluster: z.string(),
  dryRun: z.boolean(),
  policy: z.union([
    z.object({ keepPhysical: z.number().int().optional(), keepLogical: z.number().int().optional(), keepDays: z.number().optional() }),
    z.literal('explicit'),
  ]),
  remove: z.array(RetentionBackupSchema),
  keep: z.array(RetentionBackupSchema),
  wal: z.object({
    /** The oldest WAL segment still needed, when known. */
    keepFrom: z.string().optional(),
    files: z.array(z.object({ key: z.string(), name: z.string(), size: Count })),
    count: Count,
    bytes: Count,
    first: z.string().optional(),
    last: z.string().optional(),
  }),
  notes: z.array(z.string()),
  /** Named for delete but pinned (dry run only: doing it refuses them). */
  pinnedRefused: z.array(z.string()).optional(),
  bytes: Count,
  applied: z.boolean(),
});
