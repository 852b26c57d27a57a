/**
 * Plugin discovery (issue 13): built-ins, the config's "plugins", and installed
 * npm packages named lifeboat-plugin-* next to the config; `lifeboat plugins
 * list` shows each with its version, plugin API and where it came from; a
 * package built for another plugin API, or one that does not load, stops the
 * config with one line naming it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { lifeboat } from '../helpers/cli.js';
import { discoverPackages, packageEntry, PluginRegistry } from '../../src/runtime/plugins.js';

let dir: string;
let config: string;
const storagePlugin = (name: string, version: string, apiVersion = 1) =>
  `export default { apiVersion: ${apiVersion}, meta: { name: '${name}', version: '${version}', description: 'test ${name}' }, storage: { configSchema: { safeParse: (v) => ({ success: true, data: v }) }, create: () => { throw new Error('not in this test'); } } };\n`;

function pkg(name: string, files: Record<string, string>): void {
  const at = path.join(dir, 'node_modules', ...name.split('/'));
  mkdirSync(at, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(path.join(at, f), text);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-plugins-'));
  config = path.join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ repositories: { r: { type: 'local', path: path.join(dir, 'repo') } }, clusters: {} }));
  pkg('lifeboat-plugin-vault', { 'package.json': JSON.stringify({ name: 'lifeboat-plugin-vault', type: 'module', exports: { '.': { import: './main.js' } } }), 'main.js': storagePlugin('vault', '2.1.0') });
  pkg('@acme/lifeboat-plugin-sftp', { 'package.json': JSON.stringify({ name: '@acme/lifeboat-plugin-sftp', type: 'module', main: 'lib.js' }), 'lib.js': storagePlugin('sftp', '0.3.0') });
  pkg('not-a-lifeboat-plugin', { 'package.json': '{}', 'index.js': 'throw new Error("must not be loaded")' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('installed lifeboat-plugin-* packages are found (scoped ones too), and only those', () => {
  expect(discoverPackages(path.join(dir, 'node_modules')).map((p) => p.name)).toEqual(['@acme/lifeboat-plugin-sftp', 'lifeboat-plugin-vault']);
  expect(packageEntry(path.join(dir, 'node_modules', 'lifeboat-plugin-vault'))).toBe(path.join(dir, 'node_modules', 'lifeboat-plugin-vault', 'main.js'));
  expect(packageEntry(path.join(dir, 'node_modules', '@acme', 'lifeboat-plugin-sftp'))).toBe(path.join(dir, 'node_modules', '@acme', 'lifeboat-plugin-sftp', 'lib.js'));
});

test('plugins list shows built-ins and the installed ones with version, API and origin', async () => {
  const r = await lifeboat(['--json', 'plugins', 'list'], { config });
  expect(r.code, r.stderr).toBe(0);
  const byName = Object.fromEntries((r.json.plugins as { name: string }[]).map((p) => [p.name, p]));
  expect(byName.postgres).toMatchObject({ kinds: ['source'], from: 'built-in', apiVersion: 1 });
  expect(byName.local).toMatchObject({ kinds: ['storage'], from: 'built-in' });
  expect(byName.vault).toMatchObject({ version: '2.1.0', apiVersion: 1, kinds: ['storage'], from: 'npm package lifeboat-plugin-vault' });
  expect(byName.sftp).toMatchObject({ version: '0.3.0', from: 'npm package @acme/lifeboat-plugin-sftp' });
  const text = await lifeboat(['plugins', 'list'], { config });
  expect(text.stdout).toMatch(/^vault\s+2\.1\.0\s+1\s+storage\s+npm package lifeboat-plugin-vault$/m);
});

test('a package built for another plugin API is refused with one line naming it and both versions', async () => {
  pkg('lifeboat-plugin-future', { 'package.json': JSON.stringify({ type: 'module' }), 'index.js': storagePlugin('future', '9.0.0', 2) });
  try {
    const r = await lifeboat(['plugins', 'list'], { config });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('plugin future (npm package lifeboat-plugin-future) speaks plugin API 2, this lifeboat speaks 1');
    const list = await lifeboat(['list'], { config });
    expect(list.code).toBe(2);
    expect(list.stderr).toContain('speaks plugin API 2');
  } finally {
    rmSync(path.join(dir, 'node_modules', 'lifeboat-plugin-future'), { recursive: true, force: true });
  }
});

test('a second plugin with a name already taken is an error, not a silent replacement', async () => {
  const registry = new PluginRegistry();
  await registry.load([], dir);
  expect(() => registry.add({ apiVersion: 1, meta: { name: 'vault', version: '1', description: '' } } as never, './my-vault.mjs')).toThrow('plugin ./my-vault.mjs is named "vault", as plugin npm package lifeboat-plugin-vault already is');
});
