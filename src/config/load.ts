import path from 'node:path';
import { LifeboatError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';
import { configCandidates, findConfig, stateDirPath } from './paths.js';
import { MAX_CONFIG_BYTES, readSmallFile } from './small-file.js';
import { AgentConfigSchema, type AgentConfig } from './schema.js';

export { configCandidates };

export interface LoadedConfig {
  path: string;
  config: AgentConfig;
}

/** The path a new config should be written to (the first candidate). */
export function defaultConfigPath(explicit?: string): string {
  return configCandidates(explicit)[0]!.path;
}

/** Find, read and validate the agent config; one clear error naming file and JSON path. */
export function loadConfig(explicit?: string): LoadedConfig {
  const candidates = configCandidates(explicit);
  const found = findConfig(candidates);
  if (!found) {
    throw new LifeboatError('CONFIG_NOT_FOUND', `no lifeboat config found (looked in ${candidates.map((c) => c.path).join(', ')})`, {
      hint: 'create one with: lifeboat init --cluster NAME --repo DIR (or pass --config FILE)',
    });
  }
  return { path: found.path, config: parseConfig(readSmallFile(found.path, 'config', MAX_CONFIG_BYTES), found.path) };
}

export function parseConfig(text: string, file: string): AgentConfig {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LifeboatError('CONFIG_INVALID', `config ${file}: not valid JSON: ${(err as Error).message}`, {
      hint: 'fix the JSON syntax (a trailing comma or a missing quote is the usual cause)',
    });
  }
  // name the rule for a bad cluster or repository name (zod only says "Invalid key in record")
  for (const section of ['clusters', 'repositories'] as const) {
    const entries = (data as Record<string, unknown> | null)?.[section];
    if (entries && typeof entries === 'object') {
      for (const name of Object.keys(entries)) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
          throw configError(file, [section, name], 'names use letters, digits, dot, dash and underscore (at most 63), starting with a letter or digit');
        }
      }
    }
  }
  const res = AgentConfigSchema.safeParse(data);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    throw configError(file, issue.path, issue.message);
  }
  const config = res.data;
  for (const [name, cluster] of Object.entries(config.clusters)) {
    if (!config.repositories[cluster.repository]) {
      throw configError(file, ['clusters', name, 'repository'], `no repository named "${cluster.repository}" (have: ${Object.keys(config.repositories).join(', ') || 'none'})`);
    }
  }
  // relative paths are relative to the config file
  const base = path.dirname(path.resolve(file));
  if (config.stateDir) config.stateDir = path.resolve(base, config.stateDir);
  for (const repo of Object.values(config.repositories)) {
    if (repo.type === 'local' && typeof repo.path === 'string') repo.path = path.resolve(base, repo.path);
  }
  return config;
}

export function configError(file: string, jsonPath: ReadonlyArray<PropertyKey>, message: string): LifeboatError {
  return new LifeboatError('CONFIG_INVALID', `config ${file}: ${formatPath(jsonPath)}: ${message}`, {
    hint: 'see docs/configuration.md for every setting',
  });
}

/** Where state (job log, cache, locks) lives. */
export function stateDirFor(config: AgentConfig | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return stateDirPath(config?.stateDir, env);
}
