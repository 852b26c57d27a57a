import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { LifeboatError, toLifeboatError } from '../../core/errors.js';
import type { Check } from '../../core/plugin.js';
import { defaultConfigPath, parseConfig, stateDirFor } from '../../config/load.js';
import { ensureStateDir } from '../../runtime/state.js';
import type { AgentConfigInput } from '../../config/schema.js';
import { PluginRegistry } from '../../runtime/plugins.js';
import type { AgentEnv } from '../../runtime/env.js';
import { stepContext, TempDirs, type JobHandle } from '../../runtime/context.js';
import { plural } from '../../core/text.js';
import { InitParamsSchema } from '../../protocol/index.js';

/**
 * Write a starter config (or add a cluster to an existing one): connection from
 * flags, else PG* variables; a local-directory repository. Never writes passwords.
 */
export async function initConfig(env: AgentEnv, p: z.output<typeof InitParamsSchema>): Promise<{ path: string; created: boolean; cluster: string }> {
  const file = defaultConfigPath(env.configPath);
  let config: AgentConfigInput = { repositories: {}, clusters: {} };
  const exists = existsSync(file);
  if (exists) {
    const text = readFileSync(file, 'utf8');
    parseConfig(text, file); // refuse to extend a config that is already invalid
    config = JSON.parse(text) as AgentConfigInput; // as written: keeps the user's relative paths
    if (config.clusters[p.cluster] && !p.force) {
      throw new LifeboatError('USAGE', `cluster ${p.cluster} is already in ${file}`, { hint: 'choose another name, edit the file, or pass `force` to replace it' });
    }
  }
  const connection: Record<string, unknown> = {};
  const host = p.host ?? process.env.PGHOST;
  const port = p.port ?? (process.env.PGPORT ? Number(process.env.PGPORT) : undefined);
  const user = p.user ?? process.env.PGUSER;
  const database = p.database ?? process.env.PGDATABASE;
  if (host) connection.host = host;
  if (port) connection.port = port;
  if (user) connection.user = user;
  if (database) connection.database = database;
  if (p.commandPrefix?.length) connection.commandPrefix = p.commandPrefix;
  if (p.bindir) connection.bindir = p.bindir;
  // the plugin's own rules, before anything is written (a connection string with a password, say)
  const registry = new PluginRegistry();
  await registry.loadBuiltins();
  const checked = registry.source('postgres').source.configSchema.safeParse(connection);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new LifeboatError('USAGE', `${issue.path.join('.') || 'connection'}: ${issue.message}`, { hint: `nothing was written to ${file}` });
  }
  const repoName = p.cluster === 'default' ? 'default' : `${p.cluster}-local`;
  config.repositories[repoName] = { type: 'local', path: path.resolve(p.repo) };
  config.clusters[p.cluster] = { source: 'postgres', repository: repoName, connection };
  if (p.stateDir) config.stateDir = path.resolve(p.stateDir);
  const text = JSON.stringify(config, null, 2) + '\n';
  parseConfig(text, file); // never write a config we would refuse to read
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
  return { path: file, created: !exists, cluster: p.cluster };
}

/** Validate the config, then for each cluster: connect, and write/read/delete in its repository. */
export async function checkConfig(env: AgentEnv, input: { cluster?: string }): Promise<{ path: string; ok: boolean; clusters: { cluster: string; checks: Check[] }[] }> {
  const { path: file, config } = await env.config();
  const names = input.cluster ? [input.cluster] : Object.keys(config.clusters);
  const out: { cluster: string; checks: Check[] }[] = [];
  const dir = stateDirFor(config);
  let stateCheck: Check;
  try {
    ensureStateDir(dir);
    stateCheck = { name: 'state', ok: true, detail: `state directory ${dir} is writable` };
  } catch (err) {
    const e = toLifeboatError(err);
    stateCheck = { name: 'state', ok: false, detail: e.message + (e.hint ? ` (${e.hint})` : '') };
  }
  for (const name of names) {
    const checks: Check[] = [];
    const temps = new TempDirs();
    try {
      const cluster = await env.cluster(name);
      checks.push({ name: 'config', ok: true, detail: `source ${cluster.plugin.meta.name}, repository ${cluster.repoName}` });
      const job: JobHandle = { id: 'check', signal: AbortSignal.timeout(60_000), log: () => undefined, progress: () => undefined, step: (_n, f) => f(), tmpDir: () => temps.make() };
      try {
        const info = await cluster.plugin.source.steps.probe(stepContext(cluster, env.host, job));
        checks.push({ name: 'connection', ok: true, detail: `PostgreSQL ${info.version}, database ${info.database}, ${plural(info.databases.length, 'database')}` });
      } catch (err) {
        const e = toLifeboatError(err);
        checks.push({ name: 'connection', ok: false, detail: e.message + (e.hint ? ` (${e.hint})` : '') });
      }
      try {
        const repo = await env.repository(cluster.repoName);
        await repo.init();
        const key = `${name}/.lifeboat-check-${process.pid}`;
        await repo.storage.put(key, Readable.from([Buffer.from('check')]));
        await repo.storage.delete(key);
        checks.push({ name: 'repository', ok: true, detail: `${repo.storage.description} is writable` });
      } catch (err) {
        checks.push({ name: 'repository', ok: false, detail: toLifeboatError(err).message });
      }
    } catch (err) {
      checks.push({ name: 'config', ok: false, detail: toLifeboatError(err).message });
    } finally {
      await temps.cleanup();
    }
    checks.push(stateCheck);
    out.push({ cluster: name, checks });
  }
  return { path: file, ok: out.every((c) => c.checks.every((x) => x.ok)), clusters: out };
}
