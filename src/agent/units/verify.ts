import { z } from 'zod';
import { LifeboatError, toLifeboatError } from '../../core/errors.js';
import type { Manifest, Verification } from '../../core/manifest.js';
import type { Storage } from '../../core/storage.js';
import { checksumStored } from '../../core/pipeline.js';
import type { Check } from '../../core/plugin.js';
import { checkManifestDigest } from './integrity.js';
import type { AgentEnv } from '../../runtime/env.js';
import { backupReader } from '../../core/reader.js';
import { stepContext, type JobHandle } from '../../runtime/context.js';
import { resolveBackup } from './catalog.js';
import { VerifyParamsSchema } from '../../protocol/index.js';

export type VerifyParams = z.output<typeof VerifyParamsSchema>;

/** Re-read every object of a backup; one check per object (size and sha256). */
export async function checksumAll(storage: Storage, manifest: Manifest, job: JobHandle): Promise<Check[]> {
  const checks: Check[] = [];
  let done = 0;
  for (const obj of manifest.objects) {
    const res = await checksumStored(storage, obj, job.signal, (n) => job.progress({ phase: `checksum ${obj.name}`, bytes: done + n, totalBytes: manifest.storedSize }));
    done += obj.size;
    checks.push({
      name: `checksum ${obj.name}`,
      ok: res.ok,
      detail: res.ok ? `${res.size} bytes` : `sha256 ${res.sha256.slice(0, 16)}… size ${res.size}, manifest says ${obj.sha256.slice(0, 16)}… size ${obj.size}`,
    });
  }
  return checks;
}

/** Errors that say nothing about the backup itself: recorded as "could not verify", never as a verdict. */
const NOT_A_VERDICT = new Set(['CONNECTION_FAILED', 'BINARY_MISSING', 'UNSUPPORTED']);
/** Not even that: nothing ran (cancelled, another job holds the cluster, the config is wrong). */
const NOT_RECORDED = new Set(['CANCELLED', 'LOCKED', 'CONFIG_INVALID', 'CONFIG_NOT_FOUND']);

/**
 * Verify a backup: checksum (every object re-read, size and sha256), then structure
 * (plugin), then restore into a scratch database (plugin). Levels are cumulative.
 * The result is stored in the repository, pass or fail.
 */
export async function runVerify(env: AgentEnv, params: VerifyParams, job: JobHandle): Promise<Verification> {
  const { manifest, repo, cluster: clusterName } = await resolveBackup(env, params.id, params.cluster);
  const cluster = await env.cluster(clusterName);
  const startedAt = new Date().toISOString();
  const checks: Check[] = [];
  let error: LifeboatError | undefined;
  try {
    checks.push(await checkManifestDigest(env, repo, manifest, { firstUse: true }));
    checks.push(...(await job.step('checksum', () => checksumAll(repo.storage, manifest, job))));
    const reader = backupReader(repo.storage, manifest, job.signal);
    const ctx = stepContext(cluster, env.host, job);
    const steps = cluster.plugin.source.steps;
    if (checks.every((c) => c.ok) && (params.level === 'structure' || params.level === 'restore')) {
      checks.push(...(await job.step('structure', () => steps.verifyStructure(ctx, reader))));
    }
    if (checks.every((c) => c.ok) && params.level === 'restore') {
      checks.push(...(await job.step('restore', () => steps.verifyRestore(ctx, reader))));
    }
  } catch (err) {
    error = toLifeboatError(err);
    if (NOT_RECORDED.has(error.code) || job.signal.aborted) throw error;
    if (NOT_A_VERDICT.has(error.code)) {
      // recorded as what it is: this run could not verify, the backup is not known bad
      const v: Verification = { backupId: manifest.id, level: params.level, ok: false, inconclusive: true, startedAt, finishedAt: new Date().toISOString(), host: env.host, checks, error: error.message };
      await repo.writeVerification(manifest.cluster, v);
      throw new LifeboatError(error.code, `could not verify backup ${manifest.id} (${params.level}): ${error.message}; this says nothing about the backup`, {
        ...(error.hint ? { hint: error.hint } : {}),
        details: { verification: v },
      });
    }
    checks.push({ name: 'verification', ok: false, detail: error.message });
  }
  const v: Verification = {
    backupId: manifest.id,
    level: params.level,
    ok: checks.length > 0 && checks.every((c) => c.ok),
    startedAt,
    finishedAt: new Date().toISOString(),
    host: env.host,
    checks,
  };
  if (error) v.error = error.message;
  await repo.writeVerification(manifest.cluster, v);
  for (const c of checks) job.log(c.ok ? 'info' : 'error', `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.detail ? `: ${c.detail}` : ''}`);
  if (!v.ok) {
    const failed = checks.find((c) => !c.ok)!;
    throw new LifeboatError('VERIFY_FAILED', `backup ${manifest.id} failed verification (${params.level}): ${failed.name}${failed.detail ? `: ${failed.detail}` : ''}`, {
      hint: 'do not rely on this backup; take a new one and check the repository storage',
      details: { verification: v },
    });
  }
  return v;
}
