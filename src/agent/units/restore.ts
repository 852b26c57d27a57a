import { z } from 'zod';
import { LifeboatError } from '../../core/errors.js';
import type { RestorePlan, RestoreResult } from '../../core/plugin.js';
import { lockForJob } from '../../runtime/lock.js';
import { requireManifestUnchanged } from './integrity.js';
import type { AgentEnv, ResolvedCluster } from '../../runtime/env.js';
import { backupReader } from '../../core/reader.js';
import { stepContext, type JobHandle } from '../../runtime/context.js';
import { resolveBackup, summarize, type BackupSummary } from './catalog.js';
import { runBackup } from './backup.js';
import { checksumAll } from './verify.js';
import { BackupParamsSchema, RestoreParamsSchema } from '../../protocol/index.js';

export type RestoreParams = z.output<typeof RestoreParamsSchema>;

export interface PlanResult {
  backup: BackupSummary;
  plan: RestorePlan;
  /** Taken before anything destructive: a logical backup of the target, tagged safety. */
  safetyBackup: boolean;
  /** The cluster restored into (the backup's own unless --to-cluster). */
  targetCluster: string;
}

/** What `latest` means for a restore: the newest logical backup (of the asked-for database). */
function restorable(p: { database?: string | undefined }): { usable: (b: BackupSummary) => boolean; what: string } {
  return {
    usable: (b) => b.kind === 'logical' && (!p.database || b.databases.includes(p.database)),
    what: p.database ? `logical backup of database ${p.database}` : 'logical backup',
  };
}

/**
 * The cluster a restore goes into: the backup's own, or `--to-cluster` (another
 * server in the config). Same source plugin: a postgres backup restores into postgres.
 */
async function targetCluster(env: AgentEnv, source: string, to: string | undefined): Promise<ResolvedCluster> {
  const from = await env.cluster(source);
  if (!to || to === source) return from;
  const target = await env.cluster(to);
  if (target.plugin.meta.name !== from.plugin.meta.name) {
    throw new LifeboatError('USAGE', `cluster ${to} is a ${target.plugin.meta.name} source and backup's cluster ${source} a ${from.plugin.meta.name} one: they do not restore into each other`);
  }
  return target;
}

/** What job.start refuses before a restore job exists: a backup that does not resolve (unknown, ambiguous, not restorable). */
export async function checkRestore(env: AgentEnv, p: RestoreParams): Promise<void> {
  const { cluster } = await resolveBackup(env, p.id, p.cluster, restorable(p));
  await targetCluster(env, cluster, p.toCluster);
}

/** Read-only: what a restore would do. */
export async function planRestore(env: AgentEnv, p: RestoreParams, job?: JobHandle): Promise<PlanResult> {
  const { manifest, cluster: clusterName } = await resolveBackup(env, p.id, p.cluster, restorable(p));
  const cluster = await targetCluster(env, clusterName, p.toCluster);
  const ctx = stepContext(cluster, env.host, job ?? readOnlyJob());
  const plan = await cluster.plugin.source.steps.planRestore(ctx, manifest, {
    targetDatabase: p.toDatabase,
    clean: p.clean,
    tables: p.tables,
    schemas: p.schemas,
    ...(p.noOwner ? { noOwner: true } : {}),
    ...(p.noPrivileges ? { noPrivileges: true } : {}),
    ...(p.dataOnly ? { dataOnly: true } : {}),
    ...(p.withGlobals ? { withGlobals: true } : {}),
    ...(p.database ? { sourceDatabase: p.database } : {}),
  });
  return { backup: summarize(manifest), plan, safetyBackup: plan.targetExists && p.safetyBackup, targetCluster: cluster.name };
}

export interface RestoreJobResult extends RestoreResult {
  plan: RestorePlan;
  safetyBackupId?: string;
}

/**
 * Apply a restore: re-plan (the world may have changed), check every object's
 * checksum before touching the database, take the safety backup, then restore
 * and compare row counts.
 */
export async function runRestore(env: AgentEnv, p: RestoreParams, job: JobHandle): Promise<RestoreJobResult> {
  const { plan, safetyBackup } = await job.step('plan', () => planRestore(env, p, job));
  const { manifest, repo, cluster: clusterName } = await resolveBackup(env, p.id, p.cluster, restorable(p));
  // the target's lock, and its catalog for the safety backup: the backup may come from another cluster
  const cluster = await targetCluster(env, clusterName, p.toCluster);
  const lock = lockForJob(await env.stateDir(), cluster.name, job);
  try {
    await requireManifestUnchanged(env, repo, manifest);
    const bad = (await job.step('checksum', () => checksumAll(repo.storage, manifest, job))).find((c) => !c.ok);
    if (bad) {
      throw new LifeboatError('VERIFY_FAILED', `${bad.name.replace(/^checksum /, 'object ')} of backup ${manifest.id} does not match its manifest; nothing was restored`, {
        hint: 'restore from another backup',
      });
    }
    let safetyBackupId: string | undefined;
    if (safetyBackup) {
      const b = await job.step('safety-backup', () =>
        runBackup(env, BackupParamsSchema.parse({ cluster: cluster.name, database: plan.targetDatabase, format: 'custom', label: `before restore of ${manifest.id} into ${plan.targetDatabase}` }), job, { lockHeld: true, safety: true }),
      );
      safetyBackupId = b.id;
      job.log('info', `safety backup ${b.id} of ${plan.targetDatabase} taken`);
    } else if (plan.targetExists) {
      job.log('warn', `no safety backup of ${plan.targetDatabase} (\`safetyBackup=false\`)`);
    }
    const ctx = stepContext(cluster, env.host, job);
    const res = await job.step('restore', () =>
      cluster.plugin.source.steps.applyRestore(ctx, backupReader(repo.storage, manifest, job.signal), plan),
    );
    for (const c of res.checks) job.log(c.ok ? 'info' : 'warn', `${c.ok ? 'ok  ' : 'DIFF'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
    return { ...res, plan, ...(safetyBackupId ? { safetyBackupId } : {}) };
  } finally {
    lock.release();
  }
}

function readOnlyJob(): JobHandle {
  return {
    id: 'plan',
    signal: new AbortController().signal,
    log: () => undefined,
    progress: () => undefined,
    step: (_n, fn) => fn(),
    tmpDir: () => Promise.reject(new Error('planning is read-only')),
  };
}
