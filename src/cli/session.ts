import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { AgentClient, type JobCallbacks } from '../fleet/client.js';
import { spawnLocalAgent, type Transport } from '../fleet/transport.js';
import type { JobType, LogEvent } from '../protocol/index.js';
import { paint } from './format.js';
import { ProgressLine } from './progress.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  /** Inventory name of the host whose agent to use (default: local). */
  host?: string;
  /** Record an unknown SSH host key without asking. */
  acceptNewHostKey?: boolean;
}

/** Exit codes (docs/cli.md): 0 ok, 1 failed, 2 usage or config, 3 partial. */
export const Exit = { OK: 0, FAILED: 1, USAGE: 2, PARTIAL: 3 } as const;

/**
 * The byte channel to the chosen host's agent: spawned here for `local` (the
 * default), else over SSH to the inventory entry named by --host. With --host,
 * --config names a file on that host. SSH code loads only when needed.
 */
export async function openTransport(g: GlobalOptions, hostName: string | undefined = g.host): Promise<Transport> {
  if (!hostName || hostName === 'local') return spawnLocalAgent(g.config ? { configPath: g.config } : {});
  const [{ Inventory }, { spawnSshAgent }] = await Promise.all([import('../fleet/inventory.js'), import('../fleet/ssh-transport.js')]);
  const host = await new Inventory().get(hostName);
  return spawnSshAgent(host, { ...(g.config ? { configPath: g.config } : {}), ...(g.acceptNewHostKey ? { acceptNewHostKey: true } : {}) });
}

/** Connect to the agent (local, or --host over SSH), run `fn`, always close the agent. */
export async function withAgent<T>(g: GlobalOptions, fn: (client: AgentClient) => Promise<T>): Promise<T> {
  const client = new AgentClient(await openTransport(g));
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.close();
    await client.closed();
  }
}

/** Run a job with a progress line, log lines on stderr, and Ctrl-C → cancel. */
export async function runJobWithUi<T>(client: AgentClient, g: GlobalOptions, type: JobType, params: Record<string, unknown>): Promise<T> {
  const progress = new ProgressLine();
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    progress.clear();
    if (interrupts === 1) {
      process.stderr.write('lifeboat: cancelling (Ctrl-C again to leave at once)\n');
      controller.abort();
    } else process.exit(130);
  };
  process.on('SIGINT', onSigint);
  const cb: JobCallbacks = {
    signal: controller.signal,
    onProgress: (p) => progress.update(p),
    onLog: (l) => {
      if (g.quiet && l.level !== 'error' && l.level !== 'warn') return;
      if (l.level === 'debug' && !g.verbose) return;
      progress.clear();
      process.stderr.write(formatLog(l) + '\n');
    },
  };
  try {
    return await client.runJob<T>(type, params, cb);
  } finally {
    progress.clear();
    process.off('SIGINT', onSigint);
  }
}

function formatLog(l: LogEvent): string {
  const s = process.stderr;
  const prefix = l.level === 'error' ? paint('error', 'red', s) : l.level === 'warn' ? paint('warn ', 'yellow', s) : paint(l.level === 'debug' ? 'debug' : 'info ', 'dim', s);
  return `${prefix} ${l.message}`;
}

/** Print an error as one line (plus a hint line) and return the exit code for it. */
export function reportError(err: unknown, g: GlobalOptions): number {
  const e = toLifeboatError(err);
  if (g.json) process.stdout.write(JSON.stringify({ ok: false, error: e.toJSON() }, null, 2) + '\n');
  process.stderr.write(`lifeboat: ${paint('error', 'red', process.stderr)}: ${e.message}\n`);
  if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
  return e.exitCode;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Ask for a typed confirmation on a TTY; without one, require --yes. */
export async function confirmTyped(expected: string, what: string, yes: boolean | undefined): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new LifeboatError('CONFIRMATION_REQUIRED', `${what} needs confirmation`, { hint: 'review the plan (--dry-run), then run again with --yes' });
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Type ${expected} to go ahead, anything else to stop: `);
    if (answer.trim() !== expected) throw new LifeboatError('CONFIRMATION_REQUIRED', 'not confirmed; nothing was changed');
  } finally {
    rl.close();
  }
}

export { LifeboatError };
