/**
 * Names for what crosses the wire, as a client gets it (z.output of the
 * schemas in ./schemas): the CLI and the TUI type their values with these,
 * never with the agent's own types.
 */
import type { z } from 'zod';
import type { BackupResultSchema, BackupSummarySchema, ClusterOverviewSchema, ClusterStatusSchema, GcResultSchema, InvalidBackupSchema, WalStatusSchema } from './schemas/catalog.js';
import type { JobRecordSchema } from './schemas/jobs.js';
import type { PitrPlanSchema, PitrTargetsResultSchema, RecoverableWindowSchema, WalVerifyResultSchema } from './schemas/pitr.js';
import type { PlanResultSchema, RestoreJobResultSchema, RetentionPlanSchema } from './schemas/restore.js';

export type BackupSummary = z.output<typeof BackupSummarySchema>;
export type InvalidBackup = z.output<typeof InvalidBackupSchema>;
export type BackupResult = z.output<typeof BackupResultSchema>;
export type ClusterStatus = z.output<typeof ClusterStatusSchema>;
export type WalStatus = z.output<typeof WalStatusSchema>;
export type ClusterOverview = z.output<typeof ClusterOverviewSchema>;
export type GcResult = z.output<typeof GcResultSchema>;
export type JobRecord = z.output<typeof JobRecordSchema>;
export type WirePitrPlan = z.output<typeof PitrPlanSchema>;
export type PitrTargetsResult = z.output<typeof PitrTargetsResultSchema>;
export type RecoverableWindow = z.output<typeof RecoverableWindowSchema>;
export type WalVerifyResult = z.output<typeof WalVerifyResultSchema>;
export type PlanResult = z.output<typeof PlanResultSchema>;
export type RestoreJobResult = z.output<typeof RestoreJobResultSchema>;
export type RetentionPlan = z.output<typeof RetentionPlanSchema>;
