/**
 * The TUI's effects: one agent connection per host, opened in parallel, kept
 * refreshed; calls and jobs go through the same AgentClient and RPC methods as
 * the CLI. Everything it learns is dispatched into the store. A slow host is
 * marked slow and never waited for; a dead one is retried with backoff.
 *
 * @module
 */
import { withDeadline } from '../../core/deadline.js';
import { LifeboatError, toLifeboatError, type SerializedError } from '../../core/errors.js';
import type { AgentClient, CallParams } from '../../fleet/client.js';
import type { JobParamsOf, JobType, MethodName, ResultOf } from '../../protocol/index.js';
import type { Action } from '../state/reducer.js';
import type { Store } from '../state/store.js';
import { liveKey, type AppState, type JobRecord } from '../state/model.js';
import { connectClient, type Connector } from './connector.js';

export interface FleetServiceOptions {
  /** How often each host's overview is refreshed (ms). */
  refreshMs?: number;
  /** A call slower than this marks the host slow (ms). */
  slowMs?: number;
  /** Give up on a connection attempt or overview after this long (ms). */
  timeoutMs?: number;
  /** Pause before reconnecting a host that went down (ms, doubled up to 60 s). */
  retryMs?: number;
}

const DEFAULTS: Required<FleetServiceOptions> = { refreshMs: 5000, slowMs: 3000, timeoutMs: 20_000, retryMs: 5000 };

interface HostConn {
  client?: AgentClient;
  connecting?: Promise<AgentClient>;
  refreshing?: Promise<void>;
  retryMs: number;
  retryTimer?: NodeJS.Timeout;
}

/** A call to a host's agent that must answer within `ms`. */
const timeout = <T,>(p: Promise<T>, ms: number, what: string): Promise<T> => withDeadline(p, ms, () => new LifeboatError('CONNECTION_FAILED', `${what} did not answer within ${Math.round(ms / 1000)} s`));

export class FleetService {
  private readonly o: Required<FleetServiceOptions>;
  private readonly conns = new Map<string, HostConn>();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly store: Store<AppState, Action>,
    private readonly connector: Connector,
    options: FleetServiceOptions = {},
  ) {
    this.o = { ...DEFAULTS, ...options };
  }

  private dispatch = (a: Action) => {
    if (!this.closed) this.store.dispatch(a);
  };

  /** List the hosts, connect to all of them in parallel, and keep refreshing. */
  async start(): Promise<void> {
    let hosts: string[];
    try {
      hosts = await this.connector.hosts();
    } catch (err) {
      this.dispatch({ type: 'flash', text: toLifeboatError(err).message, level: 'error' });
      hosts = ['local'];
    }
    this.dispatch({ type: 'hosts/listed', hosts });
    for (const h of hosts) void this.refresh(h);
    this.timer = setInterval(() => {
      for (const h of this.store.getState().hostOrder) if (this.conns.get(h)?.client) void this.refresh(h);
    }, this.o.refreshMs);
    this.timer.unref?.();
  }

  private conn(host: string): HostConn {
    let c = this.conns.get(host);
    if (!c) this.conns.set(host, (c = { retryMs: this.o.retryMs }));
    return c;
  }

  /** The host's client, connecting when needed (one attempt at a time). */
  client(host: string): Promise<AgentClient> {
    // after close nothing connects again: a connection opened then would keep the process alive
    if (this.closed) return Promise.reject(new LifeboatError('CANCELLED', 'the TUI is closing'));
    const c = this.conn(host);
    if (c.client) return Promise.resolve(c.client);
    if (!c.connecting) {
      this.dispatch({ type: 'host/connecting', host });
      c.connecting = timeout(connectClient(this.connector, host), this.o.timeoutMs, `the agent on ${host}`)
        .then((client) => {
          if (this.closed) {
            client.close(); // connected while the TUI was quitting
            throw new LifeboatError('CANCELLED', 'the TUI is closing');
          }
          c.client = client;
          c.retryMs = this.o.retryMs;
          this.dispatch({ type: 'host/up', host, hello: client.hello! });
          void client.closed().then(() => {
            if (c.client === client) {
              c.client = undefined;
              if (!this.closed) this.down(host, new LifeboatError('CONNECTION_FAILED', `lost the connection to ${host}`));
            }
          });
          return client;
        })
        .catch((err: unknown) => {
          this.down(host, err);
          throw err;
        })
        .finally(() => {
          c.connecting = undefined;
        });
    }
    return c.connecting;
  }

  private down(host: string, err: unknown): void {
    const c = this.conn(host);
    this.dispatch({ type: 'host/down', host, error: toLifeboatError(err).toJSON() });
    if (this.closed || c.retryTimer) return;
    c.retryTimer = setTimeout(() => {
      c.retryTimer = undefined;
      void this.refresh(host);
    }, c.retryMs);
    c.retryTimer.unref?.();
    c.retryMs = Math.min(c.retryMs * 2, 60_000);
  }

  /** Ask one host for its overview and jobs; marks it slow while it takes long. */
  refresh(host: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    const c = this.conn(host);
    if (c.refreshing) return c.refreshing;
    const t0 = Date.now();
    const slow = setTimeout(() => this.dispatch({ type: 'host/slow', host, slow: true }), this.o.slowMs);
    slow.unref?.();
    c.refreshing = (async () => {
      try {
        const client = await this.client(host);
        const [clusters, jobs] = await timeout(
          Promise.all([client.call('cluster.overview', {}), client.call('jobs.list', {})]),
          this.o.timeoutMs,
          `the agent on ${host}`,
        );
        const all = new Map<string, JobRecord>();
        for (const j of [...jobs.recent, ...jobs.running]) all.set(j.id, j);
        this.dispatch({ type: 'host/data', host, clusters, jobs: [...all.values()], latencyMs: Date.now() - t0, at: Date.now() });
      } catch (err) {
        if (c.client) this.dispatch({ type: 'host/down', host, error: toLifeboatError(err).toJSON() });
      } finally {
        clearTimeout(slow);
        this.dispatch({ type: 'host/slow', host, slow: false });
        c.refreshing = undefined;
      }
    })();
    return c.refreshing;
  }

  refreshAll(): void {
    for (const h of this.store.getState().hostOrder) void this.refresh(h);
  }

  /** A plain RPC call on a host. */
  async call<M extends MethodName>(host: string, method: M, ...params: CallParams<M>): Promise<ResultOf<M>> {
    const client = await this.client(host);
    return client.call(method, ...params);
  }

  /** Load the cluster view's backups and recoverable window; resolves once the backups are in. */
  loadCluster(host: string, cluster: string): Promise<void> {
    this.dispatch({ type: 'cluster/open', host, cluster });
    return this.reloadCluster(host, cluster);
  }

  async reloadCluster(host: string, cluster: string): Promise<void> {
    void this.load(this.call(host, 'pitr.window', { cluster }), (value) => this.dispatch({ type: 'cluster/window', host, cluster, value: value as never }));
    await this.load(this.call(host, 'catalog.list', { cluster }), (value) => this.dispatch({ type: 'cluster/backups', host, cluster, value }));
  }

  loadDetails(host: string, cluster: string, id: string): void {
    const have = this.store.getState().cluster?.details[id];
    if (have && (have.loading || have.data)) return;
    void this.load(this.call(host, 'catalog.show', { cluster, id }), (value) => this.dispatch({ type: 'cluster/details', host, cluster, id, value: value as never }));
  }

  /** Run a call, reporting loading → data or error through `put`. */
  async load<T>(p: Promise<T>, put: (v: { loading: boolean; data?: T; error?: SerializedError }) => void): Promise<T | undefined> {
    put({ loading: true });
    try {
      const data = await p;
      put({ loading: false, data });
      return data;
    } catch (err) {
      put({ loading: false, error: toLifeboatError(err).toJSON() });
      return undefined;
    }
  }

  /** Start a job on a host and follow it into the store; resolves with its id once started. */
  async startJob<J extends JobType>(host: string, type: J, params: JobParamsOf<J>, label: string): Promise<string> {
    const client = await this.client(host);
    let resolveId!: (id: string) => void;
    let rejectId!: (e: unknown) => void;
    const started = new Promise<string>((res, rej) => {
      resolveId = res;
      rejectId = rej;
    });
    let jobId: string | undefined;
    void client
      .runJob(type, params, {
        onStart: (id) => {
          jobId = id;
          this.dispatch({ type: 'live/start', host, jobId: id, jobType: type, label });
          resolveId(id);
        },
        onProgress: (progress) => this.dispatch({ type: 'live/progress', host, progress }),
        onLog: (log) => this.dispatch({ type: 'live/log', host, log }),
      })
      .then(
        (result) => this.finished(host, jobId!, true, result),
        (err: unknown) => {
          if (!jobId) return rejectId(err);
          this.finished(host, jobId, false, undefined, toLifeboatError(err).toJSON());
        },
      );
    return started;
  }

  /** Follow a job started elsewhere (or earlier): its log tail, then live events. */
  attach(host: string, jobId: string, type: string, label: string): void {
    const s = this.store.getState();
    const existing = s.live[liveKey(host, jobId)];
    if (existing && (existing.status === 'running' || existing.logs.length)) return;
    this.dispatch({ type: 'live/start', host, jobId, jobType: type, label });
    void this.client(host)
      .then((client) =>
        client.attachJob(jobId, { onProgress: (progress) => this.dispatch({ type: 'live/progress', host, progress }), onLog: (log) => this.dispatch({ type: 'live/log', host, log }) }, { tail: 200 }),
      )
      .then(
        (result) => this.finished(host, jobId, true, result),
        (err: unknown) => this.finished(host, jobId, false, undefined, toLifeboatError(err).toJSON()),
      );
  }

  private finished(host: string, jobId: string, ok: boolean, result?: unknown, error?: SerializedError): void {
    // closing ends every attach (its connection is closed): that is not the job's end, and no refresh follows
    if (this.closed) return;
    this.dispatch({ type: 'live/done', host, jobId, ok, ...(result !== undefined ? { result } : {}), ...(error ? { error } : {}) });
    void this.refresh(host);
  }

  /** Ask the agent to cancel a job (the job's own result, CANCELLED, follows). */
  async cancel(host: string, jobId: string): Promise<void> {
    this.dispatch({ type: 'live/cancel-requested', host, jobId });
    await this.call(host, 'job.cancel', { jobId });
  }

  /** Close every connection. Jobs run on in their runners on the agents. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const c of this.conns.values()) {
      if (c.retryTimer) clearTimeout(c.retryTimer);
      c.client?.close();
    }
  }
}
