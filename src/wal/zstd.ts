/**
 * zstd for the WAL hooks, with node:child_process only (no execa, no zod): the
 * archive path must start fast. Same flags as src/core/compression.ts, so what
 * is stored here reads back through the ordinary pipeline and the reverse.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LifeboatError } from '../core/errors.js';

export interface WalCompression {
  algorithm: 'zstd' | 'gzip' | 'none';
  level?: number;
  threads?: number;
}

/**
 * zstd command-line flags for a compression setting (as compression.ts zstdArgs).
 * One thread is `--single-thread`: `-T1` adds an I/O thread and a hand-off that
 * cost ~20% more CPU on a 16 MiB segment (the background pusher runs one zstd
 * per segment, several at a time, so CPU is its limit).
 */
export function zstdFlags(c: WalCompression, threads: number): string[] {
  const level = c.level ?? 1;
  const t = c.threads ?? threads;
  const args = ['-q', '-c', t === 1 ? '--single-thread' : `-T${t}`];
  if (level > 19) args.push('--ultra');
  args.push(level < 0 ? `--fast=${-level}` : `-${level}`);
  return args;
}

const missing = () =>
  new LifeboatError('BINARY_MISSING', 'zstd is not installed', { hint: 'install it (Debian: apt-get install zstd) or choose --compression gzip' });

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
    this.child = spawn('zstd', [...zstdFlags(c, threads), '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => {
      stderr = (stderr + d).slice(-2000);
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.size += d.length;
      this.wake?.();
    });
    this.done = new Promise<void>((resolve, reject) => {
      this.child.on('error', (err: NodeJS.ErrnoException) => {
        this.fail(err.code === 'ENOENT' ? missing() : err);
        reject(this.failure);
      });
      this.child.on('close', (code, signal) => {
        if (code === 0) {
          this.ended = true;
          this.wake?.();
          resolve();
          return;
        }
        const why = signal ? `signal ${signal}` : `exit code ${code}`;
        this.fail(new LifeboatError('COMMAND_FAILED', `zstd failed (${why}): ${stderr.trim().split('\n').pop() ?? ''}`));
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
  const child = spawn('zstd', ['-q', '-d', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  source.on('error', (e) => child.stdout.destroy(e));
  child.stdin.on('error', () => undefined); // zstd gone: reported by 'close'
  source.pipe(child.stdin);
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? missing() : err));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new LifeboatError('COMMAND_FAILED', `zstd -d failed (${signal ? `signal ${signal}` : `exit code ${code}`}): ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
  done.catch(() => undefined);
  return { output: child.stdout, done };
}
