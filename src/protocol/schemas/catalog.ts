/**
 * Results about backups, the catalog and the clusters' state: catalog.*,
 * cluster.overview, config.*, check.*, repo.init, backup.pin, and the backup,
 * verify, gc and reindex jobs.
 */
import { z } from 'zod';
import { ManifestSchema, VerificationSchema } from '../../core/manifest.js';
import { CheckSchema, Count, IsoTime, SerializedErrorSchema } from './common.js';

// ---------------------------------------------------------------------------
// The catalog

/** BackupSummary (agent/units/catalog.ts): one row of `lifeboat list`. */
export const BackupSummarySchema = z.object({
  id: z.string(),
  cluster: z.string(),
  kind: z.enum(['logical', 'physical']),
  /** One of BACKUP_TAGS today; typed string like the interface. */
  tag: z.string(),
  label: z.string().optional(),
  pinned: z.boolean().optional(),
  startedAt: IsoTime,
  finishedAt: IsoTime,
  durationMs: z.number().nonnegative(),
  rawSize: Count,
  storedSize: Count,
  /** custom, plain or directory (logical); tar (physical). */
  format: z.string().optional(),
  /** Logical backups: the scope kind (database, schema-only, ...). */
  scope: z.string().optional(),
  databases: z.array(z.string()),
  host: z.string(),
  /** Physical backups: the LSN range and timeline. */
  wal: z.object({ start: z.string(), stop: z.string(), timeline: z.number().int().positive() }).optional(),
  /** The newest verification with a verdict; `at` is its finishedAt. */
  verification: z.object({ level: z.string(), ok: z.boolean(), at: IsoTime }).optional(),
});

/** InvalidBackup: a manifest that failed validation, reported, never trusted. */
export const InvalidBackupSchema = z.object({
  id: z.string(),
  cluster: z.string(),
  key: z.string(),
  error: z.string(),
});

/** catalog.list. */
export const CatalogListResultSchema = z.object({
  /** Oldest first. */
  backups: z.array(BackupSummarySchema),
  invalid: z.array(InvalidBackupSchema),
});

/** catalog.show: the manifest (validated on the agent) and its verifications, oldest first. */
export const CatalogShowResultSchema = z.object({
  manifest: ManifestSchema,
  verifications: z.array(VerificationSchema),
});

/** The backup job's result (BackupResult): the new backup's summary, its object count and the runner's peak RSS. */
export const BackupResultSchema = BackupSummarySchema.extend({
  objects: Count,
  peakRssBytes: Count,
});

/** The verify job's result: the Verification it stored in the repository. */
export const VerifyResultSchema = VerificationSchema;

// ---------------------------------------------------------------------------
// Cluster status and the overview

/** ArchiverStatus (core/plugin.ts): pg_stat_archiver as the plugin reports it. */
export const ArchiverStatusSchema = z.object({
  archivedCount: Count,
  failedCount: Count,
  lastArchivedWal: z.string().optional(),
  lastArchivedAt: z.string().optional(),
  lastFailedWal: z.string().optional(),
  lastFailedAt: z.string().optional(),
  /** The last failure is newer than the last success. */
  failingNow: z.boolean(),
});

/** ServerStatus (core/plugin.ts): the live server, from the plugin's serverStatus step. */
export const ServerStatusSchema = z.object({
  version: z.string(),
  inRecovery: z.boolean(),
  archiveMode: z.string(),
  archiver: ArchiverStatusSchema,
});

/** WalStatus (agent/units/catalog.ts): WAL archiving as catalog.status reports it. */
export const WalStatusSchema = z.object({
  archiveMode: z.string().optional(),
  archiver: ArchiverStatusSchema.optional(),
  /** The server could not be asked: archiving unknown, not a failure of status. */
  serverError: z.string().optional(),
  newestSegment: z.string().optional(),
  newestAt: IsoTime.optional(),
  /** The last span of the recoverable window. */
  recoverable: z.object({ from: IsoTime, to: IsoTime, gap: z.string().optional() }).optional(),
});

/** ClusterStatus (agent/units/catalog.ts): one cluster's backups at a glance. */
export const ClusterStatusSchema = z.object({
  cluster: z.string(),
  repository: z.string(),
  ok: z.boolean(),
  problem: z.string().optional(),
  backups: Count,
  invalid: Count,
  byTag: z.record(z.string(), Count),
  latest: BackupSummarySchema.optional(),
  /** Age of the newest non-safety backup (negative when the clocks disagree). */
  ageHours: z.number().optional(),
  maxBackupAgeHours: z.number(),
  storedBytes: Count,
  repositoryBytes: Count,
  lastVerification: z.object({ id: z.string(), level: z.string(), ok: z.boolean(), at: IsoTime }).optional(),
  /** Only from catalog.status (not from cluster.overview). */
  wal: WalStatusSchema.optional(),
});

/** catalog.status: one ClusterStatus per cluster (or the one named). */
export const CatalogStatusResultSchema = z.array(ClusterStatusSchema);

/** ClusterOverview (agent/units/overview.ts): one cluster in the TUI's fleet view. */
export const ClusterOverviewSchema = z.object({
  cluster: z.string(),
  status: ClusterStatusSchema,
  /** Absent when the server could not be asked; then serverError says why. */
  server: ServerStatusSchema.optional(),
  serverError: SerializedErrorSchema.optional(),
  runningJobs: z.array(z.object({ id: z.string(), type: z.string(), startedAt: IsoTime })),
});

/** cluster.overview. */
export const ClusterOverviewResultSchema = z.array(ClusterOverviewSchema);

// ---------------------------------------------------------------------------
// Config, checks, repository

/** config.init. */
export const ConfigInitResultSchema = z.object({
  path: z.string(),
  /** false: the cluster was added to an existing config. */
  created: z.boolean(),
  cluster: z.string(),
});

/** config.check. */
export const ConfigCheckResultSchema = z.object({
  path: z.string(),
  ok: z.boolean(),
  clusters: z.array(z.object({ cluster: z.string(), checks: z.array(CheckSchema) })),
});

/** ArchivingFinding (core/plugin.ts): one thing WAL archiving needs, with its fix. */
export const ArchivingFindingSchema = z.object({
  name: z.string(),
  ok: z.boolean(),
  level: z.enum(['ok', 'warn', 'error']),
  detail: z.string(),
  fix: z.string().optional(),
  needs: z.enum(['reload', 'restart']).optional(),
  replacesForeign: z.boolean().optional(),
  /** Set, but in effect only after a restart: the value it will have. */
  pending: z.string().optional(),
});

/** check.cluster. */
export const CheckClusterResultSchema = z.object({
  cluster: z.string(),
  ok: z.boolean(),
  findings: z.array(ArchivingFindingSchema),
});

/** check.fixes. */
export const CheckFixesResultSchema = z.object({
  cluster: z.string(),
  statements: z.array(z.string()),
  restart: z.boolean(),
  restartSettings: z.array(z.string()),
  /** Findings on which archive_command would fail as the server's OS user. */
  blockers: z.array(ArchivingFindingSchema),
  findings: z.array(ArchivingFindingSchema),
});

/** check.apply. */
export const CheckApplyResultSchema = z.object({
  applied: z.array(z.string()),
  restart: z.boolean(),
  pendingRestart: z.array(z.string()),
});

/** repo.init. */
export const RepoInitResultSchema = z.object({
  repository: z.string(),
  /** The storage's description, e.g. `local:/var/backups/lifeboat`. */
  where: z.string(),
});

/** backup.pin. */
export const PinResultSchema = z.object({
  cluster: z.string(),
  id: z.string(),
  pinned: z.boolean(),
});

/** The gc job's result (GcResult). */
export const GcResultSchema = z.object({
  dryRun: z.boolean(),
  /** Repository objects: unreferenced ones and unfinished uploads. */
  removed: z.array(z.object({ cluster: z.string(), key: z.string(), size: Count })),
  /** This host's temp dirs of jobs that were killed. */
  tempDirs: z.array(z.object({ path: z.string(), size: Count })),
  bytes: Count,
});

/** The reindex job's result: how many backups the rebuilt catalog lists, and how many are damaged. */
export const ReindexResultSchema = z.object({
  backups: Count,
  invalid: Count,
});
