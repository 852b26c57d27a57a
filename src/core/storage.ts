import type { Readable } from 'node:stream';
import { LifeboatError } from './errors.js';

/** What a storage knows about one stored object. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Last modification, ms since the epoch, where the backend knows it. */
  mtimeMs?: number;
}

export interface PutOptions {
  /** Cancel the upload; a cancelled put leaves nothing visible under `key`. */
  signal?: AbortSignal;
  /** Fail with KEY_EXISTS-like STORAGE_FAILED instead of replacing an existing object. */
  ifNoneMatch?: boolean;
}

export interface PutResult {
  key: string;
  size: number;
}

/**
 * Capabilities as plain data, so shared code can adapt without knowing the backend.
 */
export interface StorageCapabilities {
  /** `get` honours `range` without reading from the start (tape: false). */
  randomAccess: boolean;
  /** `put` over an existing key replaces it atomically (object stores: true). */
  atomicReplace: boolean;
  /** How many operations may usefully run at once. */
  connections: number;
}

/**
 * The contract every storage plugin implements (local directory, s3, gcs, tape,
 * third parties). The conformance suite in `lifeboat/plugin/testing` checks it.
 *
 * Keys are `/`-separated relative paths made of safe segments (see `assertSafeKey`);
 * every method MUST reject any other key with a KEY_INVALID error before touching
 * the backend.
 */
export interface Storage {
  readonly capabilities: StorageCapabilities;
  /** A human description without secrets, e.g. `local:/srv/backups`. */
  readonly description: string;

  /**
   * Store `body` under `key`. The object MUST become visible only when complete:
   * a reader never sees a partial object, and a failed or cancelled put leaves
   * nothing under `key` (nor a previous version damaged). Resolves after the bytes
   * are durable. A body stream error MUST reject the put.
   */
  put(key: string, body: Readable, opts?: PutOptions): Promise<PutResult>;

  /**
   * Read an object. A missing key MUST reject with a NOT_FOUND error. A short read
   * (object truncated while read) MUST surface as a stream error.
   * `range` is inclusive `[start, end]`.
   */
  get(key: string, opts?: { range?: [number, number]; signal?: AbortSignal }): Promise<Readable>;

  /** Metadata, or `undefined` if the key does not exist. */
  stat(key: string): Promise<ObjectInfo | undefined>;

  /**
   * Every complete object whose key starts with `prefix` (a plain string prefix,
   * `''` lists everything), in no guaranteed order. Objects being written are
   * never listed.
   */
  list(prefix: string): AsyncIterable<ObjectInfo>;

  /** Remove an object. Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;

  /** Release connections and handles. Optional. */
  close?(): Promise<void>;
}

const SEGMENT_RE = /^[A-Za-z0-9._+@=,-]+$/;

/**
 * Keys are relative, `/`-separated, made of segments of `[A-Za-z0-9._+@=,-]`,
 * no empty, `.` or `..` segment, no leading or trailing slash, no backslash or
 * NUL, at most 1024 bytes. Storage plugins call this first in every method.
 */
export function assertSafeKey(key: unknown, opts: { allowPrefix?: boolean } = {}): asserts key is string {
  const bad = (why: string): never => {
    throw new LifeboatError('KEY_INVALID', `invalid object key ${JSON.stringify(key)}: ${why}`, {
      hint: 'object keys are relative paths of letters, digits and ._+@=,- separated by /',
    });
  };
  if (typeof key !== 'string') return bad('not a string');
  if (key === '') {
    if (opts.allowPrefix) return;
    return bad('empty');
  }
  if (Buffer.byteLength(key) > 1024) bad('longer than 1024 bytes');
  if (key.includes('\0')) bad('contains NUL');
  if (key.includes('\\')) bad('contains a backslash');
  if (key.startsWith('/')) bad('absolute path');
  const segments = key.split('/');
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '' && opts.allowPrefix && last) return; // "dir/" prefix
    if (seg === '' ) bad('empty path segment');
    if (seg === '.' || seg === '..') bad(`"${seg}" segment`);
    if (!SEGMENT_RE.test(seg) && !(opts.allowPrefix && last && /^[A-Za-z0-9._+@=,-]*$/.test(seg))) {
      bad('characters outside [A-Za-z0-9._+@=,-]');
    }
  });
}

/**
 * `dir` joined with `rel`, for writing a stored object's name to local disk. `rel`
 * must be a relative path of safe segments (as `assertSafeKey`); anything else is
 * KEY_INVALID, so a name read from a manifest can never reach outside `dir`.
 */
export function pathInside(dir: string, rel: string): string {
  assertSafeKey(rel);
  return `${dir.replace(/\/+$/, '')}/${rel}`;
}
