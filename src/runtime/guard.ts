/**
 * The plugin boundary on the agent's side: the source plugin and storage of a
 * cluster are wrapped once, when the runtime resolves them (AgentEnv.cluster,
 * AgentEnv.storage), so that
 *
 * - every failure of a call carries `{plugin, operation, host}` (and the
 *   repository, for a storage) without labelling at each call site;
 * - a storage's transient failures (`storageError('transient', ...)`) are
 *   retried with jittered backoff where that is safe: stat, delete, list
 *   before its first object, and opening a read; never a put (its body is a
 *   stream, spent by the first try: the plugin's SDK retries its parts);
 * - at most `capabilities.connections` metadata calls and read openings run at
 *   once (puts are not held: a backup may write two objects at a time);
 * - what a storage says (its description, its errors) is redacted.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import type { LifeboatPlugin, SourceSteps } from '../core/plugin.js';
import { redact, redactError } from '../core/redact.js';
import { storageErrorKind, type AbandonedUpload, type ObjectInfo, type PutOptions, type PutResult, type Storage } from '../core/storage.js';

/** A failure of `operation` of a plugin, labelled (and redacted); anything thrown becomes a LifeboatError. */
export function labelled(err: unknown, label: Record<string, string>, fallback: 'AGENT_FAILED' | 'STORAGE_FAILED' = 'AGENT_FAILED'): LifeboatError {
  const e = toLifeboatError(err, fallback);
  const r = redactError(e);
  return new LifeboatError(r.code, r.message, {
    ...(r.hint ? { hint: r.hint } : {}),
    details: { ...(r.details ?? {}), ...label },
    ...(e.cause !== undefined ? { cause: r.cause ?? e.cause } : {}),
  });
}

type SourcePlugin = LifeboatPlugin<any, any> & { source: NonNullable<LifeboatPlugin['source']> };

/** A source plugin whose every step labels its failures with plugin, step (operation) and host. */
export function guardSource<P extends SourcePlugin>(plugin: P, host: string): P {
  const name = plugin.meta.name;
  const steps = plugin.source.steps as unknown as Record<string, unknown>;
  const wrapped: Record<string, unknown> = {};
  for (const [step, fn] of Object.entries(steps)) {
    if (typeof fn !== 'function') {
      wrapped[step] = fn;
      continue;
    }
    // a step may be synchronous (a plan's step list): it stays so; a promise's failure is labelled when it comes
    wrapped[step] = (...args: unknown[]) => {
      // a PITR step is named by its own name: pitr:restore-base
      const op = step === 'runPitrStep' && typeof args[2] === 'string' ? `pitr:${args[2]}` : step;
      const label = () => ({ plugin: name, step: op, operation: op, host });
      let out: unknown;
      try {
        out = (fn as (...a: unknown[]) => unknown).apply(steps, args);
      } catch (err) {
        throw labelled(err, label());
      }
      if (out && typeof (out as PromiseLike<unknown>).then === 'function') {
        return Promise.resolve(out).catch((err: unknown) => {
          throw labelled(err, label());
        });
      }
      return out;
    };
  }
  return { ...plugin, source: { ...plugin.source, steps: wrapped as unknown as SourceSteps<unknown> } };
}

/** Waits for a free slot of `n`. */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.busy++;
    try {
      return await fn();
    } finally {
      this.busy--;
      this.waiting.shift()?.();
    }
  }
}

export interface GuardOptions {
  /** Tries of a transient failure in all (default 4: waits of about 0.1, 0.4 and 1.6 s). */
  attempts?: number;
  /** The first wait, ms (default 100; each next one 4 times longer, ±50% jitter). */
  baseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** A storage whose calls are labelled, redacted, retried when transient and limited to its connections. */
export function guardStorage(storage: Storage, label: { plugin: string; repository: string; host: string }, opts: GuardOptions = {}): Storage {
  const attempts = opts.attempts ?? 4;
  const base = opts.baseMs ?? 100;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = opts.random ?? Math.random;
  const slots = new Slots(Math.max(1, storage.capabilities.connections || 1));
  const fail = (operation: string, err: unknown) => labelled(err, { ...label, operation }, 'STORAGE_FAILED');
  const retrying = async <T>(operation: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await slots.run(fn);
      } catch (err) {
        if (attempt >= attempts || storageErrorKind(err) !== 'transient') throw fail(operation, err);
        await sleep(base * 4 ** (attempt - 1) * (0.5 + random()));
      }
    }
  };
  const guarded: Storage = {
    capabilities: storage.capabilities,
    description: redact(storage.description),
    async put(key: string, body: Readable, o?: PutOptions): Promise<PutResult> {
      try {
        return await storage.put(key, body, o);
      } catch (err) {
        throw fail('put', err);
      }
    },
    get: (key, o) => retrying('get', () => storage.get(key, o)),
    stat: (key): Promise<ObjectInfo | undefined> => retrying('stat', () => storage.stat(key)),
    delete: (key) => retrying('delete', () => storage.delete(key)),
    list(prefix: string): AsyncIterable<ObjectInfo> {
      return {
        async *[Symbol.asyncIterator]() {
          for (let attempt = 1; ; attempt++) {
            let yielded = false;
            try {
              for await (const o of storage.list(prefix)) {
                yielded = true;
                yield o;
              }
              return;
            } catch (err) {
              // once objects went out, a retry would list them twice
              if (yielded || attempt >= attempts || storageErrorKind(err) !== 'transient') throw fail('list', err);
              await sleep(base * 4 ** (attempt - 1) * (0.5 + random()));
            }
          }
        },
      };
    },
  };
  if (storage.abandonedUploads) {
    const hook = storage.abandonedUploads.bind(storage);
    guarded.abandonedUploads = (o): Promise<AbandonedUpload[]> => retrying('abandonedUploads', () => hook(o));
  }
  if (storage.close) {
    const close = storage.close.bind(storage);
    guarded.close = async () => {
      try {
        await close();
      } catch (err) {
        throw fail('close', err);
      }
    };
  }
  return guarded;
}
