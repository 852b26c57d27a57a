/**
 * The WAL hooks' full path: config, cluster and storage through the agent's own
 * loader and plugin registry (zod, third-party plugins, any storage type). The
 * hooks load it only when the light reading in target.ts does not cover a
 * config; it is its own bundle (dist/wal-full.js), apart from the hook.
 */
import path from 'node:path';
import { AgentEnv } from '../runtime/env.js';
import { stateDirPath } from '../config/paths.js';
import { pickCluster, WAL_ARCHIVE_DEFAULTS, type WalArchiveSettings, type WalTarget } from './target-base.js';

export async function resolveFull(configArg: string | undefined, clusterName: string | undefined): Promise<WalTarget> {
  const env = new AgentEnv(configArg, { builtins: 'storage' });
  const { config, path: file } = await env.config();
  const name = pickCluster(config.clusters as Record<string, unknown>, clusterName, file);
  const cluster = config.clusters[name]!;
  const storage = await env.storage(cluster.repository);
  const walArchive: WalArchiveSettings = { ...WAL_ARCHIVE_DEFAULTS, ...(cluster.walArchive ?? {}) };
  if (walArchive.spoolDir) walArchive.spoolDir = path.resolve(path.dirname(file), walArchive.spoolDir);
  const c = config.defaults.compression;
  return {
    configPath: file,
    cluster: name,
    storage,
    compression: { algorithm: c.algorithm, ...(c.level !== undefined ? { level: c.level } : {}), ...(c.threads !== undefined ? { threads: c.threads } : {}) },
    walArchive,
    stateDir: stateDirPath(config.stateDir),
    via: 'full',
  };
}
