import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Compression } from './compression.js';
import { spawnZstd, stderrTail, zstdCompressArgs, zstdFailed, zstdSpawnError } from './zstd.js';

/**
 * True when `source` is a pipe with a file descriptor (a child process's stdout),
 * which zstd can read directly.
 */
export function hasPipeFd(source: Readable): boolean {
  const handle = (source as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0;
}

/**
 * zstd reading the producer's pipe itself (pg_dump → zstd, no copy through
 * Node): the fast path, as fast as a shell pipeline. Node only reads zstd's
 * (compressed) output. Raw bytes are sampled from /proc/<pid>/io while it runs
 * and taken from zstd's own summary at the end.
 */
export function zstdFromPipe(
  source: Readable,
  c: Compression,
  opts: { signal?: AbortSignal; onProgress?: (rawBytes: number) => void } = {},
): { output: Readable; done: Promise<{ rawSize: number }> } {
  // -vv: zstd's closing summary gives the raw size
  const child = spawnZstd(zstdCompressArgs(c, { summary: true }), {
    stdio: [source as unknown as 'pipe', 'pipe', 'pipe'],
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  // the producer now writes to zstd; our copy of the pipe must not read or keep it open
  source.destroy();
  const stderr = stderrTail(child);
  let lastRead = 0;
  const sample = async () => {
    try {
      const io = await readFile(`/proc/${child.pid}/io`, 'utf8');
      const m = /^rchar:\s*(\d+)/m.exec(io);
      if (m) {
        lastRead = Math.max(lastRead, Number(m[1]));
        opts.onProgress?.(lastRead);
      }
    } catch {
      /* not Linux, or zstd already gone */
    }
  };
  const timer = setInterval(() => void sample(), 250);
  const done = new Promise<{ rawSize: number }>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearInterval(timer);
      reject(zstdSpawnError(err, 'compress'));
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      if (code !== 0) {
        reject(zstdFailed('compress', { code, signal }, stderr()));
        return;
      }
      // "/*stdin*\ : 27.84%   (514021345 B => 226112231 B, /*stdout*\)"
      const m = /\(\s*(\d+) B =>/.exec(stderr());
      const rawSize = m ? Number(m[1]) : lastRead;
      opts.onProgress?.(rawSize);
      resolve({ rawSize });
    });
  });
  done.catch(() => undefined);
  child.stdout!.on('error', () => undefined);
  return { output: child.stdout!, done };
}
