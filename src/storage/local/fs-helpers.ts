import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileError, LifeboatError, toLifeboatError } from '../../core/errors.js';

/** Name prefix of in-flight uploads; never listed, removed by `removeStaleTemps`. */
export const TMP_PREFIX = '.lifeboat-tmp-';

const READ_CHUNK = 256 * 1024;
const WRITE_BUFFER = 4 * 1024 * 1024;

/** The `code` of a Node.js system error, if any. */
export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** ENOENT or ENOTDIR: the path (or one of its parents as a directory) is not there. */
export function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** True when `p` is `base` itself (if `allowEqual`) or lies below it. */
export function isInside(base: string, p: string, allowEqual = false): boolean {
  if (p === base) return allowEqual;
  const withSep = base.endsWith(path.sep) ? base : base + path.sep;
  return p.startsWith(withSep);
}

/** KEY_INVALID for a key whose resolved path leaves the root. */
export function escapeError(key: string): LifeboatError {
  return new LifeboatError('KEY_INVALID', `object key ${JSON.stringify(key)} resolves outside the storage root`, {
    hint: 'a symbolic link inside the repository points elsewhere; remove it',
  });
}

/** The NOT_FOUND error `get` rejects with. */
export function notFound(key: string): LifeboatError {
  return new LifeboatError('NOT_FOUND', `object ${JSON.stringify(key)} not found`);
}

/** Map a file-system (or body, or abort) error to a LifeboatError. */
export function mapError(err: unknown, op: string, key: string): LifeboatError {
  if (err instanceof LifeboatError || (err as { name?: unknown } | null)?.name === 'LifeboatError') {
    return toLifeboatError(err);
  }
  const cause = err;
  if (errnoCode(err) === 'ENOSPC') {
    return new LifeboatError('STORAGE_FAILED', 'no space left on device', {
      hint: 'free space on the repository file system or point the repository elsewhere',
      cause,
      details: { op, key },
    });
  }
  if ((err as { name?: unknown } | null)?.name === 'AbortError') {
    return new LifeboatError('CANCELLED', `${op} ${key} cancelled`, { cause });
  }
  // a repository this OS user may not read or write (the server's user running archive_command, say): say who and
  // where; still STORAGE_FAILED, so a backup reports it rather than the tool it had to stop
  const code = errnoCode(err);
  if (code === 'EACCES' || code === 'EPERM') {
    const file = fileError(err as NodeJS.ErrnoException)!;
    return new LifeboatError('STORAGE_FAILED', file.message, { ...(file.hint ? { hint: file.hint } : {}), cause, details: { op, key } });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LifeboatError('STORAGE_FAILED', `${op} ${key} failed: ${message}`, { cause, details: { op, key } });
}

/** fsync a directory so a rename or link inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A Writable writing sequentially to an open file, leaving the handle open
 * (to fsync and close it afterwards). FileHandle.createWriteStream with
 * autoClose: false keeps a reference that makes handle.close() hang.
 */
export function handleWriter(handle: FileHandle): Writable {
  const writeAll = async (chunk: Buffer) => {
    for (let off = 0; off < chunk.length; ) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten;
  };
  return new Writable({
    // a few MiB buffered while one write is in flight keeps the producer (zstd) from stalling
    highWaterMark: WRITE_BUFFER,
    write(chunk: Buffer, _encoding, callback) {
      writeAll(chunk).then(() => callback(), callback);
    },
    writev(chunks, callback) {
      writeAll(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk as Buffer))).then(() => callback(), callback);
    },
  });
}

/**
 * Reads `[start, end]` (inclusive) of an open file; owns and closes the handle.
 * A file that ends early (truncated while read) becomes a stream error.
 */
export class FileRangeStream extends Readable {
  #handle: FileHandle;
  #pos: number;
  readonly #end: number;
  readonly #key: string;

  constructor(handle: FileHandle, start: number, end: number, key: string) {
    super({ highWaterMark: READ_CHUNK });
    this.#handle = handle;
    this.#pos = start;
    this.#end = end;
    this.#key = key;
  }

  override _read(): void {
    const want = Math.min(READ_CHUNK, this.#end - this.#pos + 1);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    this.#handle.read(buf, 0, want, this.#pos).then(
      ({ bytesRead }) => {
        if (bytesRead === 0) {
          this.destroy(new LifeboatError('STORAGE_FAILED', `object ${this.#key} ended early (truncated while read?)`));
          return;
        }
        this.#pos += bytesRead;
        this.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      },
      (err: unknown) => this.destroy(mapError(err, 'get', this.#key)),
    );
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#handle.close().then(
      () => cb(err),
      (closeErr: unknown) => cb(err ?? (closeErr as Error)),
    );
  }
}

export interface WalkEntry {
  /** Absolute path. */
  path: string;
  /** Path relative to the walk's start, `/`-separated. */
  rel: string;
  name: string;
}

/**
 * Regular files under `dir`, depth first, without following symbolic links.
 * `filter` restricts the top level to names starting with it. Vanished
 * directories are skipped.
 */
export async function* walkFiles(dir: string, rel = '', filter = ''): AsyncGenerator<WalkEntry> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const ent of entries) {
    if (filter && !ent.name.startsWith(filter)) continue;
    const childRel = rel ? `${rel}/${ent.name}` : ent.name;
    const child = path.join(dir, ent.name);
    if (ent.isDirectory()) yield* walkFiles(child, childRel);
    else if (ent.isFile()) yield { path: child, rel: childRel, name: ent.name };
  }
}

/**
 * Delete `.lifeboat-tmp-*` files (left by crashed uploads) last modified more
 * than `olderThanMs` ago anywhere under `root`, and the directories they leave
 * empty (never `root` itself). Symbolic links are not followed. Returns each
 * file's path relative to `root` (`/`-separated) and size; `dryRun` removes nothing.
 */
export async function removeStaleTemps(root: string, olderThanMs: number, opts: { dryRun?: boolean } = {}): Promise<{ rel: string; size: number }[]> {
  const cutoff = Date.now() - olderThanMs;
  const top = path.resolve(root);
  const removed: { rel: string; size: number }[] = [];
  for await (const entry of walkFiles(top)) {
    if (!entry.name.startsWith(TMP_PREFIX)) continue;
    try {
      const st = await fsp.lstat(entry.path);
      if (st.mtimeMs > cutoff) continue;
      if (!opts.dryRun) {
        await fsp.unlink(entry.path);
        for (let d = path.dirname(entry.path); d !== top && d.startsWith(top + path.sep); d = path.dirname(d)) {
          try {
            await fsp.rmdir(d); // only when empty
          } catch {
            break;
          }
        }
      }
      removed.push({ rel: entry.rel, size: st.size });
    } catch (err) {
      if (!isMissing(err)) throw mapError(err, 'remove stale temp', entry.rel);
    }
  }
  return removed;
}
