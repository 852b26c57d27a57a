import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { BIN, ROOT } from './cli.js';

// A `lifeboat agent --stdio` spoken to directly, one JSON object a line (docs/protocol.md).

export const PROTOCOL_VERSION = 1; // docs/protocol.md: "Protocol version: 1"

export interface RpcMessage {
  jsonrpc: '2.0';
  id?: number | string | null;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

/** A spawned agent and the messages it wrote. */
export class Agent {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stdout line, raw, in order. */
  readonly lines: string[] = [];
  readonly messages: RpcMessage[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private buf = '';
  private nextId = 1;
  private waiters: { match: (m: RpcMessage) => boolean; resolve: (m: RpcMessage) => void }[] = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, 'agent', '--stdio', ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', LIFEBOAT_CONFIG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buf += chunk;
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        this.lines.push(line);
        let msg: RpcMessage;
        try {
          msg = JSON.parse(line) as RpcMessage;
        } catch {
          continue; // reported by the "only JSON lines" test
        }
        this.messages.push(msg);
        this.waiters = this.waiters.filter((w) => (w.match(msg) ? (w.resolve(msg), false) : true));
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(match: (m: RpcMessage) => boolean, what: string, timeoutMs = 20_000): Promise<RpcMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  writeLine(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  /** Send a request and wait for the response with its id. */
  call(method: string, params?: Record<string, unknown>): Promise<RpcMessage> {
    const id = this.nextId++;
    this.writeLine(JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }));
    return this.waitFor((m) => m.id === id && (m.result !== undefined || m.error !== undefined), `response to ${method} (#${id})`);
  }

  hello(protocolVersion = PROTOCOL_VERSION): Promise<RpcMessage> {
    return this.call('agent.hello', { protocolVersion, clientVersion: 'test' });
  }

  /** Close stdin: the agent should finish and exit. */
  async end(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.child.stdin.end();
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`agent did not exit after stdin closed; stderr:\n${this.stderr}`)), 20_000));
    return Promise.race([this.exited, timeout]);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

