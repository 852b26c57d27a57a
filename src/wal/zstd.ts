/**
 * zstd for the WAL hooks, with node:child_process only (no execa, no zod): the
 * archive path must start fast. Flags and errors come from src/core/zstd.ts, as
 * for backups, so what is stored here reads back through the ordinary pipeline
 * and the reverse.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { spawnZstd, stderrTail, ZSTD_DECOMPRESS_ARGS, zstdCompressArgs, zstdFailed, zstdSpawnError } from '../core/zstd.js';

export interface WalCompression {
  algorithm: 'zstd' | 'gzip' | 'none';
  level?: number;
  threads?: number;
}

/**
 * Compress a file with zstd reading it itself (in parallel with whatever this
 * process does meanwhile). Output is collected as it comes, so zstd never waits
 * on us; `body()` streams what has been produced and the rest as it arrives.
 */
export class ZstdFile {
  private readonly child: ChildProcess;
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  readonly done: Promise<void>;
  size = 0;

  constructor(file: string, c: WalCompression, threads: number) {
    // one thread is --single-thread (less CPU per segment; the pusher runs several at a time)
    this.child = spawnZstd([...zstdCompressArgs(c, { defaultThreads: threads, singleThreadWhenOne: true }), '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = stderrTail(this.child, 2000);
    this.child.stdout!.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      this.wake?.();
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.child.on('error', (err: NodeJS.ErrnoException) => {
        this.fail(zstdSpawnError(err, 'compress'));
        reject(this.failure);
      });
      this.child.on('close', (code, signal) => {
        if (code === 0) {
          this.ended = true;
          this.wake?.();
          resolve();
          return;
        }
        this.fail(zstdFailed('compress', { code, signal }, stderr()));
        reject(this.failure);
      });
    });
    this.done.catch(() => undefined);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake?.();
  }

  /** Stop zstd (the content was archived already, or the push failed). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /** The compressed bytes: what is buffered, then the rest as zstd writes it. */
  async *body(): AsyncGenerator<Buffer> {
    let i = 0;
    for (;;) {
      while (i < this.chunks.length) {
        const c = this.chunks[i]!;
        this.chunks[i++] = EMPTY; // let it go once written
        yield c;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** A decompressing child (zstd -d) between `source` and the returned stream. */
export function zstdDecompress(source: Readable): { output: Readable; done: Promise<void> } {
  const child = spawnZstd(ZSTD_DECOMPRESS_ARGS, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = stderrTail(child, 2000);
  source.on('error', (e) => child.stdout!.destroy(e));
  child.stdin!.on('error', () => undefined); // zstd gone: reported by 'close'
  source.pipe(child.stdin!);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => reject(zstdSpawnError(err, 'decompress')));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(zstdFailed('decompress', { code, signal }, stderr()));
    });
  });
  done.catch(() => undefined);
  return { output: child.stdout!, done };
}
