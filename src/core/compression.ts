import { PassThrough, type Duplex } from 'node:stream';
import { createGzip, createGunzip, constants as zc } from 'node:zlib';
import { execa } from 'execa';
import { z } from 'zod';
import { ZSTD_BIN, ZSTD_DECOMPRESS_ARGS, zstdCompressArgs, zstdMissing } from './zstd.js';

export const CompressionSchema = z.object({
  algorithm: z.enum(['zstd', 'gzip', 'none']),
  level: z.number().int().min(-7).max(22).optional(),
  /** zstd worker threads; 0 = one per core. */
  threads: z.number().int().min(0).max(64).optional(),
});
export type Compression = z.infer<typeof CompressionSchema>;

export const DEFAULT_COMPRESSION: Compression = { algorithm: 'zstd', level: 1 };

/** The algorithm a stored key's suffix names (the inverse of compressionSuffix). */
export function compressionOfKey(key: string): Compression['algorithm'] {
  return key.endsWith('.zst') ? 'zstd' : key.endsWith('.gz') ? 'gzip' : 'none';
}

/** File-name suffix for an algorithm: `.zst`, `.gz` or nothing. */
export function compressionSuffix(c: Compression): string {
  return c.algorithm === 'zstd' ? '.zst' : c.algorithm === 'gzip' ? '.gz' : '';
}

/**
 * A compressing transform. zstd runs as a child process (Node 20's zlib has no
 * zstd; `zstd -T0` is multi-threaded and ~4x faster than in-process gzip), gzip runs
 * in-process. A failing zstd process errors the stream.
 */
export function compressStream(c: Compression, signal?: AbortSignal): Duplex {
  switch (c.algorithm) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGzip({ level: clamp(c.level ?? 6, 1, 9) });
    case 'zstd':
      return zstdProcess(zstdArgs(c), 'compress', signal);
  }
}

/** The inverse of `compressStream`. */
export function decompressStream(c: Pick<Compression, 'algorithm'>, signal?: AbortSignal): Duplex {
  switch (c.algorithm) {
    case 'none':
      return new PassThrough();
    case 'gzip':
      return createGunzip({ finishFlush: zc.Z_SYNC_FLUSH });
    case 'zstd':
      return zstdProcess(ZSTD_DECOMPRESS_ARGS, 'decompress', signal);
  }
}

/** zstd command-line flags for a compression setting, as backups run it (src/core/zstd.ts owns them). */
export function zstdArgs(c: Compression): string[] {
  return zstdCompressArgs(c);
}

function zstdProcess(args: readonly string[], direction: 'compress' | 'decompress', signal?: AbortSignal): Duplex {
  const child = execa(ZSTD_BIN, args, {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    ...(signal ? { cancelSignal: signal } : {}),
  });
  const duplex = child.duplex();
  child.catch(() => undefined); // surfaced through the duplex
  duplex.on('error', () => undefined);
  const wrapped = duplex as Duplex & { lifeboatChild?: unknown };
  wrapped.lifeboatChild = child;
  // Make a missing zstd binary a clear error.
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') duplex.destroy(zstdMissing(direction));
  });
  return duplex;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, n));
}
