import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';
import { Repository } from '../core/repository.js';
import type { Storage } from '../core/storage.js';
import { loadConfig, stateDirFor, type LoadedConfig } from '../config/load.js';
import type { ClusterConfig } from '../config/schema.js';
import { PluginRegistry, type BuiltinSelection } from './plugins.js';
import type { AgentState } from './state.js';

export const LIFEBOAT_VERSION = '0.1.0';

/** A cluster resolved from config: its source plugin and validated connection. */
export interface ResolvedCluster {
  name: string;
  config: ClusterConfig;
  connection: unknown;
  plugin: ReturnType<PluginRegistry['source']>;
  repoName: string;
}

/**
 * What every unit of work receives: config (loaded per call, so edits apply),
 * plugins, state and repositories. Units take this explicitly, never globals.
 */
export class AgentEnv {
  readonly host = os.hostname();
  private loaded?: LoadedConfig;
  private registry?: PluginRegistry;
  private stateCache?: AgentState;
  private readonly storages = new Map<string, Storage>();

  /** `builtins: 'storage'` loads no source plugin (the WAL hooks need storage only). */
  constructor(readonly configPath?: string, private readonly opts: { builtins?: BuiltinSelection } = {}) {}

  /** Load (or reload) the config; throws CONFIG_* errors. */
  async config(): Promise<LoadedConfig> {
    const fresh = loadConfig(this.configPath);
    if (!this.loaded || JSON.stringify(fresh.config) !== JSON.stringify(this.loaded.config)) {
      this.registry = new PluginRegistry();
      await this.registry.load(fresh.config.plugins, path.dirname(fresh.path), this.opts.builtins ? { builtins: this.opts.builtins } : {});
      this.storages.clear();
      this.stateCache = undefined;
    }
    this.loaded = fresh;
    return fresh;
  }

  async plugins(): Promise<PluginRegistry> {
    await this.config();
    return this.registry!;
  }

  async state(): Promise<AgentState> {
    const { config } = await this.config();
    if (!this.stateCache) {
      const { AgentState } = await import('./state.js'); // lowdb: not for the WAL hooks
      this.stateCache ??= new AgentState(stateDirFor(config));
    }
    return this.stateCache;
  }

  async stateDir(): Promise<string> {
    return (await this.state()).dir;
  }

  async cluster(name: string | undefined): Promise<ResolvedCluster> {
    const { config, path: file } = await this.config();
    const names = Object.keys(config.clusters);
    if (!name) {
      if (names.length === 1) name = names[0]!;
      else throw new LifeboatError('USAGE', `choose a cluster with --cluster (configured: ${names.join(', ') || 'none'})`);
    }
    const cluster = config.clusters[name];
    if (!cluster) {
      throw new LifeboatError('UNKNOWN_CLUSTER', `no cluster "${name}" in ${file}`, { hint: `configured: ${names.join(', ') || 'none'}` });
    }
    const plugin = (await this.plugins()).source(cluster.source);
    const res = plugin.source.configSchema.safeParse(cluster.connection);
    if (!res.success) {
      const issue = res.error.issues[0]!;
      throw new LifeboatError('CONFIG_INVALID', `config ${file}: ${formatPath(['clusters', name, 'connection', ...issue.path])}: ${issue.message}`, {
        hint: 'see docs/configuration.md for every setting',
      });
    }
    return { name, config: cluster, connection: res.data, plugin, repoName: cluster.repository };
  }

  async clusterNames(): Promise<string[]> {
    return Object.keys((await this.config()).config.clusters);
  }

  async storage(repoName: string): Promise<Storage> {
    const { config, path: file } = await this.config();
    const cached = this.storages.get(repoName);
    if (cached) return cached;
    const repo = config.repositories[repoName];
    if (!repo) throw new LifeboatError('CONFIG_INVALID', `config ${file}: no repository "${repoName}"`);
    const plugin = (await this.plugins()).storage(repo.type);
    const { type: _type, ...rest } = repo;
    const res = plugin.storage.configSchema.safeParse(rest);
    if (!res.success) {
      const issue = res.error.issues[0]!;
      throw new LifeboatError('CONFIG_INVALID', `config ${file}: ${formatPath(['repositories', repoName, ...issue.path])}: ${issue.message}`);
    }
    const storage = await plugin.storage.create(res.data, { log: () => undefined });
    this.storages.set(repoName, storage);
    return storage;
  }

  async repository(repoName: string): Promise<Repository> {
    return new Repository(await this.storage(repoName));
  }
}
