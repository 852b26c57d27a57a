import type { Compression } from '../../core/compression.js';
import { z } from 'zod';
import { LifeboatError } from '../../core/errors.js';
import { ManifestSchema, newBackupId, type Manifest } from '../../core/manifest.js';
import { lockForJob } from '../../runtime/lock.js';
import type { LogicalScope, ServerInfo } from '../../core/plugin.js';
import type { LogicalDetails, PhysicalDetails } from '../../core/manifest.js';
import { LIFEBOAT_VERSION } from '../../core/version.js';
import type { AgentEnv, ResolvedCluster } from '../../runtime/env.js';
import { ObjectWriter, stepContext, type JobHandle } from '../../runtime/context.js';
import { summarize, type BackupSummary } from './catalog.js';
import { recordManifestDigest } from './integrity.js';
import { plural } from '../../core/text.js';
import { BackupParamsSchema } from '../../protocol/index.js';

export type BackupParams = z.output<typeof BackupParamsSchema>;

export interface BackupResult extends BackupSummary {
  objects: number;
  peakRssBytes: number;
}

/** The plugin's physical backup step, or why these params cannot have one (UNSUPPORTED, USAGE). */
function physicalStep(cluster: ResolvedCluster, params: z.output<typeof BackupParamsSchema>) {
  const step = cluster.plugin.source.steps.physicalBackup;
  if (!step) throw new LifeboatError('UNSUPPORTED', `source plugin ${cluster.plugin.meta.name} has no physical backups`);
  if (params.scope !== 'database' || params.format || params.database) {
    throw new LifeboatError('USAGE', 'a physical backup is of the whole cluster: `format`, `database` and scope options are for `kind=logical`');
  }
  return step;
}

/**
 * What job.start refuses before a backup job exists: an unknown or unnamed
 * cluster, options that do not go together. Read-only.
 */
export async function checkBackup(env: AgentEnv, params: BackupParams): Promise<void> {
  const cluster = await env.cluster(params.cluster);
  if (params.kind === 'physical') physicalStep(cluster, params);
}

/**
 * One logical backup: lock the cluster, stream objects through the pipeline, write
 * the manifest last. On any failure the written objects are removed (best effort;
 * a killed agent leaves them for `repo gc`), so no backup is listed that is not whole.
 */
export async function runBackup(env: AgentEnv, params: BackupParams, job: JobHandle, opts: { lockHeld?: boolean; safety?: boolean } = {}): Promise<BackupResult> {
  const { config } = await env.config();
  const cluster = await env.cluster(params.cluster);
  const repo = await env.repository(cluster.repoName);
  await repo.init();
  const lock = opts.lockHeld ? undefined : lockForJob(await env.stateDir(), cluster.name, job);
  try {
    const compression: Compression = params.compression ?? config.defaults.compression;
    const format = params.format ?? config.defaults.format;
    const id = newBackupId(params.kind);
    const startedAt = new Date();
    const writer = new ObjectWriter(repo.storage, cluster.name, id, compression, job);
    job.log('info', `backup ${id} of cluster ${cluster.name} to ${repo.storage.description}`);
    try {
      const ctx = stepContext(cluster, env.host, job);
      const steps = cluster.plugin.source.steps;
      let out: { server: ServerInfo; logical?: LogicalDetails; physical?: PhysicalDetails };
      if (params.kind === 'physical') {
        const physicalBackup = physicalStep(cluster, params);
        out = await job.step('basebackup', () => physicalBackup(ctx, writer, { compression }));
      } else {
        const scope: LogicalScope = { kind: params.scope };
        if (params.tables.length) scope.tables = params.tables;
        if (params.schemas.length) scope.schemas = params.schemas;
        if (params.only) {
          if (params.scope !== 'tables' && params.scope !== 'schemas') throw new LifeboatError('USAGE', `only ${params.only} goes with \`tables\` or \`schemas\` (for a whole database use \`only=${params.only}\`)`);
          scope.only = params.only;
        }
        out = await job.step('dump', () =>
          steps.logicalBackup(ctx, writer, {
            format,
            scope,
            compression,
            ...(params.database ? { database: params.database } : {}),
          }),
        );
      }
      const finishedAt = new Date();
      const manifest: Manifest = {
        formatVersion: 1,
        id,
        cluster: cluster.name,
        kind: params.kind,
        plugin: { name: cluster.plugin.meta.name, version: cluster.plugin.meta.version },
        lifeboatVersion: LIFEBOAT_VERSION,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - startedAt.getTime(),
        tag: opts.safety ? 'safety' : (params.tag ?? config.defaults.tag),
        host: env.host,
        server: { version: out.server.version, versionNum: out.server.versionNum, systemIdentifier: out.server.systemIdentifier },
        compression,
        encryption: { mode: 'none' },
        objects: writer.objects.map((o) => ({ name: o.name, key: o.key, size: o.size, sha256: o.sha256, rawSize: o.rawSize, compression: o.compression })),
        rawSize: writer.objects.reduce((n, o) => n + o.rawSize, 0),
        storedSize: writer.objects.reduce((n, o) => n + o.size, 0),
      };
      if (out.logical) manifest.logical = out.logical;
      if (out.physical) manifest.physical = out.physical;
      if (params.label) manifest.label = params.label;
      const checked = ManifestSchema.parse(manifest);
      job.signal.throwIfAborted();
      const { sha256 } = await job.step('manifest', () => repo.writeManifest(checked));
      await recordManifestDigest(env, checked, sha256);
      job.log('info', `backup ${id} complete: ${plural(checked.objects.length, 'object')}, ${checked.rawSize} bytes raw, ${checked.storedSize} stored`);
      return { ...summarize(checked), objects: checked.objects.length, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
    } catch (err) {
      await writer.discard();
      if (job.signal.aborted) throw new LifeboatError('CANCELLED', `backup of ${cluster.name} was cancelled; nothing was kept`);
      throw err;
    }
  } finally {
    lock?.release();
  }
}
