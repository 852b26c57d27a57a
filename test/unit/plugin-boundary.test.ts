/**
 * Principle 6 of docs/DESIGN: plugins use the public SDK only. Every source file
 * under plugins/ may import:
 *   - `lifeboat/plugin` (and the other public entries in package.json `exports`,
 *     e.g. `lifeboat/plugin/testing`),
 *   - Node built-ins (`node:fs`, ...),
 *   - npm packages,
 *   - relative files inside its own plugin folder.
 * Anything else (a relative path reaching src/ or another plugin, `src/...`,
 * `lifeboat/src/...`, absolute paths, `#imports`) fails this test.
 *
 * The scanner is a small lexer, not a regex over raw text: it drops comments
 * (so docs may mention forbidden paths) and sees `import type`, `export ... from`,
 * side-effect imports, `import()` and `require()`. Its own tests come first.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../helpers/cli.js';
import { importsOf, sourceFiles, type ImportRef } from '../helpers/imports.js';

const PLUGINS = path.join(ROOT, 'plugins');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, string | { types?: string; default?: string }>;
};

/** Public entries of this package, e.g. `lifeboat/plugin`, `lifeboat/plugin/testing`. */
const PUBLIC_ENTRIES = Object.keys(pkg.exports)
  .filter((k) => k !== './package.json')
  .map((k) => pkg.name + k.slice(1));

/** Top-level folders of this repository: a bare specifier starting with one is not an npm package. */
const REPO_DIRS = ['src', 'plugins', 'test', 'dist', 'bin', 'scripts', 'bench', 'docs'];

/** Why `specifier` in `file` (absolute) breaks the plugin boundary, or undefined when it is fine. */
function boundaryViolation(file: string, ref: ImportRef): string | undefined {
  const s = ref.specifier;
  if (ref.computed) return `computed module specifier ${s} cannot be checked`;
  const pluginDir = path.join(PLUGINS, path.relative(PLUGINS, file).split(path.sep)[0]!);
  if (s.startsWith('./') || s.startsWith('../') || s === '.' || s === '..') {
    const target = path.resolve(path.dirname(file), s);
    const rel = path.relative(pluginDir, target);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      const fromRoot = path.relative(ROOT, target).split(path.sep).join('/');
      return `relative import reaches outside ${path.relative(ROOT, pluginDir)}/ (to ${fromRoot})`;
    }
    return undefined;
  }
  if (s.startsWith('node:')) return undefined;
  if (builtinModules.includes(s) || builtinModules.includes(s.split('/')[0]!)) return undefined;
  if (PUBLIC_ENTRIES.includes(s)) return undefined;
  if (s === pkg.name || s.startsWith(`${pkg.name}/`)) return `${s} is not a public entry of ${pkg.name} (public: ${PUBLIC_ENTRIES.join(', ')})`;
  if (path.isAbsolute(s) || /^[a-z]+:/i.test(s)) return `absolute module specifier ${s}`;
  if (s.startsWith('#')) return `package import ${s} (may map to internals)`;
  if (REPO_DIRS.includes(s.split('/')[0]!)) return `${s} names a folder of this repository, not a package`;
  if (/^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*(\/.*)?$/.test(s)) return undefined; // an npm package
  return `unrecognised module specifier ${s}`;
}

describe('the scanner itself', () => {
  const file = path.join(PLUGINS, 'example', 'sub', 'index.ts');
  const violations = (src: string) => importsOf(src).map((r) => boundaryViolation(file, r)).filter(Boolean);

  test('finds every import form', () => {
    const src = [
      "import { a } from 'one';",
      "import type { B } from 'two';",
      "import * as three from 'three';",
      "import four, { type F } from 'four';",
      "import {\n  five,\n  six,\n} from 'five';",
      "export { x } from 'six';",
      "export * from 'seven';",
      "export type { T } from 'eight';",
      "import 'nine';",
      "const m = await import('ten');",
      "type M = typeof import('eleven');",
      "const r = require(\"twelve\");",
      "import x13 = require('thirteen');",
    ].join('\n');
    expect(importsOf(src).map((r) => r.specifier).sort()).toEqual(
      ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen'].sort(),
    );
    expect(importsOf(src).find((r) => r.specifier === 'five')!.line).toBe(5);
  });

  test('ignores comments and strings that only mention imports, and survives regex literals with quotes', () => {
    const src = [
      "// import { bad } from '../../src/core/errors.js';",
      "/* export * from 'src/agent/jobs.js' */",
      "/**\n * import x from '../../src/cli/main.js'\n */",
      "const quote = /[\"']/g; const slash = /\\/\\//;",
      "const url = 'http://example.com/*not a comment*/';",
      "const ratio = total / count / 2; // a division, then a comment",
      "import { ok } from 'lifeboat/plugin';",
    ].join('\n');
    expect(importsOf(src).map((r) => r.specifier)).toEqual(['lifeboat/plugin']);
  });

  test.each([
    ["import { LifeboatError } from '../../../src/core/errors.js';", /reaches outside plugins\/example\/ \(to src\/core\/errors\.js\)/],
    ["import type { Job } from '../../../src/agent/jobs.js';", /reaches outside/],
    ["export { x } from '../../postgres/sql.js';", /reaches outside plugins\/example\/ \(to plugins\/postgres\/sql\.js\)/],
    ["import x from 'src/core/errors.js';", /names a folder of this repository/],
    ["import x from 'lifeboat/src/core/errors.js';", /not a public entry/],
    ["import x from 'lifeboat';", /not a public entry/],
    ["import x from '/work/main/src/core/errors.js';", /absolute/],
    ["import x from 'file:///work/main/src/core/errors.js';", /absolute/],
    ["import x from '#internal/errors';", /package import/],
    ["const m = await import(modulePath);", /computed module specifier/],
  ])('flags %s', (src, why) => {
    const v = violations(src);
    expect(v).toHaveLength(1);
    expect(v[0]).toMatch(why);
  });

  test.each([
    "import { definePlugin } from 'lifeboat/plugin';",
    "import { runConformance } from 'lifeboat/plugin/testing';",
    "import { readFile } from 'node:fs/promises';",
    "import { execa } from 'execa';",
    "import { S3Client } from '@aws-sdk/client-s3';",
    "import { helper } from '../util.js';", // plugins/example/util.js: same plugin
    "import { deeper } from './deeper/x.js';",
  ])('allows %s', (src) => {
    expect(violations(src)).toEqual([]);
  });
});

describe('plugins use the public SDK only', () => {
  const files = sourceFiles(PLUGINS);

  test('there are plugin sources to check, and the scanner reads their imports', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
    const index = path.join(PLUGINS, 'postgres', 'index.ts');
    expect(files).toContain(index);
    expect(importsOf(readFileSync(index, 'utf8')).map((r) => r.specifier)).toContain('lifeboat/plugin');
  });

  test('no plugin file imports anything but lifeboat/plugin, node: built-ins, npm packages or its own folder', () => {
    const problems: string[] = [];
    for (const file of files) {
      for (const ref of importsOf(readFileSync(file, 'utf8'))) {
        const why = boundaryViolation(file, ref);
        if (why) problems.push(`${path.relative(ROOT, file)}:${ref.line}: ${JSON.stringify(ref.specifier)}: ${why}`);
      }
    }
    expect(problems, 'plugins must import only the public SDK (lifeboat/plugin); grow the SDK instead').toEqual([]);
  });
});

describe('the public SDK entry', () => {
  test("package.json exports['./plugin'] gives src/core/index.ts for types and dist/plugin.js at run time", () => {
    const entry = pkg.exports['./plugin'];
    expect(entry).toEqual({ types: './src/core/index.ts', default: './dist/plugin.js' });
    expect(existsSync(path.join(ROOT, 'src', 'core', 'index.ts'))).toBe(true);
  });

  test('dist/plugin.js is built and exports definePlugin and the SDK', async () => {
    const built = path.join(ROOT, 'dist', 'plugin.js');
    expect(existsSync(built)).toBe(true);
    const sdk = (await import(pathToFileURL(built).href)) as Record<string, unknown>;
    expect(typeof sdk.definePlugin).toBe('function');
    const plugin = { apiVersion: 1, meta: { name: 'example', version: '1.0.0' } };
    expect((sdk.definePlugin as (p: unknown) => unknown)(plugin)).toBe(plugin);
    // the rest of the SDK that plugins rely on comes from the same entry
    for (const name of ['LifeboatError', 'assertSafeKey', 'parseManifest', 'z', 'PLUGIN_API_VERSION']) expect(sdk[name], name).toBeDefined();
    expect(sdk.PLUGIN_API_VERSION).toBe(1);
  });
});
