import { readdirSync, readFileSync } from 'node:fs';
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

/** Installed packages named lifeboat-plugin-* (and @scope/lifeboat-plugin-*) in a node_modules dir. */
export function discoverPackages(nodeModules: string): { name: string; dir: string }[] {
  const out: { name: string; dir: string }[] = [];
  const entries = (dir: string) => {
    try {
      return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() || e.isSymbolicLink());
    } catch {
      return [];
    }
  };
  for (const e of entries(nodeModules)) {
    if (e.name.startsWith('lifeboat-plugin-')) out.push({ name: e.name, dir: path.join(nodeModules, e.name) });
    else if (e.name.startsWith('@')) {
      for (const s of entries(path.join(nodeModules, e.name))) {
        if (s.name.startsWith('lifeboat-plugin-')) out.push({ name: `${e.name}/${s.name}`, dir: path.join(nodeModules, e.name, s.name) });
      }
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Where installed plugin packages are looked for: next to the config
 * (`<config dir>/node_modules`), and where lifeboat itself is installed (its
 * own node_modules, and the node_modules it sits in, as a global npm install
 * puts packages side by side). The first of a name wins.
 */
export function pluginPackages(configDir: string, program = process.argv[1]): { name: string; dir: string }[] {
  const dirs = [path.join(configDir, 'node_modules')];
  if (program) {
    const root = path.dirname(path.dirname(path.resolve(program))); // bin/lifeboat.js -> the package
    dirs.push(path.join(root, 'node_modules'));
    const parent = path.dirname(root);
    if (path.basename(parent) === 'node_modules') dirs.push(parent);
    else if (path.basename(parent).startsWith('@') && path.basename(path.dirname(parent)) === 'node_modules') dirs.push(path.dirname(parent));
  }
  const seen = new Set<string>();
  const out: { name: string; dir: string }[] = [];
  for (const d of dirs) {
    for (const p of discoverPackages(d)) {
      if (seen.has(p.name)) continue;
      seen.add(p.name);
      out.push(p);
    }
  }
  return out;
}

/** A package's ESM entry: `exports` (".", import or default), `module`, `main`, else index.js. */
export function packageEntry(dir: string): string {
  let pkg: { exports?: unknown; module?: unknown; main?: unknown } = {};
  try {
    pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    /* no package.json: index.js */
  }
  const pick = (e: unknown): string | undefined => {
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object') {
      const o = e as Record<string, unknown>;
      return pick(o['.'] ?? o.import ?? o.default ?? o.node);
    }
    return undefined;
  };
  const rel = pick(pkg.exports) ?? (typeof pkg.module === 'string' ? pkg.module : undefined) ?? (typeof pkg.main === 'string' ? pkg.main : undefined) ?? 'index.js';
  return path.resolve(dir, rel);
}

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
      throw new LifeboatError('CONFIG_INVALID', `plugin ${p.meta.name} (${from}) speaks plugin API ${p.apiVersion}, this lifeboat speaks ${PLUGIN_API_VERSION}`, {
        hint: 'install a version of the plugin built for this lifeboat (or a lifeboat for that plugin API)',
      });
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

  /**
   * Load the built-ins (if this registry has them), then the third-party plugin
   * modules named in the config, then the installed npm packages named
   * `lifeboat-plugin-*` (or `@scope/lifeboat-plugin-*`) next to the config
   * (`<config dir>/node_modules`) that the config does not name already.
   */
  async load(specs: string[], baseDir: string, opts: { builtins?: BuiltinSelection; discover?: boolean } = {}): Promise<void> {
    await this.loadBuiltins(opts.builtins);
    const found = opts.discover === false ? [] : pluginPackages(baseDir).filter((d) => !specs.includes(d.name));
    for (const spec of [...specs, ...found.map((d) => d.dir)]) {
      const pkgDir = found.find((d) => d.dir === spec);
      const target = pkgDir ? pathToFileURL(packageEntry(pkgDir.dir)).href : spec.startsWith('.') || path.isAbsolute(spec) ? pathToFileURL(path.resolve(baseDir, spec)).href : spec;
      let mod: { default?: LifeboatPlugin<any, any> };
      try {
        mod = (await import(target)) as typeof mod;
      } catch (err) {
        const what = pkgDir ? `npm package ${pkgDir.name} (found installed in ${path.dirname(pkgDir.name.startsWith('@') ? path.dirname(pkgDir.dir) : pkgDir.dir)})` : spec;
        throw new LifeboatError('CONFIG_INVALID', `cannot load plugin ${what}: ${(err as Error).message}`, pkgDir ? { hint: `reinstall it, or remove it: npm uninstall ${pkgDir.name}` } : {});
      }
      this.add(mod.default as LifeboatPlugin<any, any>, pkgDir ? `npm package ${pkgDir.name}` : spec);
    }
  }

  /** Where a plugin came from: `built-in`, the config's path or package name, or `npm package NAME` (found installed). */
  origin(name: string): string | undefined {
    return this.from.get(name);
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
