import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { AgentClient, ConnectionLostError, type JobCallbacks } from '../fleet/client.js';
import { connectAgent, openTransport } from '../client/connect.js';
import type { JobParamsOf, JobResultOf, JobType, LogEvent } from '../protocol/index.js';
import type { SshPool } from '../fleet/ssh-transport.js';
import { paint } from '../client/format.js';
import { ProgressLine } from './progress.js';
import { suggest, withGlobals } from '../client/suggest.js';
import { writeHeld } from './quiet.js';

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

/** Connect to the agent (local, or --host over SSH, through `pool` if given), run `fn`, always close the agent. */
export async function withAgent<T>(g: GlobalOptions, fn: (client: AgentClient) => Promise<T>, pool?: SshPool): Promise<T> {
  const host = g.host ?? 'local';
  const client = await connectAgent(openTransport(g, host, pool), host);
  try {
    return await fn(client);
  } finally {
    client.close();
    await client.closed();
  }
}

/** The command that re-attaches to a job from any terminal, with the same -H/--config. */
export function attachCommand(g: GlobalOptions, jobId: string, verb: 'attach' | 'cancel' = 'attach'): string {
  return suggest(g, 'jobs', verb, jobId);
}

/**
 * Run a job with a progress line, log lines on stderr, and Ctrl-C → cancel.
 * The job runs in a detached runner on the agent: a lost connection (SSH cut,
 * this process killed) does not end it; the error then says how to re-attach.
 */
export async function runJobWithUi<J extends JobType>(client: AgentClient, g: GlobalOptions, type: J, params: JobParamsOf<J>): Promise<JobResultOf<J>> {
  return followWithUi(g, (cb) => client.runJob(type, params, cb), { cancelOnInterrupt: true });
}

/** `jobs attach`: follow a running (or finished) job; Ctrl-C leaves it running. */
export async function attachJobWithUi(client: AgentClient, g: GlobalOptions, jobId: string, opts: { fromEvent?: number; tail?: number } = {}): Promise<unknown> {
  return followWithUi(g, (cb) => client.attachJob(jobId, cb, opts), { cancelOnInterrupt: false, jobId });
}

/** `--detach`: start the job and return its id at once; it runs on without this connection. */
export async function startDetached<J extends JobType>(client: AgentClient, g: GlobalOptions, type: J, params: JobParamsOf<J>): Promise<string> {
  const { jobId } = await client.call('job.start', { type, params });
  if (g.json) printJson({ ok: true, detached: true, jobId, type });
  else process.stdout.write(`job ${jobId} (${type}) started; it runs on without this connection
  follow it:  ${attachCommand(g, jobId)}
  cancel it:  ${attachCommand(g, jobId, 'cancel')}
`);
  return jobId;
}

async function followWithUi<T>(g: GlobalOptions, run: (cb: JobCallbacks) => Promise<T>, opts: { cancelOnInterrupt: boolean; jobId?: string }): Promise<T> {
  const progress = new ProgressLine();
  const controller = new AbortController();
  let jobId = opts.jobId;
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    progress.clear();
    if (!opts.cancelOnInterrupt) {
      process.stderr.write(`lifeboat: detached; job ${jobId} goes on. Follow it again: ${attachCommand(g, jobId!)}\n`);
      process.exit(130);
    }
    if (interrupts === 1) {
      process.stderr.write('lifeboat: cancelling (Ctrl-C again to leave at once)\n');
      controller.abort();
    } else {
      if (jobId) process.stderr.write(`lifeboat: left job ${jobId} while it cancels; see it with: ${attachCommand(g, jobId)}\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);
  const cb: JobCallbacks = {
    signal: controller.signal,
    onStart: (id) => (jobId = id),
    onProgress: (p) => progress.update(p),
    onLog: (l) => {
      if (g.quiet && l.level !== 'error' && l.level !== 'warn') return;
      if (l.level === 'debug' && !g.verbose) return;
      progress.clear();
      process.stderr.write(formatLog(l, g) + '\n');
    },
  };
  try {
    return await run(cb);
  } catch (err) {
    // only the channel went away, not the job: it runs on in its runner on the agent.
    // Any other error is the job's own (its done event), whatever its code.
    if (err instanceof ConnectionLostError && !controller.signal.aborted) {
      throw new LifeboatError(err.code, `${err.message}; job ${err.jobId} goes on on the agent`, { hint: `follow it again: ${attachCommand(g, err.jobId)} (or cancel it: ${attachCommand(g, err.jobId, 'cancel')})` });
    }
    throw err;
  } finally {
    progress.clear();
    process.off('SIGINT', onSigint);
  }
}

function formatLog(l: LogEvent, g: GlobalOptions): string {
  const s = process.stderr;
  const prefix = l.level === 'error' ? paint('error', 'red', s) : l.level === 'warn' ? paint('warn ', 'yellow', s) : paint(l.level === 'debug' ? 'debug' : 'info ', 'dim', s);
  return `${prefix} ${withGlobals(g, l.message)}`;
}

/** Print an error as one line (plus a hint line) and return the exit code for it. */
export function reportError(err: unknown, g: GlobalOptions): number {
  const e = toLifeboatError(err);
  if (g.json) process.stdout.write(JSON.stringify({ ok: false, error: e.toJSON() }, null, 2) + '\n');
  // an agent's hint names commands without the -H/--config this run was given
  process.stderr.write(`lifeboat: ${paint('error', 'red', process.stderr)}: ${withGlobals(g, e.message)}\n`);
  if (e.hint) process.stderr.write(`  hint: ${withGlobals(g, e.hint)}\n`);
  return e.exitCode;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * A plan shown on stderr before it is applied, for the confirmation. With
 * --yes there is nothing to confirm: under --quiet it is held with the
 * command's output (written only if the command fails).
 */
export function showBeforeApplying(g: GlobalOptions, text: string, yes: boolean | undefined): void {
  if (g.json) return;
  if (yes) writeHeld(process.stderr, text + '\n');
  else process.stderr.write(text + '\n');
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
