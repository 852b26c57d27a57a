/**
 * The arrows of docs/architecture.md, enforced: the folders of src/ are layers,
 * and each may import only the layers below it; nothing in src/ or plugins/
 * imports itself in a circle. A new import against an arrow, or a new cycle,
 * fails here with the file and the import.
 *
 *   cli, tui ─→ client ─→ fleet ─→ protocol ─→ core
 *   host ─→ agent, wal ─→ runtime ─→ config, storage, core   (plugins ─→ core, by the SDK)
 *
 * The plugin side (plugins use `lifeboat/plugin` only) is plugin-boundary.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { LIFEBOAT_VERSION } from '../../src/core/version.js';
import { ROOT } from '../helpers/cli.js';
import { importsOf, sourceFiles } from '../helpers/imports.js';

/** What each folder of src/ may import besides itself. `plugins` is the plugins/ tree. */
export const ALLOWED: Record<string, string[]> = {
  core: [],
  config: ['core'],
  storage: ['core'],
  protocol: ['core'],
  // the registry loads the bundled plugins (plugins/postgres) by path
  runtime: ['core', 'config', 'storage', 'protocol', 'plugins'],
  wal: ['core', 'config', 'storage', 'runtime'],
  agent: ['core', 'config', 'storage', 'protocol', 'runtime', 'wal'],
  host: ['core', 'agent', 'wal', 'runtime'],
  fleet: ['core', 'protocol'],
  client: ['core', 'protocol', 'fleet'],
  tui: ['core', 'protocol', 'fleet', 'client'],
  // `lifeboat tui` starts the TUI
  cli: ['core', 'protocol', 'fleet', 'client', 'tui'],
};

const SRC = path.join(ROOT, 'src');
const files = [...sourceFiles(SRC), ...sourceFiles(path.join(ROOT, 'plugins'))].filter((f) => !/\.test\.tsx?$/.test(f));
const known = new Set(files);
const rel = (f: string) => path.relative(ROOT, f).split(path.sep).join('/');

/** The layer of a file: its folder under src/, or `plugins`. */
function layerOf(file: string): string {
  const r = rel(file);
  return r.startsWith('plugins/') ? 'plugins' : r.split('/')[1]!.replace(/\.tsx?$/, '');
}

/** The source file a relative specifier names (`./x.js` is `./x.ts` or `./x.tsx`), if it is one of ours. */
function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, path.join(base, 'index.ts')]) if (known.has(c)) return c;
  return undefined;
}

/** file -> the files it imports (relative imports only: packages are not ours). */
const graph = new Map<string, string[]>();
for (const f of files) {
  const out = new Set<string>();
  for (const ref of importsOf(readFileSync(f, 'utf8'))) {
    if (ref.computed || !ref.specifier.startsWith('.')) continue;
    const t = resolve(f, ref.specifier);
    if (t) out.add(t);
  }
  graph.set(f, [...out]);
}

/** Strongly connected components with more than one file (or a file importing itself). */
function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (g.get(v) ?? []).includes(v)) found.push(scc.map(rel).sort());
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the checker itself', () => {
  test('finds a cycle of three and ignores a diamond', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['d', 'f']],
      ['f', ['d']],
    ]);
    expect(cycles(g).map((c) => c.length)).toEqual([3]);
  });

  test('every folder of src/ has a rule (a new folder must say what it may import)', () => {
    const layers = new Set(files.filter((f) => f.startsWith(SRC + path.sep) && path.dirname(f) !== SRC).map(layerOf));
    expect([...layers].filter((l) => !(l in ALLOWED))).toEqual([]);
  });
});

test('no import cycles in src/ or plugins/', () => {
  expect(cycles(graph)).toEqual([]);
});

test('imports follow the arrows between the layers of src/', () => {
  const problems: string[] = [];
  for (const [f, targets] of graph) {
    const from = layerOf(f);
    if (from === 'plugins' || path.dirname(f) === SRC) continue;
    for (const t of targets) {
      const to = layerOf(t);
      if (to !== from && !ALLOWED[from]?.includes(to)) problems.push(`${rel(f)} -> ${rel(t)} (${from} may import ${ALLOWED[from]?.join(', ') || 'nothing else'})`);
    }
  }
  expect(problems, problems.join('\n')).toEqual([]);
});

test('the operator side (src/cli, src/tui) imports nothing from the database-host side', () => {
  const host = new Set(['agent', 'runtime', 'wal', 'host']);
  const bad = [...graph].flatMap(([f, ts]) => (['cli', 'tui'].includes(layerOf(f)) ? ts.filter((t) => host.has(layerOf(t))).map((t) => `${rel(f)} -> ${rel(t)}`) : []));
  expect(bad).toEqual([]);
});

test('the version is written once: src/core/version.ts matches package.json', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect(LIFEBOAT_VERSION).toBe(pkg.version);
});
