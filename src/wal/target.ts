/**
 * Where a WAL hook stores: config file → cluster → repository → Storage, plus
 * the cluster's walArchive settings.
 *
 * The light path reads the config with JSON.parse and checks, to the letter of
 * src/config/schema.ts, only what the hooks use: the cluster, its repository
 * (a built-in `local` one), `walArchive` and `defaults.compression`. Loading zod
 * and the plugin host costs ~40 ms, a third of a Node process's start, once per
 * 16 MiB of WAL. Anything else (third-party plugins, another storage type, a
 * value the light check does not accept) takes the full path: the agent's own
 * config loader and plugin registry, so its errors are the same as everywhere.
 * Settings the hooks do not use (connection, retention, ...) are not checked
 * here: a typo there must not stop WAL archiving; every other command reports it.
 * test/unit/wal-target.test.ts holds the light checks to the zod schema.
 */
import { MAX_CONFIG_BYTES, readSmallFile } from '../config/small-file.js';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../core/errors.js';
import { configCandidates, findConfig, stateDirPath } from '../config/paths.js';
import { createLocalStorage } from '../storage/local/index.js';
import { guardStorage } from '../runtime/guard.js';
import { pickCluster, WAL_ARCHIVE_DEFAULTS, type WalArchiveSettings, type WalTarget } from './target-base.js';
import type { WalCompression } from './zstd.js';

export { pickCluster, WAL_ARCHIVE_DEFAULTS, type WalArchiveSettings, type WalTarget };

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** Light check of `walArchive`; undefined = not accepted here (the full path decides). */
export function lightWalArchive(v: unknown): WalArchiveSettings | undefined {
  if (v === undefined) return { ...WAL_ARCHIVE_DEFAULTS };
  if (!isObj(v)) return undefined;
  const known = ['async', 'spoolDir', 'parallel', 'maxQueue', 'waitSeconds', 'idleSeconds'];
  if (Object.keys(v).some((k) => !known.includes(k))) return undefined;
  const out: WalArchiveSettings = { ...WAL_ARCHIVE_DEFAULTS };
  if (v.async !== undefined) {
    if (typeof v.async !== 'boolean') return undefined;
    out.async = v.async;
  }
  if (v.spoolDir !== undefined) {
    if (typeof v.spoolDir !== 'string' || v.spoolDir.length < 1) return undefined;
    out.spoolDir = v.spoolDir;
  }
  if (v.parallel !== undefined) {
    if (!isInt(v.parallel, 1, 32)) return undefined;
    out.parallel = v.parallel as number;
  }
  if (v.maxQueue !== undefined) {
    if (!isInt(v.maxQueue, 1, 1_000_000)) return undefined;
    out.maxQueue = v.maxQueue as number;
  }
  for (const k of ['waitSeconds', 'idleSeconds'] as const) {
    if (v[k] === undefined) continue;
    const n = v[k];
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > 86_400) return undefined;
    out[k] = n;
  }
  return out;
}

/** Light check of `defaults.compression` (zod: strips unknown keys). */
export function lightCompression(defaults: unknown): WalCompression | undefined {
  if (defaults === undefined) return { algorithm: 'zstd', level: 1 };
  if (!isObj(defaults)) return undefined;
  const c = defaults.compression;
  if (c === undefined) return { algorithm: 'zstd', level: 1 };
  if (!isObj(c)) return undefined;
  if (c.algorithm !== 'zstd' && c.algorithm !== 'gzip' && c.algorithm !== 'none') return undefined;
  const out: WalCompression = { algorithm: c.algorithm };
  if (c.level !== undefined) {
    if (!isInt(c.level, -7, 22)) return undefined;
    out.level = c.level as number;
  }
  if (c.threads !== undefined) {
    if (!isInt(c.threads, 0, 64)) return undefined;
    out.threads = c.threads as number;
  }
  return out;
}

interface Light {
  cluster: string;
  repoName: string;
  repoPath: string;
  compression: WalCompression;
  walArchive: WalArchiveSettings;
  stateDir?: string;
}

/** The light reading; undefined when the full path must decide. Throws only errors the full path would give too. */
export function lightResolve(text: string, file: string, clusterName: string | undefined): Light | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined; // the full loader words the syntax error
  }
  if (!isObj(data) || !isObj(data.clusters) || !isObj(data.repositories)) return undefined;
  if (data.plugins !== undefined && !(Array.isArray(data.plugins) && data.plugins.length === 0)) return undefined;
  if (data.stateDir !== undefined && (typeof data.stateDir !== 'string' || data.stateDir.length < 1)) return undefined;
  const name = pickCluster(data.clusters, clusterName, file);
  if (!NAME_RE.test(name)) return undefined;
  const cluster = data.clusters[name];
  if (!isObj(cluster) || typeof cluster.repository !== 'string' || !NAME_RE.test(cluster.repository)) return undefined;
  if (!Object.hasOwn(data.repositories, cluster.repository)) return undefined;
  const repo = data.repositories[cluster.repository];
  if (!isObj(repo) || repo.type !== 'local') return undefined;
  const keys = Object.keys(repo);
  if (keys.length !== 2 || !keys.includes('path') || typeof repo.path !== 'string' || repo.path.length < 1) return undefined;
  const walArchive = lightWalArchive(cluster.walArchive);
  const compression = lightCompression(data.defaults);
  if (!walArchive || !compression) return undefined;
  const base = path.dirname(file);
  if (walArchive.spoolDir) walArchive.spoolDir = path.resolve(base, walArchive.spoolDir);
  const out: Light = { cluster: name, repoName: cluster.repository, repoPath: path.resolve(base, repo.path), compression, walArchive };
  if (typeof data.stateDir === 'string') out.stateDir = path.resolve(base, data.stateDir);
  return out;
}

/** Resolve config, cluster and storage for a WAL hook (light path, else the agent's loaders). */
export async function resolveWalTarget(configArg: string | undefined, clusterName: string | undefined): Promise<WalTarget> {
  const candidates = configCandidates(configArg);
  const found = findConfig(candidates); // a config this OS user may not read is named as such, here as in the full loader
  if (found) {
    let text: string | undefined;
    try {
      text = readSmallFile(found.path, 'config', MAX_CONFIG_BYTES);
    } catch (err) {
      if (err instanceof LifeboatError && err.code === 'FILE_ACCESS') throw err; // unreadable: the full loader could only say the same
      text = undefined; // the full loader reports it (too big, not a file)
    }
    const light = text === undefined ? undefined : lightResolve(text, found.path, clusterName);
    if (light) {
      return {
        configPath: found.path,
        cluster: light.cluster,
        // the same boundary as the agent's storages (runtime/guard.ts): labels, retries, redaction
        storage: guardStorage(createLocalStorage(light.repoPath), { plugin: 'local', repository: light.repoName, host: os.hostname() }),
        compression: light.compression,
        walArchive: light.walArchive,
        stateDir: stateDirPath(light.stateDir),
        via: 'light',
      };
    }
  }
  // the agent's own loaders (zod, plugin host): a separate bundle, loaded only here
  const { resolveFull } = await import('./full.js');
  return resolveFull(configArg, clusterName);
}

/** The spool directory for a cluster: walArchive.spoolDir, else <stateDir>/wal-spool. */
export function spoolRoot(t: Pick<WalTarget, 'walArchive' | 'stateDir'>): string {
  return t.walArchive.spoolDir ?? path.join(t.stateDir, 'wal-spool');
}
