/**
 * The params of every agent method and job type, as the agent checks them.
 * These are copies of the schemas in src/agent/server.ts and src/agent/units/*
 * (same fields, .strict(), defaults, refinements and messages), so that both
 * ends can share them; test/unit/protocol-schemas.test.ts proves they behave
 * the same until the agent imports these instead.
 */
import { z } from 'zod';
import { CompressionSchema } from '../../core/compression.js';
import { BACKUP_TAGS } from '../../core/manifest.js';
import { PITR_CANDIDATE_KINDS } from '../../core/pitr.js';
import { JobTypes } from '../messages.js';

/** `{cluster?}`: the methods that only need to know which cluster (optional when the config has one). */
export const ClusterOnlyParamsSchema = z.object({ cluster: z.string().optional() }).strict();

/** agent.hello. Not strict: a newer client may say more about itself. */
export const HelloParamsSchema = z.object({ protocolVersion: z.number(), clientVersion: z.string().optional() });

/** config.init (units/config.ts). */
export const InitParamsSchema = z
  .object({
    cluster: z.string().min(1),
    repo: z.string().min(1),
    host: z.string().optional(),
    port: z.number().int().optional(),
    user: z.string().optional(),
    database: z.string().optional(),
    commandPrefix: z.array(z.string()).optional(),
    bindir: z.string().optional(),
    stateDir: z.string().optional(),
    force: z.boolean().default(false),
  })
  .strict();

/** catalog.show. */
export const CatalogShowParamsSchema = z.object({ id: z.string().min(1), cluster: z.string().optional() }).strict();

/** pitr.restorePoint. */
export const RestorePointParamsSchema = z.object({ cluster: z.string().optional(), name: z.string().min(1) }).strict();

/** check.cluster. */
export const CheckClusterParamsSchema = z.object({ cluster: z.string().optional(), probeSeconds: z.number().positive().max(3600).optional() }).strict();

/** check.apply. */
export const CheckApplyParamsSchema = z.object({ cluster: z.string().optional(), statements: z.array(z.string()).min(1) }).strict();

/** pitr.plans. */
export const PitrPlansParamsSchema = z.object({ cluster: z.string().optional(), unfinished: z.boolean().optional() }).strict();

/** pitr.show. */
export const PitrShowParamsSchema = z.object({ plan: z.string().min(1) }).strict();

/** job.start: the job's own params are checked by its type's schema (see Jobs). */
export const JobStartParamsSchema = z.object({ type: z.enum(JobTypes), params: z.record(z.string(), z.unknown()).default({}) }).strict();

/** job.attach. */
export const JobAttachParamsSchema = z.object({ jobId: z.string(), fromEvent: z.number().int().min(0).optional(), tail: z.number().int().min(0).optional() }).strict();

/** job.cancel. */
export const JobCancelParamsSchema = z.object({ jobId: z.string() }).strict();

/**
 * jobs.list: the agent reads no params (and refuses none), so neither does this:
 * an object, any keys. Making it strict would be a change of the agent.
 */
export const JobsListParamsSchema = z.object({});

/** The backup job (units/backup.ts). */
export const BackupParamsSchema = z
  .object({
    cluster: z.string().optional(),
    kind: z.enum(['logical', 'physical']).default('logical'),
    format: z.enum(['custom', 'plain', 'directory']).optional(),
    scope: z.enum(['database', 'schema-only', 'data-only', 'tables', 'schemas', 'all']).default('database'),
    tables: z.array(z.string()).default([]),
    schemas: z.array(z.string()).default([]),
    /** With scope tables or schemas: only their data, or only their definitions. */
    only: z.enum(['data', 'schema']).optional(),
    database: z.string().optional(),
    compression: CompressionSchema.optional(),
    // "safety" is the restore's own tag (never latest, not counted by status): not for backups by hand
    tag: z.enum(BACKUP_TAGS).refine((t) => t !== 'safety', 'tag safety is given only to the backup a restore takes of what it replaces').optional(),
    // shown in list and show: no newlines or terminal escape sequences
    label: z.string().max(200).regex(/^[^\p{Cc}]*$/u, 'a label must not contain control characters (newlines, escape sequences)').optional(),
  })
  .strict();

/** The verify job (units/verify.ts). */
export const VerifyParamsSchema = z
  .object({ id: z.string().min(1), cluster: z.string().optional(), level: z.enum(['checksum', 'structure', 'restore']).default('checksum') })
  .strict();

/** The restore job and restore.plan (units/restore.ts). */
export const RestoreParamsSchema = z
  .object({
    id: z.string().min(1),
    cluster: z.string().optional(),
    toDatabase: z.string().min(1).max(63),
    database: z.string().optional(),
    clean: z.boolean().default(false),
    tables: z.array(z.string()).default([]),
    schemas: z.array(z.string()).default([]),
    safetyBackup: z.boolean().default(true),
    noOwner: z.boolean().default(false),
    noPrivileges: z.boolean().default(false),
    dataOnly: z.boolean().default(false),
    /** Restore into another configured cluster (another server); the backup stays the source cluster's. */
    toCluster: z.string().min(1).optional(),
    /** Create the roles (and tablespaces) the backup carries that the target lacks, first. */
    withGlobals: z.boolean().default(false),
  })
  .strict();

/** The gc job (units/repo.ts). */
export const GcParamsSchema = z.object({ cluster: z.string().optional(), dryRun: z.boolean().default(false) }).strict();

/** The reindex job: only the cluster (server.ts uses ClusterOnly). */
export const ReindexParamsSchema = ClusterOnlyParamsSchema;

/** pitr.plan (units/pitr.ts). Exactly one target; the unit checks that, not the schema. */
export const PitrPlanParamsSchema = z
  .object({
    cluster: z.string().optional(),
    time: z.string().optional(),
    lsn: z.string().regex(/^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/, 'expected an LSN like 0/3000060').optional(),
    xid: z.string().regex(/^\d+$/, 'expected a transaction id (a number)').optional(),
    name: z.string().min(1).optional(),
    latest: z.boolean().optional(),
    immediate: z.boolean().optional(),
    inclusive: z.boolean().default(true),
    action: z.enum(['promote', 'pause', 'shutdown']).default('promote'),
    toDatadir: z.string().optional(),
    port: z.number().int().min(1).max(65535).optional(),
    backup: z.string().optional(),
    verifyQuery: z.string().min(1).max(10_000).optional(),
  })
  .strict();

/** The pitr job: walk a stored plan (units/pitr.ts). */
export const PitrApplyParamsSchema = z
  .object({
    plan: z.string().min(1),
    /** Run only this step (1-based); the ones before it must be done. */
    step: z.number().int().min(1).optional(),
    /** Run every pending step up to and including this one (e.g. restore, then inspect before starting). */
    through: z.number().int().min(1).optional(),
  })
  .strict();

const Time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: "not a time; use ISO 8601 with a zone, e.g. '2026-11-21 14:05:00+01'" });

/** pitr.targets (units/pitr-targets.ts). */
export const PitrTargetsParamsSchema = z
  .object({
    cluster: z.string().optional(),
    /** Candidates at or after this time (and WAL archived from then on). */
    from: Time.optional(),
    /** Candidates at or before this time. */
    to: Time.optional(),
    /** Only candidates touching this relation: `schema.table` or `table`. */
    relation: z.string().min(1).optional(),
    kinds: z.array(z.enum(PITR_CANDIDATE_KINDS)).min(1).optional(),
    /** Rows one transaction must delete/update in one table to count as a burst. */
    minRows: z.number().int().min(1).default(1000),
    /** Keep the newest N candidates. */
    limit: z.number().int().min(1).max(10_000).default(100),
    /** Read at most this many segments (the newest of the range). */
    maxSegments: z.number().int().min(1).max(1_000_000).default(256),
    /** Timeline to follow (with its ancestors); default: the newest archived. */
    timeline: z.number().int().min(1).optional(),
  })
  .strict();

/** retention.plan and the expire job (units/retention.ts). */
export const RetentionParamsSchema = z
  .object({
    cluster: z.string().optional(),
    /** Remove exactly these backups (ids or unique prefixes). */
    backups: z.array(z.string().min(1)).optional(),
    /** Policy; fields left out come from the cluster's `retention` config. */
    keepPhysical: z.number().int().min(1).optional(),
    keepLogical: z.number().int().min(1).optional(),
    keepDays: z.number().positive().optional(),
    dryRun: z.boolean().default(false),
    /** Allow removing a pinned backup named in `backups`. */
    force: z.boolean().default(false),
  })
  .strict();

/** backup.pin (units/retention.ts). */
export const PinParamsSchema = z.object({ cluster: z.string().optional(), backup: z.string().min(1), pinned: z.boolean() }).strict();
