import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { LifeboatError } from '../core/errors.js';

/** How a transport ended. */
export interface TransportEnd {
  code: number | null;
  signal: string | null;
  stderr: string;
  /** The transport's own explanation (e.g. "agent command not found", "SSH connection lost"). */
  error?: LifeboatError;
}

/** A byte channel to an agent: a local child process, or an SSH exec channel (ssh-transport.ts). */
export interface Transport {
  readonly description: string;
  readonly input: Writable;
  readonly output: Readable;
  /** Resolves when the channel is gone, with how it ended. */
  readonly closed: Promise<TransportEnd>;
  close(): void;
}

/** How to start the local agent: this same program with `agent --stdio`. */
export function localAgentCommand(): [string, string[]] {
  const override = process.env.LIFEBOAT_AGENT_COMMAND;
  if (override) {
    const parts = override.split(' ').filter(Boolean);
    return [parts[0]!, parts.slice(1)];
  }
  return [process.execPath, [...process.execArgv, process.argv[1]!, 'agent', '--stdio']];
}

/** Spawn the local agent (DESIGN: local = the same agent path, without SSH). */
export function spawnLocalAgent(opts: { configPath?: string } = {}): Transport {
  const [cmd, args] = localAgentCommand();
  if (opts.configPath) args.push('--config', opts.configPath);
  // own process group: Ctrl-C reaches only the CLI, which then cancels the job cleanly
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8000);
    if (process.env.LIFEBOAT_DEBUG) process.stderr.write(d);
  });
  child.stdin.on('error', () => undefined);
  const closed = new Promise<TransportEnd>((resolve) => {
    child.on('error', (err) => resolve({ code: null, signal: null, stderr: String(err) }));
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return {
    description: 'local agent',
    input: child.stdin,
    output: child.stdout,
    closed,
    close: () => child.stdin.end(),
    ...{ pid: child.pid },
  };
}
