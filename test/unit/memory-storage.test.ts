import { describe, expect, test } from 'vitest';
import { LifeboatError } from '../../src/core/errors.js';
import { storeStream } from '../../src/core/pipeline.js';
import { MemoryStorage, SeededStream, bodyOf, memoryStoragePlugin, patternBytes, readAll, storageConformance } from '../../src/core/testing/index.js';
import { rejection } from '../helpers/rejection.js';

// The in-memory double honours the same contract as every real storage.
storageConformance('memory', async () => ({ storage: new MemoryStorage() }), { largeObjectBytes: 16 * 1024 * 1024 });


describe('MemoryStorage fault injection', () => {
  test('a faulted put rejects with the given error and leaves nothing, nor damages the earlier version', async () => {
    const storage = new MemoryStorage({ faults: [{ op: 'put', key: /manifest\.json$/, error: () => new LifeboatError('STORAGE_FAILED', 'disk full') }] });
    await storage.put('c/backup/1/dump', bodyOf('data'));
    storage.seed('c/backup/2/manifest.json', 'old');
    expect(await rejection(storage.put('c/backup/1/manifest.json', bodyOf('{}')))).toMatchObject({ code: 'STORAGE_FAILED', message: 'disk full' });
    expect(await rejection(storage.put('c/backup/2/manifest.json', bodyOf('new')))).toMatchObject({ message: 'disk full' }); // no `times`: every time
    expect(storage.keys()).toEqual(['c/backup/1/dump', 'c/backup/2/manifest.json']);
    expect(storage.bytes('c/backup/2/manifest.json')?.toString()).toBe('old');
    expect(storage.calls.filter((c) => c.faulted)).toEqual([
      { op: 'put', key: 'c/backup/1/manifest.json', faulted: true },
      { op: 'put', key: 'c/backup/2/manifest.json', faulted: true },
    ]);
  });

  test('afterBytes fails mid-stream: the bytes before it were read, nothing is visible', async () => {
    const storage = new MemoryStorage().failNext('put', /\.zst$/, undefined, { afterBytes: 1024 });
    let read = 0;
    const body = bodyOf(patternBytes(64 * 1024));
    body.on('data', (c: Buffer) => (read += c.length));
    const err = await rejection(storage.put('a/dump.zst', new SeededStream(1024 * 1024, 1, 512)));
    expect(err).toMatchObject({ code: 'STORAGE_FAILED', message: 'injected fault: put a/dump.zst' });
    expect(await storage.stat('a/dump.zst')).toBeUndefined();
    expect(storage.keys()).toEqual([]);
    // failNext fires once: the next put goes through
    expect(await storage.put('a/dump.zst', body)).toEqual({ key: 'a/dump.zst', size: 64 * 1024 });
    expect(read).toBe(64 * 1024);
    expect(storage.faults).toEqual([]);
  });

  test('a body shorter than afterBytes is stored and the fault stays armed', async () => {
    const storage = new MemoryStorage({ faults: [{ op: 'put', afterBytes: 100, times: 1 }] });
    await storage.put('short', bodyOf('x'.repeat(99)));
    expect(storage.keys()).toEqual(['short']);
    expect(await rejection(storage.put('long', bodyOf('x'.repeat(100))))).toMatchObject({ code: 'STORAGE_FAILED' });
    expect(storage.keys()).toEqual(['short']);
  });

  test('through storeStream, a mid-stream put failure rejects the write with its own code', async () => {
    const storage = new MemoryStorage().failNext('put', undefined, () => new LifeboatError('STORAGE_FAILED', 'quota exceeded'), { afterBytes: 256 * 1024 });
    const err = await rejection(storeStream(storage, 'dump', 'c/backup/x/dump', new SeededStream(4 * 1024 * 1024, 9), { compression: { algorithm: 'none' } }));
    expect(err).toMatchObject({ code: 'STORAGE_FAILED', message: 'quota exceeded' });
    expect(storage.keys()).toEqual([]);
  });

  test('get faults: at once, or a short read surfacing as a stream error', async () => {
    const storage = new MemoryStorage();
    storage.seed('obj', patternBytes(300_000));
    storage.failNext('get', 'obj');
    expect(await rejection(storage.get('obj'))).toMatchObject({ code: 'STORAGE_FAILED' });
    storage.failNext('get', 'obj', new Error('connection reset'), { afterBytes: 100_000 });
    const stream = await storage.get('obj');
    let got = 0;
    const err = await rejection(
      (async () => {
        for await (const c of stream) got += (c as Buffer).length;
      })(),
    );
    expect(err.message).toBe('connection reset');
    expect(got).toBe(100_000);
    expect((await readAll(await storage.get('obj'))).length).toBe(300_000); // used up
  });

  test('stat, list and delete faults; hostile keys stay KEY_INVALID and are not recorded', async () => {
    const storage = new MemoryStorage({
      faults: [
        { op: 'stat', key: (k) => k.startsWith('s/') },
        { op: 'list', key: 'l/' },
        { op: 'delete', error: (key) => new LifeboatError('STORAGE_FAILED', `cannot delete ${key}`) },
      ],
    });
    storage.seed('s/a', 'x');
    expect(await rejection(storage.stat('s/a'))).toMatchObject({ code: 'STORAGE_FAILED' });
    expect(await storage.stat('t')).toBeUndefined();
    expect(await rejection((async () => { for await (const _ of storage.list('l/')) void _; })())).toMatchObject({ code: 'STORAGE_FAILED' });
    expect(await rejection(storage.delete('s/a'))).toMatchObject({ message: 'cannot delete s/a' });
    expect(await rejection(storage.put('../x', bodyOf('x')))).toMatchObject({ code: 'KEY_INVALID' });
    expect(storage.keys()).toEqual(['s/a']);
    expect(storage.calls.map((c) => `${c.op} ${c.key}${c.faulted ? ' !' : ''}`)).toEqual(['stat s/a !', 'stat t', 'list l/ !', 'delete s/a !']);
    storage.clearFaults();
    await storage.delete('s/a');
    expect(storage.keys()).toEqual([]);
  });

  test('memoryStoragePlugin hands out the given storage', async () => {
    const storage = new MemoryStorage();
    const plugin = memoryStoragePlugin(storage);
    expect(plugin.meta.name).toBe('memory');
    expect(plugin.storage.configSchema.parse({})).toEqual({});
    expect(await plugin.storage.create({}, { log: () => undefined })).toBe(storage);
  });
});
