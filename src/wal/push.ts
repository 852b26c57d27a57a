/**
 * Storing and fetching one WAL file: the work behind archive_command and
 * restore_command, for any Storage. Kept free of zod, execa and the plugin
 * host so the archive hooks start fast (see src/host/wal-main.ts).
 *
 * A pushed file is stored once under `<cluster>/wal/.../<name>-<sha256>.zst`.
 * Pushing the same content again succeeds without writing; different content
 * under the same name is refused and the archived copy kept.
 */
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, fstatSync, openSync, readSync } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import type { ObjectInfo, Storage } from '../core/storage.js';
import { openRepository } from '../core/repo-identity.js';
import { classifyWalFile, walLayout } from '../core/wal.js';
import { ZstdFile, zstdDecompress, type WalCompression } from './zstd.js';

export interface WalPushResult {
  name: string;
  key: string;
  sha256: string;
  size: number;
  storedSize: number;
  /** The same content was archived before: nothing was written. */
  alreadyArchived: boolean;
}

export interface WalStore {
  storage: Storage;
  /** Cluster name: the first segment of every key. */
  cluster: string;
  compression: WalCompression;
}

/** Every archived copy of one WAL file (normally one). */
export async function archivedCopies(storage: Storage, cluster: string, name: string): Promise<(ObjectInfo & { sha256: string })[]> {
  const out: (ObjectInfo & { sha256: string })[] = [];
  for await (const o of storage.list(walLayout.filePrefix(cluster, name))) {
    const p = walLayout.parse(o.key);
    if (p && p.name === name) out.push({ ...o, sha256: p.sha256 });
  }
  return out;
}

function conflict(name: string, archived: string, fresh: string): LifeboatError {
  return new LifeboatError('VERIFY_FAILED', `WAL file ${name} is already archived with different content (archived sha256 ${archived}, new ${fresh}); the archived copy is kept`, {
    hint: 'two clusters may be archiving into one repository path, or this cluster was restored without a new timeline; check the cluster name and system identifier',
  });
}

/**
 * Synchronous 1 MiB reads into reused buffers: no thread-pool round trip per
 * chunk (each waits for a CPU while zstd keeps both busy), no page faults for a
 * fresh buffer per segment, and the chunk is still in cache when hashed.
 */
const READ_CHUNK = 1024 * 1024;
const YIELD_EVERY = 4; // chunks between event-loop turns (zstd's output keeps draining)
const spareBuffers: Buffer[] = [];

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** sha256 of a file, read and hashed on this thread a few chunks at a time. */
async function hashFile(file: string): Promise<{ sha256: string; size: number; mtimeNs: bigint; ino: bigint }> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new LifeboatError('NOT_FOUND', `cannot read WAL file ${file}: ${(err as Error).message}`);
  }
  const buf = spareBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_CHUNK);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw new LifeboatError('NOT_FOUND', `cannot read WAL file ${file}: not a regular file`);
    const hash = createHash('sha256');
    let size = 0;
    for (let i = 1; ; i++) {
      const n = readSync(fd, buf, 0, READ_CHUNK, size);
      if (n === 0) break;
      hash.update(n === READ_CHUNK ? buf : buf.subarray(0, n));
      size += n;
      if (i % YIELD_EVERY === 0) await yieldToLoop();
    }
    return { sha256: hash.digest('hex'), size, mtimeNs: st.mtimeNs, ino: st.ino };
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw new LifeboatError('NOT_FOUND', `cannot read WAL file ${file}: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
    if (spareBuffers.length < 8) spareBuffers.push(buf);
  }
}

/** Start compressing `file`; the bytes arrive through `body()`. */
function startCompression(file: string, c: WalCompression, threads: number): { body: () => AsyncIterable<Buffer>; done: Promise<void>; stop: () => void } {
  if (c.algorithm === 'zstd') {
    const z = new ZstdFile(file, c, threads);
    return { body: () => z.body(), done: z.done, stop: () => z.kill() };
  }
  // gzip (in-process, as src/core/compression.ts) and none read the file once here
  const data = (async () => {
    const fh = await open(file, 'r');
    try {
      const raw = await fh.readFile();
      if (c.algorithm !== 'gzip') return raw;
      const { gzip } = await import('node:zlib'); // not loaded on the zstd path
      return await new Promise<Buffer>((resolve, reject) => gzip(raw, { level: Math.max(1, Math.min(9, c.level ?? 6)) }, (err, out) => (err ? reject(err) : resolve(out))));
    } finally {
      await fh.close();
    }
  })();
  data.catch(() => undefined);
  return {
    body: async function* () {
      yield await data;
    },
    done: data.then(() => undefined),
    stop: () => undefined,
  };
}

const suffix = (c: WalCompression) => (c.algorithm === 'zstd' ? '.zst' : c.algorithm === 'gzip' ? '.gz' : '');

const proven = new WeakMap<Storage, Promise<void>>();

/**
 * The repository's identity file, checked once per storage object (a pusher
 * checks once per storage it opens; archive_command once per segment). A
 * failed check is not cached: it is asked again next time.
 */
function repositoryIdentity(storage: Storage): Promise<void> {
  let p = proven.get(storage);
  if (!p) {
    p = openRepository(storage);
    proven.set(storage, p);
    p.catch(() => proven.delete(storage));
  }
  return p;
}

/**
 * archive_command's work: store one WAL file, compressed, its sha256 in the key.
 * Hashing, compressing (zstd reads the file itself) and looking for an archived
 * copy run at the same time. The object becomes visible only once complete and
 * durable (Storage.put).
 */
export async function pushWalFile(t: WalStore, file: string, opts: { threads?: number; signal?: AbortSignal } = {}): Promise<WalPushResult> {
  const name = path.basename(file);
  classifyWalFile(name);
  const comp = startCompression(file, t.compression, opts.threads ?? 0);
  try {
    const identity = repositoryIdentity(t.storage);
    identity.catch(() => undefined);
    const copies = archivedCopies(t.storage, t.cluster, name);
    copies.catch(() => undefined);
    const src = await hashFile(file);
    await identity; // nothing is stored into storage that is not a lifeboat repository
    const existing = await copies;
    const same = existing.find((e) => e.sha256 === src.sha256);
    if (same) {
      comp.stop();
      return { name, key: same.key, sha256: src.sha256, size: src.size, storedSize: same.size, alreadyArchived: true };
    }
    if (existing.length > 0) throw conflict(name, existing[0]!.sha256, src.sha256);
    const key = `${walLayout.filePrefix(t.cluster, name)}${src.sha256}${suffix(t.compression)}`;
    let put;
    try {
      put = await t.storage.put(key, Readable.from(comp.body()), { ifNoneMatch: true, ...(opts.signal ? { signal: opts.signal } : {}) });
      await comp.done;
    } catch (err) {
      // another pusher may have stored the same file meanwhile
      const now = await archivedCopies(t.storage, t.cluster, name).catch(() => []);
      const stored = now.find((e) => e.sha256 === src.sha256);
      if (stored) return { name, key: stored.key, sha256: src.sha256, size: src.size, storedSize: stored.size, alreadyArchived: true };
      if (now.length > 0) throw conflict(name, now[0]!.sha256, src.sha256);
      throw toLifeboatError(err, 'STORAGE_FAILED');
    }
    // A completed segment never changes; make sure it did not while it was read twice.
    const after = await stat(file, { bigint: true }).catch(() => undefined);
    if (!after || after.mtimeNs !== src.mtimeNs || after.ino !== src.ino || after.size !== BigInt(src.size)) {
      await t.storage.delete(key).catch(() => undefined);
      throw new LifeboatError('VERIFY_FAILED', `WAL file ${file} changed while it was archived; nothing was stored`, { hint: 'archive_command is meant for completed WAL files; PostgreSQL retries' });
    }
    return { name, key: put.key, sha256: src.sha256, size: src.size, storedSize: put.size, alreadyArchived: false };
  } finally {
    comp.stop();
  }
}

/**
 * restore_command's work: fetch one WAL file into `dest`, checked against the
 * sha256 in its key, written under a temporary name and renamed only when it
 * matches. A file the archive does not have is NOT_FOUND.
 */
export async function fetchWalFile(t: WalStore, name: string, dest: string): Promise<{ name: string; sha256: string; size: number }> {
  classifyWalFile(name);
  const copies = await archivedCopies(t.storage, t.cluster, name);
  if (copies.length === 0) throw new LifeboatError('NOT_FOUND', `WAL file ${name} is not in the archive`);
  const copy = copies[0]!;
  const tmp = `${dest}.lifeboat-tmp-${process.pid}`;
  const hash = createHash('sha256');
  let size = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    const raw = await t.storage.get(copy.key);
    if (copy.key.endsWith('.zst')) {
      const z = zstdDecompress(raw);
      await Promise.all([pipeline(z.output, tee, createWriteStream(tmp, { mode: 0o600 })), z.done]);
    } else if (copy.key.endsWith('.gz')) {
      const { createGunzip, constants: zc } = await import('node:zlib');
      await pipeline(raw, createGunzip({ finishFlush: zc.Z_SYNC_FLUSH }), tee, createWriteStream(tmp, { mode: 0o600 }));
    } else {
      await pipeline(raw, tee, createWriteStream(tmp, { mode: 0o600 }));
    }
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(tmp, { force: true });
    throw toLifeboatError(err, 'STORAGE_FAILED');
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== copy.sha256) {
    await rm(tmp, { force: true });
    throw new LifeboatError('VERIFY_FAILED', `archived WAL file ${name} is damaged (sha256 ${sha256}, expected ${copy.sha256}); not restored`);
  }
  await rename(tmp, dest);
  return { name, sha256, size };
}
