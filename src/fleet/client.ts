import { LifeboatError, type SerializedError } from '../core/errors.js';
import { Events, onLines, PROTOCOL_VERSION, writeMessage, type DoneEvent, type HelloResult, type JobType, type LogEvent, type ProgressEvent } from '../protocol/index.js';
import type { Transport } from './transport.js';

import { LIFEBOAT_VERSION } from '../core/version.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/**
 * Following a job ended because the connection to its agent did (SSH cut, agent
 * killed), not because the job did: it runs on in its detached runner. Only the
 * client knows this; a job's own error, whatever its code, arrives in its done
 * event and is thrown as the plain LifeboatError it is.
 */
export class ConnectionLostError extends LifeboatError {
  constructor(
    readonly jobId: string,
    lost: LifeboatError,
  ) {
    super(lost.code, lost.message, { ...(lost.hint ? { hint: lost.hint } : {}), ...(lost.details ? { details: lost.details } : {}) });
  }
}

export interface JobCallbacks {
  onProgress?: (p: ProgressEvent) => void;
  onLog?: (l: LogEvent) => void;
  onStart?: (jobId: string) => void;
  /** Abort → `job.cancel` is sent; the job's own result (CANCELLED) still arrives. */
  signal?: AbortSignal;
}

/** JSON-RPC client over any transport; rebuilds agent errors as LifeboatErrors. */
export class AgentClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly jobWaiters = new Map<string, JobCallbacks & { done: (e: DoneEvent) => void; lost: (e: LifeboatError) => void }>();
  private readonly early = new Map<string, { logs: LogEvent[]; done?: DoneEvent }>();
  private gone?: LifeboatError;
  hello?: HelloResult;

  constructor(private readonly transport: Transport) {
    onLines(transport.output, (line) => this.onLine(line));
    void transport.closed.then(({ code, signal, stderr, error }) => {
      const tail = stderr.trim().split('\n').filter(Boolean).slice(-1)[0];
      this.gone = error ?? new LifeboatError('AGENT_FAILED', `${transport.description} ended (${signal ? `signal ${signal}` : `exit code ${code}`})${tail ? `: ${tail}` : ''}`, {
        hint: 'run with LIFEBOAT_DEBUG=1 to see the agent log',
      });
      for (const p of this.pending.values()) p.reject(this.gone);
      this.pending.clear();
      for (const w of this.jobWaiters.values()) w.lost(this.gone);
      this.jobWaiters.clear();
    });
  }

  private onLine(line: string): void {
    let msg: { id?: number; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { message: string; data?: SerializedError } };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not protocol: ignore (agents write logs to stderr)
    }
    if (msg.method) {
      this.onNotification(msg.method, msg.params ?? {});
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) {
      p.reject(msg.error.data ? LifeboatError.fromJSON(msg.error.data) : new LifeboatError('PROTOCOL', msg.error.message));
    } else p.resolve(msg.result);
  }

  private onNotification(method: string, params: Record<string, unknown>): void {
    const jobId = params.jobId as string;
    const w = this.jobWaiters.get(jobId);
    if (!w) {
      // events can arrive before job.start's response is processed
      const e = this.early.get(jobId) ?? { logs: [] };
      if (method === Events.log) e.logs.push(params as unknown as LogEvent);
      if (method === Events.done) e.done = params as unknown as DoneEvent;
      this.early.set(jobId, e);
      return;
    }
    if (method === Events.progress) w.onProgress?.(params as unknown as ProgressEvent);
    else if (method === Events.log) w.onLog?.(params as unknown as LogEvent);
    else if (method === Events.done) {
      this.jobWaiters.delete(jobId);
      w.done(params as unknown as DoneEvent);
    }
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      writeMessage(this.transport.input, { jsonrpc: '2.0', id, method, params });
    });
  }

  /** Handshake: versions must match (a mismatch is a clear error). */
  async connect(): Promise<HelloResult> {
    this.hello = await this.call<HelloResult>('agent.hello', { protocolVersion: PROTOCOL_VERSION, clientVersion: LIFEBOAT_VERSION });
    return this.hello;
  }

  /** Start a job and follow it to the end; resolves with its result or throws its error. */
  async runJob<T>(type: JobType, params: Record<string, unknown>, cb: JobCallbacks = {}): Promise<T> {
    const { jobId } = await this.call<{ jobId: string }>('job.start', { type, params });
    cb.onStart?.(jobId);
    return this.followJob<T>(jobId, cb);
  }

  /**
   * Re-attach to a job (detached runners outlive connections): replays its log
   * tail (or every event from `fromEvent`) and latest progress, then follows it.
   */
  async attachJob<T>(jobId: string, cb: JobCallbacks = {}, opts: { fromEvent?: number; tail?: number } = {}): Promise<T> {
    await this.call('job.attach', { jobId, ...opts });
    return this.followJob<T>(jobId, cb);
  }

  /**
   * Wait for a started or attached job's done event; its error is thrown. When
   * the connection ends first, a ConnectionLostError is (the job goes on).
   */
  private async followJob<T>(jobId: string, cb: JobCallbacks): Promise<T> {
    const done = await new Promise<DoneEvent>((resolve, reject) => {
      const early = this.early.get(jobId);
      this.early.delete(jobId);
      for (const l of early?.logs ?? []) cb.onLog?.(l);
      if (early?.done) return resolve(early.done);
      if (this.gone) return reject(new ConnectionLostError(jobId, this.gone));
      this.jobWaiters.set(jobId, { ...cb, done: resolve, lost: (e) => reject(new ConnectionLostError(jobId, e)) });
      cb.signal?.addEventListener('abort', () => void this.call('job.cancel', { jobId }).catch(() => undefined), { once: true });
    });
    if (!done.ok) throw LifeboatError.fromJSON(done.error ?? { code: 'INTERNAL', message: `job ${jobId} failed` });
    return done.result as T;
  }

  close(): void {
    this.transport.close();
  }

  async closed(): Promise<void> {
    await this.transport.closed;
  }
}
