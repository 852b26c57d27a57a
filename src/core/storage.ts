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
  /** How many operations may usefully run at once (the agent's storage wrapper holds calls to it). */
  connections: number;
  /**
   * Objects can be deleted (default true). False for tape and for write-once
   * buckets (S3 Object Lock, GCS retention policies): retention and `repo gc`
   * never try to delete there, and say so instead.
   */
  deletable?: boolean;
  /** Objects are only ever added, never replaced (tape; default false). */
  appendOnly?: boolean;
  /** Objects are read and written one after another, by position (tape; default false): shared code does one at a time. */
  sequential?: boolean;
}

/**
 * How a storage failure should be treated, which only the plugin knows (an S3
 * 503 SlowDown is transient, a 403 is access denied). Plugins throw
 * {@link storageError}; the agent's wrapper retries transient ones with
 * jittered backoff (metadata calls and reads that have not started), and a
 * plugin writes no retry loop of its own.
 */
export type StorageErrorKind = 'not-found' | 'transient' | 'permanent' | 'access-denied';

/** A storage failure of a kind: NOT_FOUND for `not-found`, else STORAGE_FAILED; `details.storageError` says the kind. */
export function storageError(kind: StorageErrorKind, message: string, opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {}): LifeboatError {
  return new LifeboatError(kind === 'not-found' ? 'NOT_FOUND' : 'STORAGE_FAILED', message, { ...opts, details: { ...(opts.details ?? {}), storageError: kind } });
}

/** The kind a storage error is of (NOT_FOUND counts as `not-found`); undefined when the plugin did not say. */
export function storageErrorKind(err: unknown): StorageErrorKind | undefined {
  if (!(err instanceof LifeboatError)) return undefined;
  const kind = err.details?.storageError;
  if (kind === 'not-found' || kind === 'transient' || kind === 'permanent' || kind === 'access-denied') return kind;
  return err.code === 'NOT_FOUND' ? 'not-found' : undefined;
}

/**
 * Refuse to delete from a storage that says objects cannot be deleted (tape, a
 * write-once bucket): one clear error before anything is touched, instead of a
 * half-done removal.
 */
export function assertDeletable(storage: Storage, what: string): void {
  if (storage.capabilities.deletable !== false) return;
  throw new LifeboatError('UNSUPPORTED', `${storage.description} does not allow deletes, so ${what} cannot be done there`, {
    hint: 'objects there leave only as the storage itself lets them (a bucket retention period, retiring a tape)',
  });
}

/** An upload that was started and never finished (S3 multipart, GCS resumable session, a local temp file). */
export interface AbandonedUpload {
  key: string;
  startedAt?: string;
  size?: number;
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

  /**
   * Uploads under `prefix` started more than `olderThanMs` ago and never
   * finished: listed, and aborted when `remove` (so the storage frees what they
   * hold). `repo gc` calls it, holding the cluster's lock, for every storage
   * that has it. Optional.
   */
  abandonedUploads?(opts: { prefix: string; olderThanMs: number; remove: boolean }): Promise<AbandonedUpload[]>;

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
