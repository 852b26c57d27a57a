import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pipeStoredToTool, storeStream, type StoredObject } from '../../src/core/pipeline.js';
import { LocalStorage } from '../../src/storage/local/local-storage.js';

// The restore fast path (zstd's stdout straight into the tool) against real
// zstd and sha256sum/cat: the bytes arrive whole, and a changed stored byte fails.
let dir: string;
let storage: LocalStorage;
const data = Buffer.concat(Array.from({ length: 4096 }, (_, i) => Buffer.from(`line ${i} ${'x'.repeat(i % 300)}\n`)));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pipe-'));
  storage = new LocalStorage(path.join(dir, 'repo'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe.each(['zstd', 'gzip', 'none'] as const)('pipeStoredToTool (%s)', (algorithm) => {
  let obj: StoredObject;
  beforeAll(async () => {
    obj = await storeStream(storage, 'data', `c/${algorithm}/data`, Readable.from([data]), { compression: { algorithm, level: 1 } as never });
  });

  test('the tool receives the original bytes', async () => {
    const out = path.join(dir, `out-${algorithm}`);
    await pipeStoredToTool(storage, obj, 'sh', ['-c', `cat > ${out}`]);
    expect(createHash('sha256').update(await readFile(out)).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  test('a changed stored byte fails with VERIFY_FAILED naming the object', async () => {
    const file = path.join(dir, 'repo', obj.key);
    const orig = await readFile(file);
    const bad = Buffer.from(orig);
    bad[bad.length - 5] = bad[bad.length - 5]! ^ 0xff;
    await writeFile(file, bad);
    try {
      await expect(pipeStoredToTool(storage, obj, 'sh', ['-c', 'cat > /dev/null'])).rejects.toMatchObject({ code: 'VERIFY_FAILED', message: expect.stringContaining(obj.key) });
    } finally {
      await writeFile(file, orig);
    }
  });

  test('a failing tool is one clear error', async () => {
    await expect(pipeStoredToTool(storage, obj, 'sh', ['-c', 'echo nope >&2; exit 3'])).rejects.toMatchObject({ code: 'COMMAND_FAILED', message: expect.stringContaining('nope') });
  });
});
