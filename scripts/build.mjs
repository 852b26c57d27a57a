// Bundles the CLI/agent and the plugin SDK with esbuild (fast start-up: built
// JavaScript, lazy imports split into chunks). Output: dist/.
import { build } from 'esbuild';
import { renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Build into a private directory and swap it in, so a test run or a running
// agent never sees a half-written dist/ when another build runs at the same time.
const tmp = `${root}/dist.tmp-${process.pid}`;
const old = `${root}/dist.old-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
/**
 * Ink lays out with yoga-layout, whose wasm loader asks `typeof fetch`: on Node
 * that loads undici and then fetches yoga's own base64 data: URL through it,
 * ~25-35 ms of the TUI's first frame (bench/tui.ts). Told there is no fetch, it
 * decodes the same embedded bytes with atob. Fails the build if yoga changed.
 */
const yogaWithoutFetch = {
  name: 'yoga-without-fetch',
  setup(b) {
    b.onLoad({ filter: /[\\/]yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/ }, async (args) => {
      const src = await readFile(args.path, 'utf8');
      const test = '"function"!=typeof fetch';
      if (src.split(test).length !== 3) throw new Error(`${args.path}: yoga's wasm loader changed (expected two tests of \`${test}\`); check the TUI's start-up`);
      return { contents: src.replaceAll(test, 'true'), loader: 'js' };
    });
  },
};
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli/main.ts', agent: 'src/host/agent-main.ts', 'wal-full': 'src/wal/full.ts', plugin: 'src/core/index.ts', 'plugin-testing': 'src/core/testing/index.ts' },
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  mainFields: ['module', 'main'],
  alias: { 'lifeboat/plugin': './src/core/index.ts', 'react-devtools-core': './src/tui/stubs/react-devtools-core.ts' },
  external: ['vitest', 'ssh2', 'cpu-features'],
  banner: { js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);" },
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [yogaWithoutFetch],
  logLevel: 'warning',
});
// The agent that `lifeboat hosts deploy` copies to a host: one file, node
// builtins only (no splitting, no node_modules on the host). ssh2 is the
// operator's side: if anything on the agent path imports it, fail here.
const agent = await build({
  absWorkingDir: root,
  entryPoints: { 'lifeboat-agent': 'src/host/agent-main.ts' },
  outdir: tmp,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  alias: { 'lifeboat/plugin': './src/core/index.ts' },
  external: ['ssh2', 'cpu-features'],
  banner: { js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);" },
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
  logLevel: 'warning',
});
for (const [file, out] of Object.entries(agent.metafile.outputs)) {
  const bad = out.imports.filter((i) => !i.path.startsWith('node:') && !builtinModules.includes(i.path));
  if (bad.length) throw new Error(`${file}: the agent bundle must need only node builtins, but imports ${bad.map((i) => i.path).join(', ')}`);
}
// archive_command / restore_command: one file, no chunks (a few ms less to load,
// once per 16 MiB of WAL); for configs its light reading does not cover it
// imports the wal-full entry above, and only then.
await build({
  absWorkingDir: root,
  entryPoints: { wal: 'src/host/wal-main.ts' },
  outdir: tmp,
  bundle: true,
  splitting: false,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  plugins: [{ name: 'wal-full-external', setup: (b) => b.onResolve({ filter: /^\.\/full\.js$/ }, () => ({ path: './wal-full.js', external: true })) }],
  logLevel: 'warning',
});
try {
  renameSync(`${root}/dist`, old);
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
renameSync(tmp, `${root}/dist`);
rmSync(old, { recursive: true, force: true });
