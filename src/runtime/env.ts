import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';
import { Repository } from '../core/repository.js';
import type { Storage } from '../core/storage.js';
import { loadConfig, stateDirFor, type LoadedConfig } from '../config/load.js';
import type { ClusterConfig } from '../config/schema.js';
import { pickCluster } from '../config/clusters.js';
import { guardSource, guardStorage } from './guard.js';
import { PluginRegistry, type BuiltinSelection } from './plugins.js';
import type { AgentState } from './state.js';
import type { LifeboatPlugin } from '../core/plugin.js';

/** A cluster resolved from config: its source plugin and validated connection. */
export interface ResolvedCluster {
  name: string;
  config: ClusterConfig;
  connection: unknown;
  plugin: ReturnType<PluginRegistry['source']>;
  repoName: string;
}

/**
 * An agent without files, for in-process tests of units (and third parties'
 * harnesses): the config as an object, the plugins as a list (the fake source
 * of `lifeboat/plugin/testing`, say), and storages by repository name (a
 * MemoryStorage). What is not given is made as usual from the config.
 */
export interface RuntimePreset {
  config: LoadedConfig;
  plugins?: LifeboatPlugin<any, any>[];
  storages?: Record<string, Storage>;
}

/** What the runtimes of one process share: the parsed plugins and opened storages, kept while the config is the same. */
interface RuntimeCache {
  loaded?: LoadedConfig;
  registry?: PluginRegistry;
  state?: AgentState;
  storages: Map<string, Storage>;
}

/**
 * What every unit of work receives: config, plugins, state and repositories.
 * Units take this explicitly, never globals.
 *
 * The agent reloads its config for every call (edits apply without a restart)
 * and `forCall()` gives each call, and each job runner, a runtime that reads
 * the file once and keeps that config to its end: one read per call instead of
 * one per access, and a job never sees half an edit. Plugins and storages are
 * made again only when the config changed.
 */
export class AgentEnv {
  readonly host = os.hostname();
  private readonly cache: RuntimeCache;
  private pinned?: LoadedConfig;

  /** `builtins: 'storage'` loads no source plugin (the WAL hooks need storage only). */
  constructor(
    readonly configPath?: string,
    private readonly opts: { builtins?: BuiltinSelection; pin?: boolean; preset?: RuntimePreset } = {},
    cache?: RuntimeCache,
  ) {
    this.cache = cache ?? { storages: new Map(Object.entries(opts.preset?.storages ?? {})) };
  }

  /** An in-process runtime from a config object (tests): see {@link RuntimePreset}. */
  static fromPreset(preset: RuntimePreset): AgentEnv {
    return new AgentEnv(preset.config.path, { preset, pin: true });
  }

  /** A runtime for one call or one job: the config is read once, at its first use. */
  forCall(): AgentEnv {
    return new AgentEnv(this.configPath, { ...this.opts, pin: true }, this.cache);
  }

  /** Load (or reload) the config; throws CONFIG_* errors. */
  async config(): Promise<LoadedConfig> {
    if (this.pinned) return this.pinned;
    const fresh = this.opts.preset?.config ?? loadConfig(this.configPath);
    const c = this.cache;
    if (!c.loaded || !c.registry || JSON.stringify(fresh.config) !== JSON.stringify(c.loaded.config)) {
      const registry = new PluginRegistry(this.opts.preset?.plugins);
      await registry.load(fresh.config.plugins, path.dirname(fresh.path), this.opts.builtins ? { builtins: this.opts.builtins } : {});
      c.registry = registry;
      c.storages = new Map(Object.entries(this.opts.preset?.storages ?? {}));
      c.state = undefined;
    }
    c.loaded = fresh;
    if (this.opts.pin) this.pinned = fresh;
    return fresh;
  }

  async plugins(): Promise<PluginRegistry> {
    await this.config();
    return this.cache.registry!;
  }

  async state(): Promise<AgentState> {
    const { config } = await this.config();
    if (!this.cache.state) {
      const { AgentState } = await import('./state.js'); // lowdb: not for the WAL hooks
      this.cache.state ??= new AgentState(stateDirFor(config));
    }
    return this.cache.state;
  }

  async stateDir(): Promise<string> {
    return (await this.state()).dir;
  }

  async cluster(name: string | undefined): Promise<ResolvedCluster> {
    const { config, path: file } = await this.config();
    name = pickCluster(config.clusters, name, file);
    const cluster = config.clusters[name]!;
    const plugin = guardSource((await this.plugins()).source(cluster.source), this.host);
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
    const cached = this.cache.storages.get(repoName);
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
    const storage = guardStorage(await plugin.storage.create(res.data, { log: () => undefined }), { plugin: plugin.meta.name, repository: repoName, host: this.host });
    this.cache.storages.set(repoName, storage);
    return storage;
  }

  async repository(repoName: string): Promise<Repository> {
    return new Repository(await this.storage(repoName));
  }
}
