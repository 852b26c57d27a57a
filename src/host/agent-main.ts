/**
 * The agent's entry point, the same on every database host: `lifeboat agent`
 * (bin/lifeboat.js routes it here, away from the operator's CLI) and the
 * single-file agent that `lifeboat hosts deploy` puts on a host
 * (dist/lifeboat-agent.mjs: everything inlined but node builtins, so the host
 * needs Node.js >= 20 and nothing else; scripts/build.mjs fails the build if
 * ssh2 — operator side only — ends up on this path).
 *
 *   lifeboat [--config FILE] agent --stdio               JSON-RPC on stdin/stdout
 *   lifeboat agent --run-job SPEC --config FILE          a detached job runner (the agent starts these)
 *   node lifeboat.mjs agent --stdio [--config FILE]      the same, deployed
 *   node lifeboat.mjs --version
 *
 * Limits of the deployed file: third-party plugins named in the host's config
 * must be importable there on their own (they cannot resolve `lifeboat/plugin`
 * from this file).
 *
 * @module
 */
import { LIFEBOAT_VERSION } from '../core/version.js';

const HELP = `Usage: lifeboat agent [options]

run the agent (started by lifeboat itself, locally or over SSH)

Options:
  --stdio          speak JSON-RPC on stdin/stdout
  --config <file>  agent config (default: $LIFEBOAT_CONFIG,
                   ~/.config/lifeboat/config.json, /etc/lifeboat/config.json)
  -h, --help       display help for command

The CLI and the TUI start the agent themselves; run lifeboat agent --stdio only
to speak JSON-RPC by hand (docs/protocol.md).
`;

function fail(message: string): never {
  process.stderr.write(`lifeboat agent: ${message}\n(run lifeboat agent --help for usage)\n`);
  process.exit(2);
}

interface AgentArgs {
  configPath?: string;
  stdio: boolean;
  runJob?: string;
}

function parseArgs(args: string[]): AgentArgs {
  const out: AgentArgs = { stdio: false };
  let command: string | undefined;
  const value = (i: number, flag: string): string => {
    const v = args[i];
    if (v === undefined || v === '') fail(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--version' || a === '-V') {
      process.stdout.write(LIFEBOAT_VERSION + '\n');
      process.exit(0);
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(HELP);
      process.exit(0);
    } else if (a === '--stdio') out.stdio = true;
    else if (a === '--run-job') out.runJob = value(++i, a);
    else if (a === '--config') out.configPath = value(++i, a);
    else if (a.startsWith('--config=')) out.configPath = a.slice('--config='.length) || fail('--config needs a value');
    else if (!command && !a.startsWith('-')) command = a;
    else fail(`unknown argument "${a}"`);
  }
  if (command !== 'agent') fail(command ? `unknown command "${command}"` : 'expected: agent --stdio');
  if (!out.stdio && !out.runJob) fail('lifeboat agent needs --stdio (the CLI starts the agent itself; run it by hand only to speak JSON-RPC)');
  return out;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.runJob) {
  // a detached job runner, started by an agent (src/agent/runner.ts)
  const { runDetachedJob } = await import('../agent/runner.js');
  await runDetachedJob(opts.runJob, opts.configPath);
  process.exit(0); // the job and its files are done; don't wait on stray handles
}
// stdout is the protocol channel: nothing else may write there
console.log = console.info = (...a: unknown[]) => process.stderr.write(a.map(String).join(' ') + '\n');
const { runAgent } = await import('../agent/server.js');
await runAgent({ ...(opts.configPath ? { configPath: opts.configPath } : {}), input: process.stdin, output: process.stdout });
