/**
 * The protocol's contract in zod, shared by both ends: every agent method and
 * job type with the schema of its params (what the agent accepts) and of its
 * result (the JSON that comes back: times are strings, absent fields are left
 * out, a method that returns nothing answers `null`), and the job
 * notifications. docs/protocol.md describes the same table in words.
 *
 * Params are exactly the agent's (strict, with defaults): ParamsOf is what a
 * caller may send. Results are z.object, not strict: unknown keys are dropped,
 * so a newer agent adding a field does not break an older client; ResultOf is
 * what a client gets after parsing.
 *
 * This module may import from src/core only (types and zod schemas), never
 * from the agent, the CLI, the TUI, the fleet code or plugins.
 */
import type { z } from 'zod';
import { Events, type JobType } from './messages.js';
import {
  BackupResultSchema,
  CatalogListResultSchema,
  CatalogShowResultSchema,
  CatalogStatusResultSchema,
  CheckApplyResultSchema,
  CheckClusterResultSchema,
  CheckFixesResultSchema,
  ClusterOverviewResultSchema,
  ConfigCheckResultSchema,
  ConfigInitResultSchema,
  GcResultSchema,
  PinResultSchema,
  ReindexResultSchema,
  RepoInitResultSchema,
  VerifyResultSchema,
} from './schemas/catalog.js';
import { DoneEventSchema, HelloResultSchema, JobCancelResultSchema, JobRecordSchema, JobsListResultSchema, JobStartResultSchema, LogEventSchema, ProgressEventSchema } from './schemas/jobs.js';
import {
  BackupParamsSchema,
  CatalogShowParamsSchema,
  CheckApplyParamsSchema,
  CheckClusterParamsSchema,
  ClusterOnlyParamsSchema,
  GcParamsSchema,
  HelloParamsSchema,
  InitParamsSchema,
  JobAttachParamsSchema,
  JobCancelParamsSchema,
  JobsListParamsSchema,
  JobStartParamsSchema,
  PinParamsSchema,
  PitrApplyParamsSchema,
  PitrPlanParamsSchema,
  PitrPlansParamsSchema,
  PitrShowParamsSchema,
  PitrTargetsParamsSchema,
  ReindexParamsSchema,
  RestoreParamsSchema,
  RestorePointParamsSchema,
  RetentionParamsSchema,
  VerifyParamsSchema,
} from './schemas/params.js';
import { PitrPlanSchema, PitrPlansResultSchema, PitrTargetsResultSchema, RecoverableWindowSchema, RestorePointResultSchema, WalVerifyResultSchema } from './schemas/pitr.js';
import { PlanResultSchema, RestoreJobResultSchema, RetentionPlanSchema } from './schemas/restore.js';

export * from './schemas/common.js';
export * from './schemas/params.js';
export * from './schemas/catalog.js';
export * from './schemas/pitr.js';
export * from './schemas/restore.js';
export * from './schemas/jobs.js';

/**
 * Every method of `lifeboat agent --stdio`. Unless said otherwise a method is
 * read-only, and `cluster` may be left out when the config has one cluster.
 */
export const Methods = {
  /** Handshake: the agent's version, host, plugins and capabilities; fails with PROTOCOL when the protocol versions differ. A broken config is reported, not an error. */
  'agent.hello': { params: HelloParamsSchema, result: HelloResultSchema },
  /** Write a starter config, or add a cluster to an existing one (never a password). Works without a config. */
  'config.init': { params: InitParamsSchema, result: ConfigInitResultSchema },
  /** Validate the config, then per cluster: connect, and write, read and delete in its repository. */
  'config.check': { params: ClusterOnlyParamsSchema, result: ConfigCheckResultSchema },
  /** The backups of a cluster (or of all), oldest first, and the manifests that failed validation. */
  'catalog.list': { params: ClusterOnlyParamsSchema, result: CatalogListResultSchema },
  /** One backup (id, unique prefix or `latest`): its manifest and its verifications, oldest first. */
  'catalog.show': { params: CatalogShowParamsSchema, result: CatalogShowResultSchema },
  /** Per cluster: newest backup and its age, counts by tag, sizes, last verification, and WAL archiving. */
  'catalog.status': { params: ClusterOnlyParamsSchema, result: CatalogStatusResultSchema },
  /** Plan a point-in-time recovery: choose the base backup, prove WAL covers it, list the steps. The plan is stored on the agent. */
  'pitr.plan': { params: PitrPlanParamsSchema, result: PitrPlanSchema },
  /** Create a named restore point on the server (a recovery target); returns its LSN. */
  'pitr.restorePoint': { params: RestorePointParamsSchema, result: RestorePointResultSchema },
  /** The settings WAL archiving needs, each with its fix, then an end-to-end probe (switches WAL and waits for the segment in the repository). */
  'check.cluster': { params: CheckClusterParamsSchema, result: CheckClusterResultSchema },
  /** The ALTER SYSTEM statements setup-archiving would apply, whether a restart is needed, and what blocks it. */
  'check.fixes': { params: ClusterOnlyParamsSchema, result: CheckFixesResultSchema },
  /** Apply archiving fixes (only statements that are current fixes), then reload; says what waits for a restart. Changes the server. */
  'check.apply': { params: CheckApplyParamsSchema, result: CheckApplyResultSchema },
  /** Create a cluster's repository (its identity file) explicitly. Writes to storage. */
  'repo.init': { params: ClusterOnlyParamsSchema, result: RepoInitResultSchema },
  /** WAL continuity from each physical backup's start, and every archived WAL object read back against its sha256. */
  'wal.verify': { params: ClusterOnlyParamsSchema, result: WalVerifyResultSchema },
  /** Where point-in-time recovery can stop, in time: spans from physical backups along archived WAL. */
  'pitr.window': { params: ClusterOnlyParamsSchema, result: RecoverableWindowSchema },
  /** Per cluster: its catalog status, the live server's status (at most 4 s each, all at once) and its running jobs. */
  'cluster.overview': { params: ClusterOnlyParamsSchema, result: ClusterOverviewResultSchema },
  /** Candidate recovery targets read from archived WAL (restore points, drops, truncates, bursts), each with the pitr plan command that stops there. */
  'pitr.targets': { params: PitrTargetsParamsSchema, result: PitrTargetsResultSchema },
  /** The recovery plans stored on this agent, newest first (optionally one cluster's, only unfinished ones). */
  'pitr.plans': { params: PitrPlansParamsSchema, result: PitrPlansResultSchema },
  /** One stored recovery plan (id or unique prefix) with each step's status. */
  'pitr.show': { params: PitrShowParamsSchema, result: PitrPlanSchema },
  /** What retention would remove (backups by id or by policy, and the WAL no kept backup needs), and why the rest stays. */
  'retention.plan': { params: RetentionParamsSchema, result: RetentionPlanSchema },
  /** Pin a backup (never expired, deleted only with force) or unpin it. Writes to storage. */
  'backup.pin': { params: PinParamsSchema, result: PinResultSchema },
  /** What a restore would do: the backup, the plugin's plan, whether a safety backup is taken. */
  'restore.plan': { params: RestoreParamsSchema, result: PlanResultSchema },
  /** Check a job's params and what it needs (cluster, backup, plan), start it in a detached runner, and follow its events (from event 0). */
  'job.start': { params: JobStartParamsSchema, result: JobStartResultSchema },
  /** A job's record with live status, then its events as notifications (a replay, then new ones until job.done). */
  'job.attach': { params: JobAttachParamsSchema, result: JobRecordSchema },
  /** Cancel a running job on this host (SIGTERM to its runner); NOT_FOUND for an unknown job or one not running. */
  'job.cancel': { params: JobCancelParamsSchema, result: JobCancelResultSchema },
  /** The running jobs and the last 50, oldest first, from the job log and the jobs dir. Works without a config. */
  'jobs.list': { params: JobsListParamsSchema, result: JobsListResultSchema },
} as const;

export type MethodName = keyof typeof Methods;
/** What a caller may send to method M (defaults may be left out). */
export type ParamsOf<M extends MethodName> = z.input<(typeof Methods)[M]['params']>;
/** What method M answers, after parsing with its result schema. */
export type ResultOf<M extends MethodName> = z.output<(typeof Methods)[M]['result']>;

/** Every job type (`job.start {type, params}`): its params, and the result its job.done carries. */
export const Jobs = {
  /** Take a logical (pg_dump) or physical (pg_basebackup) backup; the result is its summary. */
  backup: { params: BackupParamsSchema, result: BackupResultSchema },
  /** Verify a backup (checksum, structure, restore into a scratch database); the Verification is stored in the repository. */
  verify: { params: VerifyParamsSchema, result: VerifyResultSchema },
  /** Restore a logical backup into a database: re-plan, check every object, take the safety backup, restore, compare row counts. */
  restore: { params: RestoreParamsSchema, result: RestoreJobResultSchema },
  /** Remove objects no manifest references, and temp dirs of killed jobs. */
  gc: { params: GcParamsSchema, result: GcResultSchema },
  /** Drop the catalog cache and rebuild it from the repository. */
  reindex: { params: ReindexParamsSchema, result: ReindexResultSchema },
  /** Walk a stored recovery plan: every pending step, one step, or the pending ones up to one; the result is the plan as it stands. */
  pitr: { params: PitrApplyParamsSchema, result: PitrPlanSchema },
  /** Carry out retention (retention.plan's params) under the cluster's lock; the result is the applied plan. */
  expire: { params: RetentionParamsSchema, result: RetentionPlanSchema },
} as const satisfies Record<JobType, { params: z.ZodType; result: z.ZodType }>;

/** What a caller may give as job J's params. */
export type JobParamsOf<J extends JobType> = z.input<(typeof Jobs)[J]['params']>;
/** What job J's job.done carries as `result`, after parsing. */
export type JobResultOf<J extends JobType> = z.output<(typeof Jobs)[J]['result']>;
/** job.start's params for a job of type J, its params typed by J. */
export type JobStartOf<J extends JobType> = { type: J; params?: JobParamsOf<J> };

/** The notifications the agent sends about jobs, by method name. */
export const Notifications = {
  /** At most one every 200 ms, and a last one before job.done. */
  [Events.progress]: ProgressEventSchema,
  /** A line of the job's log. */
  [Events.log]: LogEventSchema,
  /** Exactly once per job: its result or its error. */
  [Events.done]: DoneEventSchema,
} as const;

export type NotificationName = keyof typeof Notifications;
/** A notification's params, after parsing. */
export type NotificationOf<N extends NotificationName> = z.output<(typeof Notifications)[N]>;
export type * from './types.js';
