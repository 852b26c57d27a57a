import { z } from 'zod';
import { lockForJob } from '../../runtime/lock.js';
import { assertDeletable } from '../../core/storage.js';
import type { AgentEnv } from '../../runtime/env.js';
import { staleJobTempDirs, type JobHandle } from '../../runtime/context.js';
import { clustersFor, listBackups } from './catalog.js';
import { GcParamsSchema } from '../../protocol/index.js';

export interface GcResult {
  dryRun: boolean;
  /** Repository objects: unreferenced ones and unfinished uploads. */
  removed: { cluster: string; key: string; size: number }[];
  /** This host's temp dirs of jobs that were killed (dump staging and the like). */
  tempDirs: { path: string; size: number }[];
  /** Everything above, in bytes. */
  bytes: number;
}

/**
 * Remove objects no manifest references (interrupted or cancelled backups).
 * Holds each cluster's lock, so a running backup's objects are never touched.
 */
export async function runGc(env: AgentEnv, p: z.output<typeof GcParamsSchema>, job: JobHandle): Promise<GcResult> {
  const removed: GcResult['removed'] = [];
  for (const name of await clustersFor(env, p.cluster)) {
    const c = await env.cluster(name);
    const repo = await env.repository(c.repoName);
    const lock = lockForJob(await env.stateDir(), name, job);
    try {
      const orphans = await repo.orphans(name);
      if (orphans.length && !p.dryRun) assertDeletable(repo.storage, `removing what interrupted backups of ${name} left`);
      for (const o of orphans) {
        removed.push({ cluster: name, key: o.key, size: o.size });
        if (!p.dryRun) await repo.storage.delete(o.key);
        job.log('info', `${p.dryRun ? 'would remove' : 'removed'} ${o.key} (${o.size} bytes)`);
      }
      // We hold the cluster's lock, so no backup of it is writing: unfinished
      // uploads under its prefix are abandoned (2 s spares a verify result in
      // flight). Any storage that knows its unfinished uploads says so here.
      for (const u of (await repo.storage.abandonedUploads?.({ prefix: name, olderThanMs: 2_000, remove: !p.dryRun })) ?? []) {
        removed.push({ cluster: name, key: u.key, size: u.size ?? 0 });
        job.log('info', `${p.dryRun ? 'would remove' : 'removed'} unfinished upload ${u.key}${u.size !== undefined ? ` (${u.size} bytes)` : ''}`);
      }
    } finally {
      lock.release();
    }
  }
  const tempDirs = await staleJobTempDirs({ remove: !p.dryRun });
  for (const t of tempDirs) job.log('info', `${p.dryRun ? 'would remove' : 'removed'} temp dir ${t.path} of a job that no longer runs (${t.size} bytes)`);
  return { dryRun: p.dryRun, removed, tempDirs, bytes: [...removed, ...tempDirs].reduce((n, r) => n + r.size, 0) };
}

/** Drop the catalog cache and rebuild it from the repository. */
export async function runReindex(env: AgentEnv, input: { cluster?: string }): Promise<{ backups: number; invalid: number }> {
  const state = await env.state();
  await state.update((d) => {
    d.catalog = {};
  });
  const { backups, invalid } = await listBackups(env, input.cluster ? { cluster: input.cluster } : {});
  return { backups: backups.length, invalid: invalid.length };
}

/** `repo init`: create a cluster's repository (its identity file) explicitly. */
export async function initRepository(env: AgentEnv, p: { cluster?: string }): Promise<{ repository: string; where: string }> {
  const c = await env.cluster(p.cluster);
  const repo = await env.repository(c.repoName);
  await repo.init();
  return { repository: c.repoName, where: repo.storage.description };
}
