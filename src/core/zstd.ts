/**
 * The zstd command line, in one place: every zstd lifeboat runs (backup streams
 * in compression.ts, the direct pipe from pg_dump in direct-zstd.ts, restores
 * into a tool in pipeline.ts, the WAL hooks in src/wal/zstd.ts) takes its binary,
 * flags and error messages from here. Node builtins and errors.ts only: the WAL
 * hooks' bundle imports this and must start fast (no execa, no zod).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { LifeboatError } from './errors.js';

/** The binary, found on PATH (never through a tool's commandPrefix: zstd runs beside the agent). */
export const ZSTD_BIN = 'zstd';

/** What a compression setting says to zstd (CompressionSchema's level and threads). */
export interface ZstdSetting {
  /** -7..22; default 1 (compresses dumps as well as 3, several times faster). */
  level?: number;
  /** Worker threads; 0 = one per core. */
  threads?: number;
}

export interface ZstdCompressOptions {
  /** Threads when the setting names none (default 0, one per core). */
  defaultThreads?: number;
  /**
   * With one thread, `--single-thread` instead of `-T1`: `-T1` adds an I/O thread
   * and a hand-off that cost ~20% more CPU on a 16 MiB WAL segment. The WAL pusher
   * runs one zstd per segment, several at a time, so CPU is its limit; a backup
   * stream keeps `-T1`, which overlaps reading with compressing.
   */
  singleThreadWhenOne?: boolean;
  /** `-vv` instead of `-q`: zstd ends with a summary on stderr (`(N B => M B`), e.g. for the raw size. */
  summary?: boolean;
}

/** zstd's flags to compress stdin (or a named file) to stdout for a compression setting. */
export function zstdCompressArgs(c: ZstdSetting, opts: ZstdCompressOptions = {}): string[] {
  const level = c.level ?? 1;
  const threads = c.threads ?? opts.defaultThreads ?? 0;
  const args = [opts.summary ? '-vv' : '-q', '-c', threads === 1 && opts.singleThreadWhenOne ? '--single-thread' : `-T${threads}`];
  if (level > 19) args.push('--ultra');
  args.push(level < 0 ? `--fast=${-level}` : `-${level}`);
  return args;
}

/** zstd's flags to decompress stdin to stdout. */
export const ZSTD_DECOMPRESS_ARGS: readonly string[] = ['-q', '-d', '-c'];

/** Start zstd with these flags. */
export function spawnZstd(args: readonly string[], opts: SpawnOptions): ChildProcess {
  return spawn(ZSTD_BIN, args, opts);
}

type Direction = 'compress' | 'decompress';

/** zstd is not installed (spawn's ENOENT). */
export function zstdMissing(direction: Direction): LifeboatError {
  return new LifeboatError('BINARY_MISSING', 'zstd is not installed', {
    // what is stored compressed must be read with zstd; only a new backup can choose another algorithm
    hint: direction === 'compress' ? 'install it (Debian: apt-get install zstd) or choose --compression gzip' : 'install it (Debian: apt-get install zstd)',
  });
}

/** zstd could not be started: not installed, else the spawn error as it is. */
export function zstdSpawnError(err: NodeJS.ErrnoException, direction: Direction): Error {
  return err.code === 'ENOENT' ? zstdMissing(direction) : err;
}

/**
 * zstd exited other than with 0: `zstd failed (exit code 1): <its last stderr line>`
 * (`zstd -d failed on <object> ...` when decompressing a named object).
 */
export function zstdFailed(direction: Direction, exit: { code: number | null; signal: NodeJS.Signals | string | null }, stderr: string, object?: string): LifeboatError {
  const what = direction === 'decompress' ? 'zstd -d' : 'zstd';
  const why = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  return new LifeboatError('COMMAND_FAILED', `${what} failed${object ? ` on ${object}` : ''} (${why}): ${stderr.trim().split('\n').pop() ?? ''}`);
}

/** Keep the last `max` characters of a child's stderr; read them with the returned function. */
export function stderrTail(child: ChildProcess, max = 4000): () => string {
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    tail = (tail + d).slice(-max);
  });
  return () => tail;
}
