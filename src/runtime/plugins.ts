import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LifeboatError } from '../core/errors.js';
import { PLUGIN_API_VERSION, type LifeboatPlugin } from '../core/plugin.js';

/** Which built-in plugins a registry loads: all (the agent) or only storage ones (the WAL hooks). */
export type BuiltinSelection = 'all' | 'storage';

/**
 * The one list of built-in plugins, each imported only when a registry loads it
 * (its own chunk in the bundle): the WAL hooks load storage plugins only, and
 * nothing of the postgres plugin.
 */
export const BUILTIN_PLUGINS: { name: string; kinds: ('source' | 'storage')[]; load: () => Promise<LifeboatPlugin<any, any>> }[] = [
  { name: 'postgres', kinds: ['source'], load: async () => (await import('../../plugins/postgres/index.js')).default as LifeboatPlugin<any, any> },
  { name: 'local', kinds: ['storage'], load: async () => (await import('../storage/local-plugin.js')).default as LifeboatPlugin<any, any> },
];

export class PluginRegistry {
  private readonly plugins = new Map<string, LifeboatPlugin<any, any>>();
  private readonly from = new Map<string, string>();
  private builtinsPending: boolean;

  /** With a list: exactly those plugins. Without: the built-ins, added by `load()`. */
  constructor(list?: LifeboatPlugin<any, any>[]) {
    this.builtinsPending = list === undefined;
    for (const p of list ?? []) this.add(p, 'built-in');
  }

  /** Import the built-in plugins (once); `load()` calls this first. */
  async loadBuiltins(which: BuiltinSelection = 'all'): Promise<void> {
    if (!this.builtinsPending) return;
    this.builtinsPending = false;
    const wanted = BUILTIN_PLUGINS.filter((b) => which === 'all' || b.kinds.includes('storage'));
    for (const p of await Promise.all(wanted.map((b) => b.load()))) this.add(p, 'built-in');
  }

  add(p: LifeboatPlugin<any, any>, from: string): void {
    if (!p || typeof p !== 'object' || !p.meta?.name) throw new LifeboatError('CONFIG_INVALID', `plugin ${from} does not export a plugin (use export default definePlugin({...}))`);
    if (p.apiVersion !== PLUGIN_API_VERSION) {
      throw new LifeboatError('CONFIG_INVALID', `plugin ${p.meta.name} (${from}) speaks plugin API ${p.apiVersion}, this lifeboat speaks ${PLUGIN_API_VERSION}`);
    }
    const had = this.plugins.get(p.meta.name);
    if (had) {
      // a second plugin of one name would silently take the first one's repositories or clusters
      throw new LifeboatError('CONFIG_INVALID', `plugin ${from} is named "${p.meta.name}", as plugin ${this.from.get(p.meta.name)} already is`, {
        hint: 'plugin names are unique: remove one of them from "plugins" in the config, or rename it',
      });
    }
    this.plugins.set(p.meta.name, p);
    this.from.set(p.meta.name, from);
  }

  /** Load the built-ins (if this registry has them), then third-party plugin modules named in the config. */
  async load(specs: string[], baseDir: string, opts: { builtins?: BuiltinSelection } = {}): Promise<void> {
    await this.loadBuiltins(opts.builtins);
    for (const spec of specs) {
      const target = spec.startsWith('.') || path.isAbsolute(spec) ? pathToFileURL(path.resolve(baseDir, spec)).href : spec;
      let mod: { default?: LifeboatPlugin<any, any> };
      try {
        mod = (await import(target)) as typeof mod;
      } catch (err) {
        throw new LifeboatError('CONFIG_INVALID', `cannot load plugin ${spec}: ${(err as Error).message}`);
      }
      this.add(mod.default as LifeboatPlugin<any, any>, spec);
    }
  }

  list(): LifeboatPlugin<any, any>[] {
    return [...this.plugins.values()];
  }

  source(name: string): LifeboatPlugin<any, any> & { source: NonNullable<LifeboatPlugin['source']> } {
    const p = this.plugins.get(name);
    if (!p?.source) throw new LifeboatError('CONFIG_INVALID', `no source plugin named "${name}"`, { hint: `available: ${this.names('source').join(', ')}` });
    return p as never;
  }

  storage(name: string): LifeboatPlugin<any, any> & { storage: NonNullable<LifeboatPlugin['storage']> } {
    const p = this.plugins.get(name);
    if (!p?.storage) throw new LifeboatError('CONFIG_INVALID', `no storage plugin named "${name}"`, { hint: `available: ${this.names('storage').join(', ')}` });
    return p as never;
  }

  private names(kind: 'source' | 'storage'): string[] {
    return this.list().filter((p) => p[kind]).map((p) => p.meta.name);
  }
}
