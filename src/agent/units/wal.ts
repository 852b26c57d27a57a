/**
 * WAL fetch for callers holding an AgentEnv (pitr targets). The work itself lives in
 * src/wal/push.ts, shared with the archive hooks (src/host/wal-main.ts), which
 * resolve config and storage on their own lighter path.
 */
import type { Compression } from '../../core/compression.js';
import { fetchWalFile } from '../../wal/push.js';
import type { AgentEnv } from '../../runtime/env.js';

async function store(env: AgentEnv, clusterName: string | undefined) {
  const cluster = await env.cluster(clusterName);
  const { config } = await env.config();
  const c: Compression = config.defaults.compression;
  return { storage: await env.storage(cluster.repoName), cluster: cluster.name, compression: c };
}

/**
 * restore_command: fetch one WAL file into `dest`, checked against the sha256 in
 * its key. A file the archive does not have is NOT_FOUND.
 */
export async function walFetch(env: AgentEnv, p: { cluster?: string; name: string; dest: string }): Promise<{ name: string; sha256: string; size: number }> {
  return fetchWalFile(await store(env, p.cluster), p.name, p.dest);
}
