import { Readable, addAbortSignal } from 'node:stream';
import { LifeboatError } from '../errors.js';
import { PLUGIN_API_VERSION, type LifeboatPlugin, type StoragePlugin } from '../plugin.js';
import { z } from 'zod';
import { assertSafeKey, type ObjectInfo, type PutOptions, type PutResult, type Storage, type StorageCapabilities } from '../storage.js';

/** The storage operations a fault can hit. */
export type StorageOp = 'put' | 'get' | 'stat' | 'list' | 'delete';

/** Which keys a fault hits: the exact key, a pattern, or a predicate (for `list`: the prefix). */
export type KeyMatch = string | RegExp | ((key: string) => boolean);

/**
 * A failure the storage injects, as data. Faults are checked after key
 * validation (a hostile key is still KEY_INVALID), in order; the first that
 * matches fires.
 */
export interface StorageFault {
  op: StorageOp;
  /** Default: every key. */
  key?: KeyMatch;
  /**
   * `put`: fail once this many body bytes have arrived (mid-stream; a shorter
   * body is stored and the fault stays). `get`: the returned stream delivers at
   * most this many bytes, then errors (a short read). Default: fail at once,
   * before any byte.
   */
  afterBytes?: number;
  /** What to fail with; default a STORAGE_FAILED naming the op and key. */
  error?: Error | ((key: string) => Error);
  /** How many times it fires, then it is gone; default: every time. */
  times?: number;
}

export interface MemoryStorageOptions {
  faults?: StorageFault[];
  /** Override the declared capabilities (e.g. `randomAccess: false`). */
  capabilities?: Partial<StorageCapabilities>;
  description?: string;
}

/** One call the storage received (valid keys only), in order. */
export interface StorageCall {
  op: StorageOp;
  /** The key, or the prefix for `list`. */
  key: string;
  /** An injected fault fired on this call. */
  faulted: boolean;
}

interface Stored {
  data: Buffer;
  mtimeMs: number;
}

const CHUNK = 64 * 1024;

const MemoryConfigSchema = z.object({}).strict();
type MemoryConfig = z.infer<typeof MemoryConfigSchema>;

function matches(m: KeyMatch | undefined, key: string): boolean {
  if (m === undefined) return true;
  if (typeof m === 'string') return m === key;
  if (m instanceof RegExp) {
    m.lastIndex = 0; // a /g pattern is stateful
    return m.test(key);
  }
  return m(key);
}

const notFound = (key: string) => new LifeboatError('NOT_FOUND', `object ${JSON.stringify(key)} not found`);

/**
 * A `Storage` in process memory, for tests: it honours the whole contract
 * (`storageConformance` runs on it) and fails where a test asks it to.
 *
 * ```ts
 * const storage = new MemoryStorage({
 *   faults: [{ op: 'put', key: /manifest\.json$/, error: () => new LifeboatError('STORAGE_FAILED', 'disk full') }],
 * });
 * storage.failNext('put', /\.zst$/, undefined, { afterBytes: 1024 }); // one put, mid-stream
 * // ... run the code under test ...
 * expect(storage.keys()).toEqual([]);           // nothing was left behind
 * ```
 *
 * Objects are kept whole in memory: keep them small (the conformance suite's
 * large object at a few MiB, `largeObjectBytes`).
 */
export class MemoryStorage implements Storage {
  readonly capabilities: StorageCapabilities;
  readonly description: string;
  /** Active faults; tests may push to or splice this list directly. */
  readonly faults: StorageFault[];
  /** Every call with a valid key, in order (what the code under test asked). */
  readonly calls: StorageCall[] = [];
  readonly #objects = new Map<string, Stored>();

  constructor(opts: MemoryStorageOptions = {}) {
    this.capabilities = { randomAccess: true, atomicReplace: true, connections: 8, ...opts.capabilities };
    this.description = opts.description ?? 'memory:';
    this.faults = [...(opts.faults ?? [])];
  }

  /** Fail the next `op` on a matching key (once), e.g. `failNext('put', /manifest\.json$/)`. */
  failNext(op: StorageOp, key?: KeyMatch, error?: StorageFault['error'], opts: { afterBytes?: number } = {}): this {
    this.faults.push({ op, ...(key !== undefined ? { key } : {}), ...(error ? { error } : {}), ...opts, times: 1 });
    return this;
  }

  /** Remove every fault. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Keys of complete objects starting with `prefix`, sorted. */
  keys(prefix = ''): string[] {
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** A copy of an object's bytes, or `undefined` if there is none. */
  bytes(key: string): Buffer | undefined {
    const obj = this.#objects.get(key);
    return obj ? Buffer.from(obj.data) : undefined;
  }

  /** Store an object directly (no faults, no call recorded): to set up a test. */
  seed(key: string, data: Buffer | string): void {
    assertSafeKey(key);
    this.#objects.set(key, { data: Buffer.from(data), mtimeMs: Date.now() });
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    try {
      assertSafeKey(key);
    } catch (err) {
      body.destroy();
      throw err;
    }
    const { signal, ifNoneMatch = false } = opts;
    const call = this.#record('put', key);
    let fault = this.#fault('put', key);
    const chunks: Buffer[] = [];
    let size = 0;
    let injected: Error | undefined;
    try {
      signal?.throwIfAborted();
      if (fault && fault.afterBytes === undefined) throw (injected = this.#fire(fault, call));
      if (signal) addAbortSignal(signal, body); // a stalled body still ends on cancel
      for await (const chunk of body) {
        const buf = Buffer.from(chunk as Uint8Array);
        chunks.push(buf);
        size += buf.length;
        if (fault && size >= fault.afterBytes!) {
          if (this.faults.includes(fault)) throw (injected = this.#fire(fault, call));
          fault = undefined; // used up meanwhile by a concurrent put
        }
      }
      if (fault && size >= fault.afterBytes! && this.faults.includes(fault)) throw (injected = this.#fire(fault, call)); // afterBytes 0, empty body
      signal?.throwIfAborted();
    } catch (err) {
      if (!body.destroyed) body.destroy();
      if (injected) throw injected;
      if (signal?.aborted) throw new LifeboatError('CANCELLED', `put ${key} cancelled`, { cause: err });
      if (err instanceof LifeboatError) throw err;
      throw new LifeboatError('STORAGE_FAILED', `put ${key} failed: ${(err as Error | undefined)?.message ?? String(err)}`, { cause: err });
    }
    // the commit point: checked and set in one synchronous step, so concurrent puts cannot both win
    if (ifNoneMatch && this.#objects.has(key)) {
      throw new LifeboatError('STORAGE_FAILED', `object ${JSON.stringify(key)} already exists`, { details: { key, reason: 'exists' } });
    }
    this.#objects.set(key, { data: Buffer.concat(chunks, size), mtimeMs: Date.now() });
    return { key, size };
  }

  async get(key: string, opts: { range?: [number, number]; signal?: AbortSignal } = {}): Promise<Readable> {
    assertSafeKey(key);
    const call = this.#record('get', key);
    const fault = this.#fault('get', key);
    if (fault && fault.afterBytes === undefined) throw this.#fire(fault, call);
    if (opts.signal?.aborted) throw new LifeboatError('CANCELLED', `get ${key} cancelled`);
    const obj = this.#objects.get(key);
    if (!obj) throw notFound(key);
    let data = obj.data; // a snapshot: a later put or delete does not change this read
    if (opts.range) {
      const [start, end] = opts.range;
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
        throw new LifeboatError('STORAGE_FAILED', `invalid range [${start}, ${end}]`);
      }
      data = data.subarray(start, end + 1);
    }
    const failAt = Math.min(fault?.afterBytes ?? Infinity, data.length);
    const error = fault ? this.#fire(fault, call) : undefined;
    let offset = 0;
    const stream = new Readable({
      highWaterMark: CHUNK,
      read() {
        if (offset >= failAt && error) return void this.destroy(error);
        if (offset >= data.length) return void this.push(null);
        const n = Math.min(CHUNK, data.length - offset, failAt - offset);
        this.push(data.subarray(offset, offset + n));
        offset += n;
      },
    });
    if (opts.signal) addAbortSignal(opts.signal, stream);
    return stream;
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    this.#check('stat', key);
    const obj = this.#objects.get(key);
    return obj ? { key, size: obj.data.length, mtimeMs: obj.mtimeMs } : undefined;
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertSafeKey(prefix, { allowPrefix: true });
    this.#check('list', prefix);
    for (const key of this.keys(prefix)) {
      const obj = this.#objects.get(key);
      if (obj) yield { key, size: obj.data.length, mtimeMs: obj.mtimeMs }; // deleted meanwhile: skipped
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    this.#check('delete', key);
    this.#objects.delete(key);
  }

  /** The first live fault for this op and key. */
  #fault(op: StorageOp, key: string): StorageFault | undefined {
    return this.faults.find((f) => f.op === op && (f.times === undefined || f.times > 0) && matches(f.key, key));
  }

  /** Count a fault as fired (removing it when used up), mark the call, and build its error. */
  #fire(fault: StorageFault, call: StorageCall): Error {
    if (fault.times !== undefined && --fault.times <= 0 && this.faults.includes(fault)) this.faults.splice(this.faults.indexOf(fault), 1);
    call.faulted = true;
    if (typeof fault.error === 'function') return fault.error(call.key);
    return fault.error ?? new LifeboatError('STORAGE_FAILED', `injected fault: ${call.op} ${call.key}`, { details: { key: call.key, op: call.op, injected: true } });
  }

  /** Record a stat/list/delete call, failing it if a fault says so. */
  #check(op: StorageOp, key: string): void {
    const call = this.#record(op, key);
    const fault = this.#fault(op, key);
    if (fault) throw this.#fire(fault, call);
  }

  #record(op: StorageOp, key: string): StorageCall {
    const call = { op, key, faulted: false };
    this.calls.push(call);
    return call;
  }
}

/**
 * A storage plugin (`"type": "memory"`) whose every `create` returns `storage`:
 * for code that builds its storage from a config, e.g. a plugin registry in a test.
 */
export function memoryStoragePlugin(
  storage: MemoryStorage = new MemoryStorage(),
  name = 'memory',
): LifeboatPlugin<unknown, MemoryConfig> & { storage: StoragePlugin<MemoryConfig> } {
  return {
    apiVersion: PLUGIN_API_VERSION,
    meta: { name, version: '0.0.0', description: 'objects in memory (tests only)' },
    storage: { configSchema: MemoryConfigSchema, create: () => storage },
  } satisfies LifeboatPlugin<unknown, MemoryConfig>;
}
