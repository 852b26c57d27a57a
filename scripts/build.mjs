// Bundles the CLI/agent and the plugin SDK with esbuild (fast start-up: built
// JavaScript, lazy imports split into chunks). Output: dist/.
import { build } from 'esbuild';
import { renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Build into a private directory and swap it in, so a test run or a running
// agent never sees a half-written dist/ when another build runs at the same time.
const tmp = `${root}/dist.tmp-${process.pid}`;
const old = `${root}/dist.old-${process.pid}`;
rmSync(tmp, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { cli: 'src/cli/main.ts', wal: 'src/cli/wal-main.ts', plugin: 'src/core/index.ts', 'plugin-testing': 'src/core/testing/index.ts' },
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  mainFields: ['module', 'main'],
  alias: { 'lifeboat/plugin': './src/core/index.ts' },
  external: ['vitest', 'ssh2', 'cpu-features'],
  banner: { js: "import { createRequire as __lbCreateRequire } from 'node:module'; const require = __lbCreateRequire(import.meta.url);" },
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
try {
  renameSync(`${root}/dist`, old);
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
renameSync(tmp, `${root}/dist`);
rmSync(old, { recursive: true, force: true });
