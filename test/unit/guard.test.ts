/**
 * The plugin boundary on the agent's side (src/runtime/guard.ts): every
 * failure labelled with plugin, operation and host; transient storage failures
 * retried where that is safe and only there; calls held to the storage's
 * connections; secrets redacted.
 */
import { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { LifeboatError } from '../../src/core/errors.js';
import { definePlugin } from '../../src/core/plugin.js';
import { storageError, type ObjectInfo, type Storage } from '../../src/core/storage.js';
import { fakeSource, MemoryStorage, bodyOf, readAll } from '../../src/core/testing/index.js';
import { guardSource, guardStorage } from '../../src/runtime/guard.js';
import { PluginRegistry } from '../../src/runtime/plugins.js';
import { rejection } from '../helpers/rejection.js';

const label = { plugin: 'memory', repository: 'offsite', host: 'db1' };
const instant = { sleep: async () => undefined, random: () => 0.5 };

describe('source plugins', () => {
  test("a step's failure carries plugin, step and host; anything thrown becomes a LifeboatError", async () => {
    const fake = fakeSource({ failStep: { probe: () => new Error('psql: connection refused') } });
    const guarded = guardSource(fake.plugin, 'db1');
    const e = await rejection(guarded.source.steps.probe({} as never));
    expect(e).toBeInstanceOf(LifeboatError);
    expect(e).toMatchObject({ code: 'AGENT_FAILED', message: 'psql: connection refused', details: { plugin: 'fake', step: 'probe', operation: 'probe', host: 'db1' } });
  });

  test('a PITR step is named by its own name', async () => {
    const fake = fakeSource({ steps: { runPitrStep: async () => Promise.reject(new LifeboatError('COMMAND_FAILED', 'tar: short read')) } });
    const e = await rejection(guardSource(fake.plugin, 'db1').source.steps.runPitrStep!({} as never, {} as never, 'restore-base', {} as never));
    expect(e).toMatchObject({ code: 'COMMAND_FAILED', details: { step: 'pitr:restore-base' } });
  });

  test('optional steps the plugin lacks stay absent', () => {
    expect(guardSource(fakeSource().plugin, 'db1').source.steps.physicalBackup).toBeUndefined();
  });
});

describe('storage', () => {
  test('transient failures of stat and get are retried with growing waits; the call then succeeds', async () => {
    const mem = new MemoryStorage();
    mem.seed('a/b', 'hello');
    mem.faults.push({ op: 'stat', error: () => storageError('transient', 'SlowDown: reduce your request rate'), times: 2 });
    mem.faults.push({ op: 'get', error: () => storageError('transient', '503 Service Unavailable'), times: 3 });
    const waits: number[] = [];
    const s = guardStorage(mem, label, { sleep: async (ms) => void waits.push(ms), random: () => 0.5 });
    expect((await s.stat('a/b'))?.size).toBe(5);
    expect(waits).toEqual([100, 400]);
    expect((await readAll(await s.get('a/b'))).toString()).toBe('hello');
    expect(waits).toEqual([100, 400, 100, 400, 1600]);
  });

  test('after the last try, and at once for a permanent failure, the error is labelled with plugin, repository, operation and host', async () => {
    const mem = new MemoryStorage({ faults: [{ op: 'delete', error: () => storageError('transient', 'timeout') }] });
    const s = guardStorage(mem, label, instant);
    expect(await rejection(s.delete('k'))).toMatchObject({ code: 'STORAGE_FAILED', message: 'timeout', details: { ...label, operation: 'delete', storageError: 'transient' } });
    expect(mem.calls.filter((c) => c.op === 'delete')).toHaveLength(4);
    const denied = new MemoryStorage({ faults: [{ op: 'stat', error: () => storageError('access-denied', 'AccessDenied: not allowed') }] });
    await rejection(guardStorage(denied, label, instant).stat('k'));
    expect(denied.calls.filter((c) => c.op === 'stat')).toHaveLength(1);
  });

  test('a put is never retried (its body is spent), but its failure is labelled', async () => {
    const mem = new MemoryStorage({ faults: [{ op: 'put', error: () => storageError('transient', 'connection reset') }] });
    const e = await rejection(guardStorage(mem, label, instant).put('a/b', bodyOf('x')));
    expect(e).toMatchObject({ details: { operation: 'put', plugin: 'memory' } });
    expect(mem.calls.filter((c) => c.op === 'put')).toHaveLength(1);
  });

  test('list is retried only before its first object (a retry after would list some twice)', async () => {
    let calls = 0;
    const flaky = (failAfter: number): Storage => ({
      capabilities: { randomAccess: true, atomicReplace: true, connections: 2 },
      description: 'flaky',
      put: () => Promise.reject(new Error('no')),
      get: () => Promise.reject(new Error('no')),
      stat: async () => undefined,
      delete: async () => undefined,
      async *list(): AsyncIterable<ObjectInfo> {
        calls++;
        for (let i = 0; i < 3; i++) {
          if (i === failAfter && calls < 3) throw storageError('transient', 'list page timed out');
          yield { key: `k${i}`, size: i };
        }
      },
    });
    const keys = async (s: Storage) => {
      const out: string[] = [];
      for await (const o of s.list('')) out.push(o.key);
      return out;
    };
    expect(await keys(guardStorage(flaky(0), label, instant))).toEqual(['k0', 'k1', 'k2']);
    expect(calls).toBe(3);
    calls = 0;
    expect(await rejection(keys(guardStorage(flaky(1), label, instant)))).toMatchObject({ details: { operation: 'list' } });
    expect(calls).toBe(1);
  });

  test('at most `connections` calls run at once', async () => {
    let running = 0;
    let most = 0;
    const slow: Storage = {
      capabilities: { randomAccess: true, atomicReplace: true, connections: 2 },
      description: 'slow',
      put: () => Promise.reject(new Error('no')),
      get: async () => Readable.from([]),
      stat: async () => {
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        return undefined;
      },
      delete: async () => undefined,
      list: async function* () {},
    };
    const s = guardStorage(slow, label);
    await Promise.all(Array.from({ length: 7 }, (_, i) => s.stat(`k${i}`)));
    expect(most).toBe(2);
  });

  test('secrets do not get out: description and errors are redacted', async () => {
    const leaky = new MemoryStorage({
      description: 's3://bucket/prefix (key AKIAIOSFODNN7EXAMPLE)',
      faults: [{ op: 'get', error: () => new LifeboatError('STORAGE_FAILED', 'GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2026&X-Amz-Signature=0f1e2d3c4b5a failed', { hint: 'Authorization: AWS4-HMAC-SHA256 Credential=abc' }) }],
    });
    const s = guardStorage(leaky, label, instant);
    expect(s.description).toBe('s3://bucket/prefix (key AKIA****************)');
    const e = await rejection(s.get('k'));
    expect(e.message).not.toMatch(/0f1e2d3c4b5a|AKIAIOSFODNN7EXAMPLE/);
    expect(e.message).toContain('X-Amz-Signature=***');
    expect((e as LifeboatError).hint).toBe('Authorization: ***');
  });

  test('abandoned uploads: the hook is passed through, labelled', async () => {
    const mem = new MemoryStorage();
    expect(guardStorage(mem, label).abandonedUploads).toBeUndefined();
    const withHook = Object.assign(new MemoryStorage(), { abandonedUploads: async () => [{ key: 'c/backup/x/base.tar.zst', size: 10 }] });
    expect(await guardStorage(withHook, label).abandonedUploads!({ prefix: 'c', olderThanMs: 0, remove: false })).toEqual([{ key: 'c/backup/x/base.tar.zst', size: 10 }]);
  });
});

test('a second plugin with a name already loaded is refused, naming both', () => {
  const one = definePlugin({ apiVersion: 1, meta: { name: 'vault', version: '1.0.0', description: 'one' }, storage: { configSchema: {} as never, create: () => new MemoryStorage() } });
  const registry = new PluginRegistry([one]);
  expect(() => registry.add({ ...one, meta: { ...one.meta, description: 'two' } }, './plugins/vault2.mjs')).toThrow(
    /plugin \.\/plugins\/vault2\.mjs is named "vault", as plugin built-in already is/,
  );
});

test('a synchronous step stays synchronous (a plan step list is not a promise); its throw is labelled too', () => {
  const fake = fakeSource({ steps: { pitrSteps: () => [{ name: 'restore-base', description: 'x', precondition: 'y' }] as never } });
  const guarded = guardSource(fake.plugin, 'db1');
  expect(guarded.source.steps.pitrSteps!({} as never, {} as never)).toEqual([{ name: 'restore-base', description: 'x', precondition: 'y' }]);
  const throwing = guardSource(fakeSource({ steps: { pitrSteps: () => { throw new Error('no'); } } }).plugin, 'db1');
  expect(() => throwing.source.steps.pitrSteps!({} as never, {} as never)).toThrow(expect.objectContaining({ details: expect.objectContaining({ step: 'pitrSteps', host: 'db1' }) }));
});
