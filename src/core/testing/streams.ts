import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';

/** A body yielding `data` (possibly empty) as a byte stream. */
export function bodyOf(data: Buffer | string): Readable {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return Readable.from(buf.length ? [buf] : [], { objectMode: false });
}

/** Collect a stream into one buffer (small objects only). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Bytes 0..255 repeated: every byte value, position-dependent. */
export function patternBytes(size: number, seed = 0): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + seed) & 0xff;
  return buf;
}

/**
 * `size` deterministic pseudo-random bytes from `seed` (xorshift32), produced
 * on demand with backpressure; `sha256()` is the digest of everything produced.
 */
export class SeededStream extends Readable {
  #state: number;
  #remaining: number;
  readonly #hash: Hash = createHash('sha256');
  readonly chunkSize: number;

  constructor(size: number, seed: number, chunkSize = 256 * 1024) {
    super({ highWaterMark: chunkSize });
    this.chunkSize = chunkSize;
    this.#state = seed >>> 0 || 1;
    this.#remaining = size;
  }

  override _read(): void {
    if (this.#remaining === 0) {
      this.push(null);
      return;
    }
    const n = Math.min(this.chunkSize, this.#remaining);
    const words = new Uint32Array(Math.ceil(n / 4));
    let x = this.#state;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x >>> 0;
    }
    this.#state = x;
    this.#remaining -= n;
    const chunk = Buffer.from(words.buffer, 0, n);
    this.#hash.update(chunk);
    this.push(chunk);
  }

  /** Digest of the bytes produced; call once the stream has ended. */
  sha256(): string {
    return this.#hash.digest('hex');
  }
}

/**
 * A body that sends `first`, then stalls: `stalled` resolves once it waits,
 * `finish(rest)` completes it, `fail(err)` errors it.
 */
export function stallingBody(first: Buffer): {
  stream: Readable;
  stalled: Promise<void>;
  finish: (rest: Buffer) => void;
  fail: (err: Error) => void;
} {
  let sentFirst = false;
  let onStall!: () => void;
  const stalled = new Promise<void>((resolve) => (onStall = resolve));
  const stream = new Readable({
    read() {
      if (!sentFirst) {
        sentFirst = true;
        this.push(first);
      } else {
        onStall();
      }
    },
  });
  return {
    stream,
    stalled,
    finish: (rest) => {
      stream.push(rest);
      stream.push(null);
    },
    fail: (err) => stream.destroy(err),
  };
}
