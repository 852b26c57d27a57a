import { z } from 'zod';
import { JobTypes } from '../protocol/index.js';
import { parseParams } from '../protocol/validate.js';
import type { JobHandle } from '../runtime/context.js';
import type { AgentEnv } from '../runtime/env.js';
import { resolveBackup } from './units/catalog.js';
import { BackupParamsSchema, checkBackup, runBackup } from './units/backup.js';
import { runVerify, VerifyParamsSchema } from './units/verify.js';
import { checkRestore, RestoreParamsSchema, runRestore } from './units/restore.js';
import { GcParamsSchema, runGc, runReindex } from './units/repo.js';
import { applyPitr, checkPitrApply, PitrApplyParamsSchema } from './units/pitr.js';
import { planRetention, RetentionParamsSchema, runRetention } from './units/retention.js';

const ClusterOnly = z.object({ cluster: z.string().optional() }).strict();

/**
 * What each job type runs. Params are checked here (a USAGE error names the
 * field); `check` is the read-only rest that job.start does before a job exists:
 * the cluster and backup or plan resolve, the options go together.
 */
export function jobWork(env: AgentEnv): Record<(typeof JobTypes)[number], (p: Record<string, unknown>) => { cluster?: string; check?: () => Promise<unknown>; work: (job: JobHandle) => Promise<unknown> }> {
  return {
    backup: (p) => {
      const params = parseParams(BackupParamsSchema, p, 'backup');
      return { ...(params.cluster ? { cluster: params.cluster } : {}), check: () => checkBackup(env, params), work: (job) => runBackup(env, params, job) };
    },
    verify: (p) => {
      const params = parseParams(VerifyParamsSchema, p, 'verify');
      return { check: () => resolveBackup(env, params.id, params.cluster), work: (job) => runVerify(env, params, job) };
    },
    restore: (p) => {
      const params = parseParams(RestoreParamsSchema, p, 'restore');
      return { check: () => checkRestore(env, params), work: (job) => runRestore(env, params, job) };
    },
    gc: (p) => {
      const params = parseParams(GcParamsSchema, p, 'gc');
      return { ...(params.cluster ? { check: () => env.cluster(params.cluster) } : {}), work: (job) => runGc(env, params, job) };
    },
    pitr: (p) => {
      const params = parseParams(PitrApplyParamsSchema, p, 'pitr');
      return { check: () => checkPitrApply(env, params), work: (job) => applyPitr(env, params, job) };
    },
    expire: (p) => {
      const params = parseParams(RetentionParamsSchema, p, 'expire');
      return { ...(params.cluster ? { cluster: params.cluster } : {}), check: () => planRetention(env, { ...params, dryRun: true }), work: (job) => runRetention(env, params, job) };
    },
    reindex: (p) => {
      const params = parseParams(ClusterOnly, p, 'reindex');
      return { ...(params.cluster ? { check: () => env.cluster(params.cluster) } : {}), work: () => runReindex(env, params) };
    },
  };
}
