/**
 * A fake fleet transport for TUI component tests: it answers the agent's
 * JSON-RPC from a recording of a real agent (test/tui/fixtures/*.json, made by
 * test/tui/record-fixtures.ts against a real PostgreSQL cluster).
 *
 * Limits (why it is not the real thing): answers are looked up, not computed.
 * The same method and params get the recorded answers in recorded order (the
 * last one repeats); a request never recorded with those params gets the first
 * answer recorded for the method, or a METHOD_NOT_FOUND error. Job events are
 * replayed after job.start/job.attach answers, in order, a few ms apart.
 * The real agent path is covered by test/e2e/tui.test.ts.
 */
import { PassThrough } from 'node:stream';
import { onLines } from '../../src/protocol/index.js';
import type { Transport, TransportEnd } from '../../src/fleet/transport.js';

export interface Exchange {
  method: string;
  params: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  /** Notifications that followed (job events of the job this call started or attached). */
  events?: { method: string; params: Record<string, unknown> }[];
}

export interface Recording {
  host: string;
  recordedAt: string;
  exchanges: Exchange[];
}

export interface ReplayOptions {
  /** Delay before each answer (ms): a slow host. Infinity: never answers. */
  delayMs?: number;
  /** Delay between replayed job events (ms). */
  eventGapMs?: number;
  /** Every request seen, for assertions. */
  seen?: { method: string; params: Record<string, unknown> }[];
  /** Answers to use instead of the recording's, by method (e.g. 10,000 backups). */
  override?: Record<string, (params: Record<string, unknown>) => unknown>;
}

const canon = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));

export function replayTransport(rec: Recording, o: ReplayOptions = {}): Transport {
  const input = new PassThrough();
  const output = new PassThrough();
  let endClosed!: (e: TransportEnd) => void;
  const closed = new Promise<TransportEnd>((r) => (endClosed = r));
  const used = new Map<string, number>();
  const send = (msg: unknown) => {
    if (!output.writableEnded) output.write(JSON.stringify(msg) + '\n');
  };
  const pick = (method: string, params: Record<string, unknown>): Exchange | undefined => {
    const key = `${method} ${canon(params)}`;
    const same = rec.exchanges.filter((e) => e.method === method && canon(e.params) === canon(params));
    const pool = same.length ? same : rec.exchanges.filter((e) => e.method === method);
    if (!pool.length) return undefined;
    const n = used.get(key) ?? 0;
    used.set(key, n + 1);
    return pool[Math.min(n, pool.length - 1)];
  };
  onLines(input, (line) => {
    const req = JSON.parse(line) as { id: number; method: string; params?: Record<string, unknown> };
    const params = req.params ?? {};
    o.seen?.push({ method: req.method, params });
    const answer = () => {
      const override = o.override?.[req.method];
      if (override) return send({ jsonrpc: '2.0', id: req.id, result: override(params) });
      const ex = pick(req.method, params);
      if (!ex) return send({ jsonrpc: '2.0', id: req.id, error: { code: -32601, message: `unknown method ${req.method} (not in the recording)` } });
      send(ex.error ? { jsonrpc: '2.0', id: req.id, error: ex.error } : { jsonrpc: '2.0', id: req.id, result: ex.result ?? null });
      const events = ex.events ?? [];
      let i = 0;
      const next = () => {
        if (i >= events.length) return;
        send({ jsonrpc: '2.0', ...events[i++]! });
        setTimeout(next, o.eventGapMs ?? 2);
      };
      setTimeout(next, o.eventGapMs ?? 2);
    };
    if (o.delayMs === Infinity) return;
    if (o.delayMs) setTimeout(answer, o.delayMs);
    else setImmediate(answer);
  });
  return {
    description: `replayed agent ${rec.host}`,
    input,
    output,
    closed,
    close: () => {
      output.end();
      endClosed({ code: 0, signal: null, stderr: '' });
    },
  };
}
