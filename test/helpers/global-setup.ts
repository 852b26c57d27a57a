import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** End-to-end tests run the built CLI (bin/lifeboat.js → dist/): build it when stale. */
export default function setup(): void {
  const dist = path.join(root, 'dist', 'cli.js');
  const stale = !existsSync(dist) || Math.max(newest(path.join(root, 'src')), newest(path.join(root, 'plugins'))) > statSync(dist).mtimeMs;
  if (stale) execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
