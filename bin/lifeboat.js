#!/usr/bin/env node
// Entry point: runs the built program (built JavaScript starts in ~0.1 s; npm run build makes dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Three entry points, so each loads only what it needs: archive_command /
// restore_command take a short path (no commander, no UI), the agent its own
// (src/host/), everything else the CLI.
const args = process.argv.slice(2);
const first = args.findIndex((a, i) => !a.startsWith('-') && !['--config'].includes(args[i - 1] ?? ''));
const entry = args[first] === 'wal' && ['push', 'fetch'].includes(args[first + 1] ?? '') ? 'wal.js' : args[first] === 'agent' ? 'agent.js' : 'cli.js';
const built = fileURLToPath(new URL(`../dist/${entry}`, import.meta.url));
if (!existsSync(built)) {
  process.stderr.write('lifeboat: not built yet: run "npm run setup" (or "npm run build") in ' + fileURLToPath(new URL('..', import.meta.url)) + '\n');
  process.exit(2);
}
await import(built);
