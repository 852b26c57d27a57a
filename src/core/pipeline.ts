import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressStream, compressionSuffix, decompressStream, type Compression } from './compression.js';
import { LifeboatError, toLifeboatError } from './errors.js';
import type { PutOptions, Storage } from './storage.js';
import { hasPipeFd, zstdFromPipe } from './direct-zstd.js';
import { pipeToTool, toolArgv, toolError, type ToolOptions } from './exec.js';
import { spawnZstd, ZSTD_DECOMPRESS_ARGS, zstdFailed, zstdMissing } from './zstd.js';

/** Counts bytes flowing through and reports them. */
export class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }
}

/** Hashes bytes flowing through (sha256) and counts them. */
export class HashTee extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * Passes bytes through and fails at the end unless size and sha256 match.
 * Consumers of restored data must treat output as untrusted until the stream ends
 * cleanly.
 */
export class VerifyingStream extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  constructor(private readonly expected: { sha256: string; size: number; label: string }) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    const sha = this.hash.digest('hex');
    if (this.bytes !== this.expected.size || sha !== this.expected.sha256) {
      cb(
        new LifeboatError(
          'VERIFY_FAILED',
          `${this.expected.label}: content does not match the manifest ` +
            `(size ${this.bytes} vs ${this.expected.size}, sha256 ${sha.slice(0, 16)}… vs ${this.expected.sha256.slice(0, 16)}…)`,
          { hint: 'the stored object was changed or damaged; restore from another backup' },
        ),
      );
      return;
    }
    cb();
  }
}

/** What the repository records about one stored object. */
export interface StoredObject {
  /** Logical name inside the backup, e.g. `dump` or `db/app.dump`. */
  name: string;
  /** Storage key. */
  key: string;
  /** Bytes stored (after compression). */
  size: number;
  /** sha256 of the stored bytes. */
  sha256: string;
  /** Bytes before compression. */
  rawSize: number;
  compression: Compression;
}

export interface StoreOptions {
  compression: Compression;
  signal?: AbortSignal;
  /** Called with raw bytes read from the source so far. */
  onProgress?: (rawBytes: number) => void;
  /** Refuse to replace an existing object (see PutOptions.ifNoneMatch). */
  ifNoneMatch?: boolean;
}

function putOptions(opts: StoreOptions): PutOptions {
  return { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.ifNoneMatch ? { ifNoneMatch: true } : {}) };
}

/**
 * The write pipeline: source → count → compress → sha256 tee → storage.put.
 * One `stream.pipeline`; backpressure end to end; nothing staged.
 */
export async function storeStream(
  storage: Storage,
  name: string,
  keyBase: string,
  source: Readable,
  opts: StoreOptions,
): Promise<StoredObject> {
  const key = keyBase + compressionSuffix(opts.compression);
  if (opts.compression.algorithm === 'zstd' && hasPipeFd(source)) return storeFromPipe(storage, name, key, source, opts);
  const counter = new ByteCounter(opts.onProgress);
  const compressor = compressStream(opts.compression, opts.signal);
  const tee = new HashTee();
  const putDone = storage.put(key, tee, putOptions(opts));
  try {
    await Promise.all([pipeline(source, counter, compressor, tee, opts.signal ? { signal: opts.signal } : {}), putDone]);
  } catch (err) {
    source.destroy();
    compressor.destroy();
    tee.destroy();
    await putDone.catch(() => undefined);
    if (opts.signal?.aborted) throw new LifeboatError('CANCELLED', `writing ${name} was cancelled`);
    throw toLifeboatError(err, 'STORAGE_FAILED');
  }
  return {
    name,
    key,
    size: tee.bytes,
    sha256: tee.digest(),
    rawSize: counter.bytes,
    compression: opts.compression,
  };
}

/** The fast path: the producer's pipe goes straight into zstd; Node hashes and stores its output. */
async function storeFromPipe(storage: Storage, name: string, key: string, source: Readable, opts: StoreOptions): Promise<StoredObject> {
  const z = zstdFromPipe(source, opts.compression, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
  const tee = new HashTee();
  const putDone = storage.put(key, tee, putOptions(opts));
  try {
    const [, , { rawSize }] = await Promise.all([pipeline(z.output, tee), putDone, z.done]);
    return { name, key, size: tee.bytes, sha256: tee.digest(), rawSize, compression: opts.compression };
  } catch (err) {
    z.output.destroy();
    tee.destroy(err instanceof Error ? err : undefined);
    await putDone.catch(() => undefined);
    // a stored object of a failed write is removed (the put may have completed first)
    if (await storage.stat(key).catch(() => undefined)) await storage.delete(key).catch(() => undefined);
    if (opts.signal?.aborted) throw new LifeboatError('CANCELLED', `writing ${name} was cancelled`);
    throw toLifeboatError(err, 'STORAGE_FAILED');
  }
}

/**
 * The read pipeline: storage.get → sha256/size check → decompress. The returned
 * stream errors (at the end at the latest) when the stored bytes do not match.
 */
export async function openStored(
  storage: Storage,
  obj: Pick<StoredObject, 'key' | 'size' | 'sha256' | 'compression' | 'name'>,
  opts: { signal?: AbortSignal; decompress?: boolean } = {},
): Promise<Readable> {
  const raw = await storage.get(obj.key, opts.signal ? { signal: opts.signal } : {});
  const check = new VerifyingStream({ sha256: obj.sha256, size: obj.size, label: `object ${obj.name} (${obj.key})` });
  if (opts.decompress === false) {
    raw.on('error', (e) => check.destroy(e));
    return raw.pipe(check);
  }
  const dec = decompressStream(obj.compression, opts.signal);
  raw.on('error', (e) => check.destroy(e));
  check.on('error', (e) => dec.destroy(e));
  return raw.pipe(check).pipe(dec);
}

/** Re-read a stored object and compare size and sha256 without decompressing. */
export async function checksumStored(
  storage: Storage,
  obj: Pick<StoredObject, 'key' | 'size' | 'sha256' | 'name'>,
  signal?: AbortSignal,
  onBytes?: (n: number) => void,
): Promise<{ ok: boolean; size: number; sha256: string }> {
  const raw = await storage.get(obj.key, signal ? { signal } : {});
  const tee = new HashTee();
  const counter = new ByteCounter(onBytes);
  await pipeline(raw, counter, tee, async function* (src: AsyncIterable<Buffer>) {
    for await (const _ of src) {
      /* drain */
    }
  });
  const sha256 = tee.digest();
  return { ok: sha256 === obj.sha256 && tee.bytes === obj.size, size: tee.bytes, sha256 };
}

/** Wait for a child process; resolves with its exit code (or a spawn error) and the tail of its stderr. */
function childDone(child: ChildProcess): Promise<{ code: number | null; signal: string | null; error?: Error; stderr: string }> {
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, error, stderr }));
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/**
 * Restore fast path: a stored object into a tool's stdin (e.g. `tar -x`). For
 * zstd, `zstd -d`'s stdout is connected straight to the tool, so the
 * decompressed bytes never pass through Node; Node reads the stored bytes and
 * checks them against the manifest (a changed byte fails this call at the end,
 * as with {@link openStored}). Other compressions go through openStored.
 */
export async function pipeStoredToTool(
  storage: Storage,
  obj: Pick<StoredObject, 'key' | 'size' | 'sha256' | 'compression' | 'name'>,
  bin: string,
  args: readonly string[],
  opts: ToolOptions = {},
): Promise<void> {
  if (obj.compression.algorithm !== 'zstd') {
    await pipeToTool(bin, args, await openStored(storage, obj, opts.signal ? { signal: opts.signal } : {}), opts);
    return;
  }
  const raw = await storage.get(obj.key, opts.signal ? { signal: opts.signal } : {});
  const zstd = spawnZstd(ZSTD_DECOMPRESS_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] });
  const [file, argv] = toolArgv(bin, args, opts);
  const tool = spawn(file, argv, { stdio: [zstd.stdout!, 'ignore', 'pipe'], env: { ...process.env, ...(opts.env ?? {}) }, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  zstd.stdout!.destroy(); // the tool holds its own copy of the pipe
  const kill = () => {
    zstd.kill('SIGKILL');
    tool.kill('SIGKILL');
  };
  opts.signal?.addEventListener('abort', kill, { once: true });
  const [zDone, tDone] = [childDone(zstd), childDone(tool)];
  const check = new VerifyingStream({ sha256: obj.sha256, size: obj.size, label: `object ${obj.name} (${obj.key})` });
  let feedError: unknown;
  const feeding = pipeline(raw, check, zstd.stdin!).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') return;
    feedError = err;
    kill();
  });
  const [z, t] = await Promise.all([zDone, tDone]);
  await feeding;
  opts.signal?.removeEventListener('abort', kill);
  if (opts.signal?.aborted) throw new LifeboatError('CANCELLED', `${bin} was cancelled`);
  if (feedError) throw toLifeboatError(feedError);
  if (z.code !== 0 || t.code !== 0) {
    // a failure mid-stream may come from damaged stored bytes: say so rather than "zstd failed"
    const c = await checksumStored(storage, obj, opts.signal).catch(() => undefined);
    if (c && !c.ok) throw new LifeboatError('VERIFY_FAILED', `object ${obj.name} (${obj.key}) is damaged: sha256 ${c.sha256}, expected ${obj.sha256}`);
  }
  if ((z.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw zstdMissing('decompress');
  if (t.error) throw toolError(bin, t.error, opts);
  if (t.code !== 0) throw new LifeboatError('COMMAND_FAILED', `${bin} failed (exit ${t.code ?? t.signal}): ${t.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (z.code !== 0) throw zstdFailed('decompress', z, z.stderr, obj.name);
}
