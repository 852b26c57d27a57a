import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError } from '../../core/errors.js';
import {
  assertSafeKey,
  type AbandonedUpload,
  type ObjectInfo,
  type PutOptions,
  type PutResult,
  type Storage,
  type StorageCapabilities,
} from '../../core/storage.js';
import {
  FileRangeStream, TMP_PREFIX, errnoCode, handleWriter, escapeError, fsyncDir, isInside, isMissing, mapError, notFound, removeStaleTemps, walkFiles,
} from './fs-helpers.js';

/**
 * Objects as files under a root directory: `a/b/c` is `<root>/a/b/c`.
 * Writes go to a `.lifeboat-tmp-*` sibling that is fsynced and renamed into
 * place. Files are 0600, directories 0700. A key whose resolved path leaves the
 * root (through a symbolic link) is rejected with KEY_INVALID.
 */
export class LocalStorage implements Storage {
  readonly capabilities: StorageCapabilities = { randomAccess: true, atomicReplace: true, connections: 4 };
  readonly description: string;
  /** Absolute root directory, as configured (not symlink-resolved). */
  readonly root: string;
  #realRoot: string | undefined;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `local:${this.root}`;
  }

  /** `.lifeboat-tmp-*` files under `prefix` (uploads a crash left) older than `olderThanMs`; removed when `remove`. */
  async abandonedUploads(opts: { prefix: string; olderThanMs: number; remove: boolean }): Promise<AbandonedUpload[]> {
    if (opts.prefix) assertSafeKey(opts.prefix);
    const left = await removeStaleTemps(opts.prefix ? path.join(this.root, opts.prefix) : this.root, opts.olderThanMs, { dryRun: !opts.remove });
    return left.map((t) => ({ key: opts.prefix ? `${opts.prefix}/${t.rel}` : t.rel, size: t.size }));
  }

  async put(key: string, body: Readable, opts: PutOptions = {}): Promise<PutResult> {
    this.#check(key);
    const { signal, ifNoneMatch = false } = opts;
    let tmp: string | undefined;
    try {
      signal?.throwIfAborted();
      const opened = await this.#openTemp(key);
      tmp = opened.tmp;
      let size: number;
      try {
        const out = handleWriter(opened.handle);
        await pipeline(body, out, signal ? { signal } : {});
        await opened.handle.sync();
        size = (await opened.handle.stat()).size;
      } finally {
        await opened.handle.close();
      }
      signal?.throwIfAborted();
      const target = path.join(opened.dir, path.basename(key));
      if (ifNoneMatch) {
        try {
          await fsp.link(tmp, target); // fails atomically if target exists
        } catch (err) {
          if (errnoCode(err) !== 'EEXIST') throw err;
          throw new LifeboatError('STORAGE_FAILED', `object ${JSON.stringify(key)} already exists`, {
            hint: 'objects of this kind are never replaced; remove it first if it is stale',
            details: { key, reason: 'exists' },
          });
        }
        const linked = tmp;
        tmp = undefined;
        await fsp.unlink(linked).catch(() => undefined); // a leftover is cleaned by removeStaleTemps
      } else {
        await fsp.rename(tmp, target);
        tmp = undefined;
      }
      await fsyncDir(opened.dir);
      return { key, size };
    } catch (err) {
      if (!body.destroyed) body.destroy();
      if (tmp !== undefined) await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (signal?.aborted) throw new LifeboatError('CANCELLED', `put ${key} cancelled`, { cause: err });
      throw mapError(err, 'put', key);
    }
  }

  async get(key: string, opts: { range?: [number, number]; signal?: AbortSignal } = {}): Promise<Readable> {
    const real = await this.#resolveExisting(key);
    if (real === undefined) throw notFound(key);
    let handle: FileHandle;
    try {
      handle = await fsp.open(real, 'r');
    } catch (err) {
      if (isMissing(err) || errnoCode(err) === 'EISDIR') throw notFound(key);
      throw mapError(err, 'get', key);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw notFound(key);
      const [start, end] = opts.range ? checkRange(opts.range, st.size) : [0, st.size - 1];
      const stream = new FileRangeStream(handle, start, end, key);
      if (opts.signal) addAbortSignal(opts.signal, stream);
      return stream;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw mapError(err, 'get', key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const real = await this.#resolveExisting(key);
    if (real === undefined) return undefined;
    try {
      const st = await fsp.stat(real);
      return st.isFile() ? { key, size: st.size, mtimeMs: st.mtimeMs } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw mapError(err, 'stat', key);
    }
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.#check(prefix, true);
    const slash = prefix.lastIndexOf('/');
    const dirPart = slash < 0 ? '' : prefix.slice(0, slash);
    const realRoot = await this.#getRealRoot(false);
    if (realRoot === undefined) return;
    let start: string;
    try {
      start = await fsp.realpath(path.join(this.root, dirPart));
    } catch (err) {
      if (isMissing(err)) return;
      throw mapError(err, 'list', prefix);
    }
    if (!isInside(realRoot, start, true)) throw escapeError(prefix);
    for await (const entry of walkFiles(start, dirPart, prefix.slice(slash + 1))) {
      if (entry.name.startsWith(TMP_PREFIX) || !isValidKey(entry.rel)) continue;
      try {
        const st = await fsp.lstat(entry.path);
        yield { key: entry.rel, size: st.size, mtimeMs: st.mtimeMs };
      } catch (err) {
        if (!isMissing(err)) throw mapError(err, 'list', prefix);
      }
    }
  }

  async delete(key: string): Promise<void> {
    const lexical = this.#check(key);
    const realRoot = await this.#getRealRoot(false);
    if (realRoot === undefined) return;
    let dir: string;
    try {
      dir = await fsp.realpath(path.dirname(lexical));
    } catch (err) {
      if (isMissing(err)) return;
      throw mapError(err, 'delete', key);
    }
    if (!isInside(realRoot, dir, true)) throw escapeError(key);
    try {
      await fsp.unlink(path.join(dir, path.basename(lexical)));
    } catch (err) {
      if (isMissing(err) || errnoCode(err) === 'EISDIR') return;
      throw mapError(err, 'delete', key);
    }
    // Best effort: drop now-empty parents, never the root itself.
    for (let d = dir; isInside(realRoot, d); d = path.dirname(d)) {
      try {
        await fsp.rmdir(d);
      } catch {
        break;
      }
    }
  }

  /** Validate a key (or prefix) and return its lexical absolute path. */
  #check(key: string, allowPrefix = false): string {
    assertSafeKey(key, { allowPrefix });
    if (key.split('/').some((seg) => seg.startsWith(TMP_PREFIX))) {
      throw new LifeboatError('KEY_INVALID', `invalid object key ${JSON.stringify(key)}: reserved name ${TMP_PREFIX}*`);
    }
    const p = path.resolve(this.root, key);
    if (!isInside(this.root, p, allowPrefix)) throw escapeError(key);
    return p;
  }

  async #getRealRoot(create: boolean): Promise<string | undefined> {
    if (create) await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    if (this.#realRoot !== undefined) return this.#realRoot;
    try {
      this.#realRoot = await fsp.realpath(this.root);
    } catch (err) {
      if (!create && isMissing(err)) return undefined;
      throw err;
    }
    return this.#realRoot;
  }

  /** Symlink-resolved path of an existing key, checked to be inside the root. */
  async #resolveExisting(key: string): Promise<string | undefined> {
    const lexical = this.#check(key);
    const realRoot = await this.#getRealRoot(false);
    if (realRoot === undefined) return undefined;
    let real: string;
    try {
      real = await fsp.realpath(lexical);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw mapError(err, 'resolve', key);
    }
    if (!isInside(realRoot, real)) throw escapeError(key);
    return real;
  }

  /** Create the key's directories one by one (never outside the root), open a temp file. */
  async #openTemp(key: string): Promise<{ dir: string; tmp: string; handle: FileHandle }> {
    for (let attempt = 0; ; attempt++) {
      const realRoot = (await this.#getRealRoot(true)) as string;
      let dir = realRoot;
      for (const seg of key.split('/').slice(0, -1)) {
        const next = path.join(dir, seg);
        await fsp.mkdir(next, { mode: 0o700 }).catch((err: unknown) => {
          if (errnoCode(err) !== 'EEXIST') throw err;
        });
        dir = await fsp.realpath(next);
        if (!isInside(realRoot, dir)) throw escapeError(key);
      }
      const tmp = path.join(dir, TMP_PREFIX + randomBytes(8).toString('hex'));
      try {
        return { dir, tmp, handle: await fsp.open(tmp, 'wx', 0o600) };
      } catch (err) {
        // A concurrent delete may have pruned the directory we just made: retry.
        if (errnoCode(err) !== 'ENOENT' || attempt >= 2) throw err;
      }
    }
  }
}

function isValidKey(key: string): boolean {
  try {
    assertSafeKey(key);
    return true;
  } catch {
    return false;
  }
}

/** Validate an inclusive range; an end past the object is clamped (like HTTP). */
function checkRange([start, end]: [number, number], size: number): [number, number] {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new LifeboatError('STORAGE_FAILED', `invalid range [${start}, ${end}]`);
  }
  return [start, Math.min(end, size - 1)];
}
