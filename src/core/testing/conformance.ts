import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withDeadline } from '../deadline.js';
import type { Storage } from '../storage.js';
import { SeededStream, bodyOf, patternBytes, readAll, stallingBody } from './streams.js';

/** Builds a fresh, empty storage for one test; `cleanup` removes whatever it made. */
export type StorageFactory = () => Promise<{ storage: Storage; cleanup?: () => Promise<void> }>;

export interface ConformanceOptions {
  /** Size of the streamed large object; default 200 MiB. */
  largeObjectBytes?: number;
}

const HOSTILE_KEYS = ['..', 'a/../b', '/etc/passwd', 'a\\b', 'a\0b', '', './a', 'a//b', 'a/'];
/** Hostile as keys but legitimate list prefixes. */
const VALID_PREFIXES = new Set(['', 'a/']);
const MAX_RSS_GROWTH = 100 * 1024 * 1024;

async function errorOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err ?? new Error('thrown undefined');
  }
  return undefined;
}

/** The `code` of what `fn` throws or rejects with (not `instanceof`: plugins may bundle their own SDK). */
async function codeOf(fn: () => unknown): Promise<unknown> {
  const err = await errorOf(fn);
  return err === undefined ? 'no error' : (err as { code?: unknown }).code;
}

async function listKeys(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of storage.list(prefix)) keys.push(info.key);
  return keys.sort();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a clear failure if it has not settled within `ms` (e.g. a put ignoring its signal). */
const within = <T,>(promise: Promise<T>, ms: number, what: string): Promise<T> => withDeadline(promise, ms, () => new Error(`${what} did not settle within ${ms} ms`));

/**
 * Register a vitest `describe` block checking that a storage honours the
 * `Storage` contract: round trips, large streamed objects in flat memory,
 * atomic visibility, overwrite, `ifNoneMatch`, prefix listing, delete, missing
 * and hostile keys, ranges and cancellation. `factory` is called before every
 * test and must return an empty storage.
 */
export function storageConformance(name: string, factory: StorageFactory, options: ConformanceOptions = {}): void {
  const largeBytes = options.largeObjectBytes ?? 200 * 1024 * 1024;

  describe(`storage conformance: ${name}`, () => {
    let storage: Storage;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const made = await factory();
      storage = made.storage;
      cleanup = made.cleanup;
    }, 60_000);

    afterEach(async () => {
      await storage?.close?.();
      await cleanup?.();
    }, 60_000);

    it('round-trips small and empty objects byte for byte', async () => {
      const data = patternBytes(5000);
      expect(await storage.put('small/Az09._+@=,-x', bodyOf(data))).toEqual({ key: 'small/Az09._+@=,-x', size: 5000 });
      expect((await readAll(await storage.get('small/Az09._+@=,-x'))).equals(data)).toBe(true);
      const info = await storage.stat('small/Az09._+@=,-x');
      expect(info).toMatchObject({ key: 'small/Az09._+@=,-x', size: 5000 });
      if (info?.mtimeMs !== undefined) expect(info.mtimeMs).toBeGreaterThan(0);

      expect(await storage.put('empty', bodyOf(''))).toEqual({ key: 'empty', size: 0 });
      expect((await readAll(await storage.get('empty'))).length).toBe(0);
      expect(await storage.stat('empty')).toMatchObject({ key: 'empty', size: 0 });
    }, 30_000);

    it(`streams a large object (${largeBytes} bytes) in flat memory`, async () => {
      (globalThis as { gc?: () => void }).gc?.();
      const base = process.memoryUsage.rss();
      let peak = base;
      const sample = () => void (peak = Math.max(peak, process.memoryUsage.rss()));
      const timer = setInterval(sample, 20);
      try {
        const body = new SeededStream(largeBytes, 0x5eed);
        expect(await storage.put('large/object.bin', body)).toEqual({ key: 'large/object.bin', size: largeBytes });
        const expected = body.sha256();
        const hash = createHash('sha256');
        let size = 0;
        for await (const chunk of await storage.get('large/object.bin')) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
          sample();
        }
        expect(size).toBe(largeBytes);
        expect(hash.digest('hex')).toBe(expected);
        expect((await storage.stat('large/object.bin'))?.size).toBe(largeBytes);
      } finally {
        clearInterval(timer);
      }
      expect(peak - base, 'RSS growth during put+get').toBeLessThan(MAX_RSS_GROWTH);
    }, 120_000);

    it('does not show an object while its put is in flight', async () => {
      const body = stallingBody(patternBytes(1000));
      const put = storage.put('atomic/slow', body.stream);
      put.catch(() => undefined);
      await body.stalled;
      await sleep(50);
      expect(await storage.stat('atomic/slow')).toBeUndefined();
      expect(await codeOf(() => storage.get('atomic/slow'))).toBe('NOT_FOUND');
      expect(await listKeys(storage, '')).toEqual([]);
      body.finish(patternBytes(500, 7));
      expect(await put).toEqual({ key: 'atomic/slow', size: 1500 });
      const expected = Buffer.concat([patternBytes(1000), patternBytes(500, 7)]);
      expect((await readAll(await storage.get('atomic/slow'))).equals(expected)).toBe(true);
    }, 30_000);

    it('a put whose body fails half way leaves nothing and keeps the earlier version', async () => {
      await storage.put('atomic/keep', bodyOf('version one'));
      for (const key of ['atomic/keep', 'atomic/new']) {
        const body = stallingBody(patternBytes(4096));
        const put = storage.put(key, body.stream);
        put.catch(() => undefined);
        await body.stalled;
        body.fail(new Error('body broke half way'));
        const err = await errorOf(() => within(put, 10_000, 'put with a failing body'));
        expect(err, `put ${key} must reject`).toBeDefined();
        expect(String((err as Error).message)).not.toMatch(/did not settle/);
      }
      expect((await readAll(await storage.get('atomic/keep'))).toString()).toBe('version one');
      expect(await storage.stat('atomic/new')).toBeUndefined();
      expect(await listKeys(storage, '')).toEqual(['atomic/keep']);
    }, 30_000);

    it('an aborted put leaves nothing', async () => {
      const ac = new AbortController();
      const body = stallingBody(patternBytes(4096));
      const put = storage.put('abort/during', body.stream, { signal: ac.signal });
      put.catch(() => undefined);
      await body.stalled;
      ac.abort();
      const err = await errorOf(() => within(put, 10_000, 'aborted put'));
      expect(err, 'put aborted in flight must reject').toBeDefined();
      expect(String((err as Error).message)).not.toMatch(/did not settle/);
      const pre = await errorOf(() => storage.put('abort/before', bodyOf('x'), { signal: AbortSignal.abort() }));
      expect(pre, 'put with an aborted signal must reject').toBeDefined();
      expect(await storage.stat('abort/during')).toBeUndefined();
      expect(await storage.stat('abort/before')).toBeUndefined();
      expect(await listKeys(storage, '')).toEqual([]);
    }, 30_000);

    it('overwrite replaces the content', async () => {
      await storage.put('ow/obj', bodyOf(patternBytes(10_000)));
      await storage.put('ow/obj', bodyOf('short'));
      expect((await readAll(await storage.get('ow/obj'))).toString()).toBe('short');
      expect((await storage.stat('ow/obj'))?.size).toBe(5);
      expect(await listKeys(storage, '')).toEqual(['ow/obj']);
    }, 30_000);

    it('ifNoneMatch refuses an existing key', async () => {
      await storage.put('inm/obj', bodyOf('first'));
      expect(await codeOf(() => storage.put('inm/obj', bodyOf('second'), { ifNoneMatch: true }))).toBe('STORAGE_FAILED');
      expect((await readAll(await storage.get('inm/obj'))).toString()).toBe('first');
      expect(await storage.put('inm/new', bodyOf('new'), { ifNoneMatch: true })).toEqual({ key: 'inm/new', size: 3 });
      expect(await listKeys(storage, '')).toEqual(['inm/new', 'inm/obj']);
    }, 30_000);

    it('lists by plain string prefix', async () => {
      const keys = ['list/a/1', 'list/a/2', 'list/ab/3', 'list/b/c/4', 'list/x', 'other'];
      for (const [i, key] of keys.entries()) await storage.put(key, bodyOf('x'.repeat(i)));
      expect(await listKeys(storage, '')).toEqual(keys);
      expect(await listKeys(storage, 'list/')).toEqual(keys.slice(0, 5));
      expect(await listKeys(storage, 'list/a')).toEqual(['list/a/1', 'list/a/2', 'list/ab/3']);
      expect(await listKeys(storage, 'list/a/')).toEqual(['list/a/1', 'list/a/2']);
      expect(await listKeys(storage, 'list/b/c/4')).toEqual(['list/b/c/4']);
      expect(await listKeys(storage, 'li')).toEqual(keys.slice(0, 5));
      expect(await listKeys(storage, 'nothing')).toEqual([]);
      expect(await listKeys(storage, 'list/zz/')).toEqual([]);
      const infos = [];
      for await (const info of storage.list('list/b')) infos.push(info);
      expect(infos).toEqual([expect.objectContaining({ key: 'list/b/c/4', size: 3 })]);
    }, 30_000);

    it('deletes, and deleting a missing key is not an error', async () => {
      await storage.put('del/deep/nested/obj', bodyOf('x'));
      await storage.put('del/keep', bodyOf('y'));
      await storage.delete('del/deep/nested/obj');
      expect(await storage.stat('del/deep/nested/obj')).toBeUndefined();
      expect(await codeOf(() => storage.get('del/deep/nested/obj'))).toBe('NOT_FOUND');
      expect(await listKeys(storage, '')).toEqual(['del/keep']);
      await storage.delete('del/deep/nested/obj');
      await storage.delete('never/existed');
      await storage.put('del/deep/nested/obj', bodyOf('z'));
      expect((await readAll(await storage.get('del/deep/nested/obj'))).toString()).toBe('z');
    }, 30_000);

    it('reports missing keys', async () => {
      expect(await codeOf(() => storage.get('missing/obj'))).toBe('NOT_FOUND');
      expect(await storage.stat('missing/obj')).toBeUndefined();
      await storage.put('dir/file', bodyOf('x'));
      expect(await codeOf(() => storage.get('dir')), 'a "directory" is not an object').toBe('NOT_FOUND');
      expect(await storage.stat('dir')).toBeUndefined();
    }, 30_000);

    it('rejects hostile keys with KEY_INVALID', async () => {
      for (const key of HOSTILE_KEYS) {
        const k = JSON.stringify(key);
        expect(await codeOf(() => storage.put(key, bodyOf('x'))), `put ${k}`).toBe('KEY_INVALID');
        expect(await codeOf(() => storage.get(key)), `get ${k}`).toBe('KEY_INVALID');
        expect(await codeOf(() => storage.stat(key)), `stat ${k}`).toBe('KEY_INVALID');
        expect(await codeOf(() => storage.delete(key)), `delete ${k}`).toBe('KEY_INVALID');
        if (!VALID_PREFIXES.has(key)) expect(await codeOf(() => listKeys(storage, key)), `list ${k}`).toBe('KEY_INVALID');
      }
      expect(await listKeys(storage, '')).toEqual([]);
    }, 30_000);

    it('reads inclusive ranges', async (ctx) => {
      if (!storage.capabilities.randomAccess) ctx.skip('no random access');
      const data = patternBytes(100_000, 3);
      await storage.put('range/obj', bodyOf(data));
      const ranges: [number, number][] = [[0, 0], [0, 99_999], [10, 19], [65_530, 70_000], [99_999, 99_999]];
      for (const [start, end] of ranges) {
        const got = await readAll(await storage.get('range/obj', { range: [start, end] }));
        expect(got.equals(data.subarray(start, end + 1)), `range [${start}, ${end}]`).toBe(true);
      }
    }, 30_000);
  });
}
