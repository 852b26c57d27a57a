import type { z } from 'zod';
import { LifeboatError, type SerializedError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';
import {
  Events,
  Jobs,
  Methods,
  Notifications,
  onLines,
  PROTOCOL_VERSION,
  writeMessage,
  type DoneEvent,
  type HelloResult,
  type JobParamsOf,
  type JobResultOf,
  type JobType,
  type LogEvent,
  type MethodName,
  type ParamsOf,
  type ProgressEvent,
  type ResultOf,
} from '../protocol/index.js';
import type { Transport } from './transport.js';

import { LIFEBOAT_VERSION } from '../core/version.js';

/** A method's params: optional when every field is. */
export type CallParams<M extends MethodName> = {} extends ParamsOf<M> ? [params?: ParamsOf<M>] : [params: ParamsOf<M>];

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
  private readonly early = new Map<string, { logs: LogEvent[]; done?: DoneEvent; bad?: LifeboatError }>();
  private gone?: LifeboatError;
  hello?: HelloResult;

  constructor(private readonly transport: Transport) {
    onLines(transport.output, (line) => this.onLine(line));
    void transport.closed.then(({ code, signal, stderr, error }) => {
      const tail = stderr.trim().split('\n').filter(Boolean).slice(-1)[0];
      // a PROTOCOL failure (fail()) closed it: that stays the reason
      this.gone ??= error ?? new LifeboatError('AGENT_FAILED', `${transport.description} ended (${signal ? `signal ${signal}` : `exit code ${code}`})${tail ? `: ${tail}` : ''}`, {
        hint: 'run with LIFEBOAT_DEBUG=1 to see the agent log',
      });
      for (const p of this.pending.values()) p.reject(this.gone);
      this.pending.clear();
      for (const w of this.jobWaiters.values()) w.lost(this.gone);
      this.jobWaiters.clear();
    });
  }

  /**
   * What the agent sent that the protocol does not allow: a PROTOCOL error naming
   * the message and the field, for the call or the job it belongs to. The value
   * is never used as if it were right.
   */
  private malformed(what: string, error: z.ZodError): LifeboatError {
    const i = error.issues[0]!;
    return new LifeboatError('PROTOCOL', `${this.transport.description}: the agent sent a malformed ${what} (${formatPath(i.path)}: ${i.message})`, {
      hint: 'the agent may be another lifeboat version: compare them with lifeboat hosts test',
    });
  }

  /** The channel cannot be trusted any more: everything waiting fails with `e`, and it is closed. */
  private fail(e: LifeboatError): void {
    if (this.gone) return;
    this.gone = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    for (const w of this.jobWaiters.values()) w.lost(e);
    this.jobWaiters.clear();
    this.transport.close();
  }

  private onLine(line: string): void {
    let msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: { message?: unknown; data?: SerializedError } };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not protocol: ignore (agents write logs to stderr)
    }
    if (!msg || typeof msg !== 'object') return;
    if (typeof msg.method === 'string') {
      this.onNotification(msg.method, msg.params);
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) {
      p.reject(msg.error.data ? LifeboatError.fromJSON(msg.error.data) : new LifeboatError('PROTOCOL', String(msg.error.message ?? 'error without a message')));
    } else if (!('result' in msg)) {
      p.reject(new LifeboatError('PROTOCOL', `${this.transport.description}: the agent sent a response with neither result nor error`));
    } else p.resolve(msg.result);
  }

  private onNotification(method: string, params: unknown): void {
    const jobId = (params as { jobId?: unknown } | undefined)?.jobId;
    if (!Object.hasOwn(Notifications, method)) return; // a newer agent's notification: not ours to read
    if (typeof jobId !== 'string') {
      // nothing to tie it to: the channel is out of step with the protocol
      this.fail(new LifeboatError('PROTOCOL', `${this.transport.description}: the agent sent a ${method} notification without a job id`, { hint: 'the agent may be another lifeboat version: compare them with lifeboat hosts test' }));
      return;
    }
    const parsed = Notifications[method as keyof typeof Notifications].safeParse(params);
    const w = this.jobWaiters.get(jobId);
    if (!parsed.success) {
      const e = this.malformed(`${method} notification for job ${jobId}`, parsed.error);
      if (w) {
        this.jobWaiters.delete(jobId);
        w.lost(e);
      } else this.early.set(jobId, { ...(this.early.get(jobId) ?? { logs: [] }), bad: e });
      return;
    }
    const ev = params as ProgressEvent & LogEvent & DoneEvent; // checked just above; the agent's own values
    if (!w) {
      // events can arrive before job.start's response is processed
      const e = this.early.get(jobId) ?? { logs: [] };
      if (method === Events.log) e.logs.push(ev);
      if (method === Events.done) e.done = ev;
      this.early.set(jobId, e);
      return;
    }
    if (method === Events.progress) w.onProgress?.(ev);
    else if (method === Events.log) w.onLog?.(ev);
    else if (method === Events.done) {
      this.jobWaiters.delete(jobId);
      w.done(ev);
    }
  }

  /**
   * Call a method of the protocol (src/protocol/methods.ts): params typed by the
   * method, the result checked against its schema before it is returned (a
   * malformed one is a PROTOCOL error, never a wrong value). The value is the
   * agent's own JSON, so `--json` shows what the agent sent.
   */
  async call<M extends MethodName>(method: M, ...args: CallParams<M>): Promise<ResultOf<M>> {
    const raw = await this.send(method, (args[0] ?? {}) as Record<string, unknown>);
    const checked = (Methods[method].result as z.ZodType).safeParse(raw);
    if (!checked.success) throw this.malformed(`result for ${method}`, checked.error);
    return raw as ResultOf<M>;
  }

  private send(method: string, params: Record<string, unknown>): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      writeMessage(this.transport.input, { jsonrpc: '2.0', id, method, params });
    });
  }

  /** Handshake: versions must match (a mismatch is a clear error). */
  async connect(): Promise<HelloResult> {
    this.hello = await this.call('agent.hello', { protocolVersion: PROTOCOL_VERSION, clientVersion: LIFEBOAT_VERSION });
    return this.hello;
  }

  /** Start a job and follow it to the end; resolves with its result or throws its error. */
  async runJob<J extends JobType>(type: J, params: JobParamsOf<J>, cb: JobCallbacks = {}): Promise<JobResultOf<J>> {
    const { jobId } = await this.call('job.start', { type, params: params as Record<string, unknown> });
    cb.onStart?.(jobId);
    return this.followJob(jobId, type, cb) as Promise<JobResultOf<J>>;
  }

  /**
   * Re-attach to a job (detached runners outlive connections): replays its log
   * tail (or every event from `fromEvent`) and latest progress, then follows it.
   */
  async attachJob(jobId: string, cb: JobCallbacks = {}, opts: { fromEvent?: number; tail?: number } = {}): Promise<unknown> {
    const rec = await this.call('job.attach', { jobId, ...opts });
    return this.followJob(jobId, (Object.hasOwn(Jobs, rec.type) ? rec.type : undefined) as JobType | undefined, cb);
  }

  /**
   * Wait for a started or attached job's done event; its error is thrown. When
   * the connection ends first, a ConnectionLostError is (the job goes on).
   */
  private async followJob(jobId: string, type: JobType | undefined, cb: JobCallbacks): Promise<unknown> {
    const done = await new Promise<DoneEvent>((resolve, reject) => {
      const early = this.early.get(jobId);
      this.early.delete(jobId);
      for (const l of early?.logs ?? []) cb.onLog?.(l);
      if (early?.bad) return reject(early.bad);
      if (early?.done) return resolve(early.done);
      if (this.gone) return reject(new ConnectionLostError(jobId, this.gone));
      this.jobWaiters.set(jobId, { ...cb, done: resolve, lost: (e) => reject(e.code === 'PROTOCOL' ? e : new ConnectionLostError(jobId, e)) });
      cb.signal?.addEventListener('abort', () => void this.call('job.cancel', { jobId }).catch(() => undefined), { once: true });
    });
    if (!done.ok) throw LifeboatError.fromJSON(done.error ?? { code: 'INTERNAL', message: `job ${jobId} failed` });
    if (type) {
      const checked = (Jobs[type].result as z.ZodType).safeParse(done.result);
      if (!checked.success) throw this.malformed(`result for ${type} job ${jobId}`, checked.error);
    }
    return done.result;
  }

  close(): void {
    this.transport.close();
  }

  async closed(): Promise<void> {
    await this.transport.closed;
  }
}
