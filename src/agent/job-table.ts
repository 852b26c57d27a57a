import type { z } from 'zod';
import { LifeboatError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';
import { Jobs, type JobType } from '../protocol/index.js';
import { parseParams } from '../protocol/validate.js';
import type { JobHandle } from '../runtime/context.js';
import type { AgentEnv } from '../runtime/env.js';
import { resolveBackup } from './units/catalog.js';
import { checkBackup, runBackup } from './units/backup.js';
import { runVerify } from './units/verify.js';
import { checkRestore, runRestore } from './units/restore.js';
import { runGc, runReindex } from './units/repo.js';
import { applyPitr, checkPitrApply } from './units/pitr.js';
import { planRetention, runRetention } from './units/retention.js';

/** What a job of type J does: its params parsed with the protocol's schema, its result what the protocol's result schema accepts. */
interface JobWork<J extends JobType> {
  /** The cluster the job is of, when its params name one (for the job list). */
  cluster?: string;
  /** The read-only part job.start runs before a job exists. */
  check?: () => Promise<unknown>;
  work: (job: JobHandle) => Promise<z.input<(typeof Jobs)[J]['result']>>;
}

type Params<J extends JobType> = z.output<(typeof Jobs)[J]['params']>;

/** Each job type's work, from its parsed params: one entry per job type of the protocol (a missing one does not compile). */
const WORK: { [J in JobType]: (env: AgentEnv, p: Params<J>) => JobWork<J> } = {
  backup: (env, p) => ({ ...(p.cluster ? { cluster: p.cluster } : {}), check: () => checkBackup(env, p), work: (job) => runBackup(env, p, job) }),
  verify: (env, p) => ({ check: () => resolveBackup(env, p.id, p.cluster), work: (job) => runVerify(env, p, job) }),
  restore: (env, p) => ({ check: () => checkRestore(env, p), work: (job) => runRestore(env, p, job) }),
  gc: (env, p) => ({ ...(p.cluster ? { check: () => env.cluster(p.cluster) } : {}), work: (job) => runGc(env, p, job) }),
  pitr: (env, p) => ({ check: () => checkPitrApply(env, p), work: (job) => applyPitr(env, p, job) }),
  expire: (env, p) => ({ ...(p.cluster ? { cluster: p.cluster } : {}), check: () => planRetention(env, { ...p, dryRun: true }), work: (job) => runRetention(env, p, job) }),
  reindex: (env, p) => ({ ...(p.cluster ? { check: () => env.cluster(p.cluster) } : {}), work: () => runReindex(env, p) }),
};

/**
 * What each job type runs. Params are parsed here, once per process (job.start
 * in the agent; the runner again, since its spec is a file), with the
 * protocol's schema: a USAGE error names the field. Units get them typed.
 */
export function jobWork(env: AgentEnv): Record<JobType, (raw: unknown) => JobWork<JobType>> {
  const table = {} as Record<JobType, (raw: unknown) => JobWork<JobType>>;
  for (const type of Object.keys(WORK) as JobType[]) {
    table[type] = (raw) => {
      const w = (WORK[type] as (env: AgentEnv, p: unknown) => JobWork<JobType>)(env, parseParams(Jobs[type].params, raw, type));
      return { ...w, work: async (job) => checkedResult(type, await w.work(job)) };
    };
  }
  return table;
}

/** A job's result as the protocol allows it, or an INTERNAL error naming the field (the job's done event carries it). */
function checkedResult<T>(type: JobType, result: T): T {
  const c = (Jobs[type].result as z.ZodType).safeParse(result);
  if (c.success) return result;
  const i = c.error.issues[0]!;
  throw new LifeboatError('INTERNAL', `${type}: the job made a result the protocol does not allow (${formatPath(i.path)}: ${i.message})`, { hint: 'a bug in this lifeboat version: please report it with LIFEBOAT_DEBUG=1 output' });
}
