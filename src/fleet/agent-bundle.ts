/**
 * Entry of the single-file agent that `lifeboat hosts deploy` puts on a host
 * (dist/lifeboat-agent.mjs: everything inlined but node builtins, so the host
 * needs Node.js >= 20 and nothing else; scripts/build.mjs fails the build if
 * ssh2 — operator side only — ends up on this path).
 *
 *   node lifeboat.mjs agent --stdio [--config FILE]
 *   node lifeboat.mjs agent --run-job SPEC --config FILE   (the agent's detached runner)
 *   node lifeboat.mjs --version
 *
 * Limits: third-party plugins named in the host's config must be importable
 * there on their own (they cannot resolve `lifeboat/plugin` from this file).
 *
 * @module
 */
import { runAgent } from '../agent/server.js';
import { CLIENT_VERSION } from './client.js';

const usage = 'usage: node lifeboat.mjs agent --stdio [--config FILE]\n(the lifeboat agent deployed by "lifeboat hosts deploy"; the full CLI is the lifeboat package)\n';
const args = process.argv.slice(2);
let configPath: string | undefined;
let stdio = false;
let runJob: string | undefined;
let command: string | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--version' || a === '-V') {
    process.stdout.write(CLIENT_VERSION + '\n');
    process.exit(0);
  } else if (a === '--stdio') stdio = true;
  else if (a === '--run-job') runJob = args[++i];
  else if (a === '--config') configPath = args[++i];
  else if (a.startsWith('--config=')) configPath = a.slice('--config='.length);
  else if (!command && !a.startsWith('-')) command = a;
  else {
    process.stderr.write(`lifeboat agent: unknown argument "${a}"\n${usage}`);
    process.exit(2);
  }
}
if (command === 'agent' && runJob) {
  // a detached job runner, started by this agent itself (src/agent/runner.ts)
  const { runDetachedJob } = await import('../agent/runner.js');
  await runDetachedJob(runJob, configPath);
  process.exit(0);
}
if (command !== 'agent' || !stdio || (args.includes('--config') && !configPath)) {
  process.stderr.write(usage);
  process.exit(2);
}
// stdout is the protocol channel: nothing else may write there
console.log = console.info = (...a: unknown[]) => process.stderr.write(a.map(String).join(' ') + '\n');
await runAgent({ ...(configPath ? { configPath } : {}), input: process.stdin, output: process.stdout });
