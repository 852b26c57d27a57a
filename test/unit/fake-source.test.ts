import type { Readable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import type { Compression } from '../../src/core/compression.js';
import { LifeboatError } from '../../src/core/errors.js';
import type { StoredObject } from '../../src/core/pipeline.js';
import type { BackupWriter, LogicalBackupOptions } from '../../src/core/plugin.js';
import {
  MemoryStorage,
  fakeSource,
  storedReader,
  storeWriter,
  testManifest,
  testStepContext,
  type FakeObject,
} from '../../src/core/testing/index.js';
import { rejection } from '../helpers/rejection.js';

const options = (compression: Compression = { algorithm: 'none' }): LogicalBackupOptions => ({ format: 'custom', scope: { kind: 'database' }, compression });


/** A BackupWriter that only counts what it reads: where exactly did the data stop? */
function countingWriter(): BackupWriter & { received: Record<string, number> } {
  const received: Record<string, number> = {};
  return {
    backupId: '20260101-000000L-0000',
    received,
    async write(name: string, source: Readable): Promise<StoredObject> {
      received[name] = 0;
      for await (const chunk of source) received[name] += (chunk as Buffer).length;
      return { name, key: name, size: received[name], sha256: '0'.repeat(64), rawSize: received[name], compression: { algorithm: 'none' } };
    },
  };
}

const objects: FakeObject[] = [
  { name: 'db/app.dump', bytes: 300_000 },
  { name: 'globals.sql', bytes: 1000, seed: 42 },
];

describe.each(['none', 'gzip', 'zstd'] as const)('fake source end to end through storeStream into MemoryStorage (%s)', (algorithm) => {
  test('backup, verify and restore read back the same bytes; the calls are recorded', async () => {
    const fake = fakeSource({ objects });
    const storage = new MemoryStorage();
    const steps = fake.plugin.source.steps;
    const ctx = testStepContext(fake.plugin.source.configSchema.parse({ database: 'app' }), { cluster: 'main' });
    const writer = storeWriter(storage, { cluster: 'main' });
    const out = await steps.logicalBackup(ctx, writer, options({ algorithm, level: 1 }));
    const suffix = algorithm === 'zstd' ? '.zst' : algorithm === 'gzip' ? '.gz' : '';
    expect(storage.keys()).toEqual([`main/backup/${writer.backupId}/db/app.dump${suffix}`, `main/backup/${writer.backupId}/globals.sql${suffix}`]);
    expect(writer.objects.map((o) => [o.name, o.rawSize])).toEqual([['db/app.dump', 300_000], ['globals.sql', 1000]]);
    expect(fake.written).toEqual(writer.objects);
    expect(out.logical.databases).toEqual([{ name: 'app', objects: ['db/app.dump', 'globals.sql'], rowCounts: {}, tableCount: 0, countsInSnapshot: true }]);

    const manifest = testManifest(writer, out);
    const reader = storedReader(storage, manifest);
    expect((await steps.verifyStructure(ctx, reader)).map((c) => [c.name, c.ok])).toEqual([['db/app.dump: bytes', true], ['globals.sql: bytes', true]]);
    const plan = await steps.planRestore(ctx, manifest, { targetDatabase: 'copy', clean: false, tables: [], schemas: [] });
    expect(plan).toMatchObject({ backupId: manifest.id, targetDatabase: 'copy', sourceDatabase: 'app', targetExists: false });
    expect(await steps.applyRestore(ctx, reader, plan)).toMatchObject({ compared: 2, mismatches: 0 });

    expect(fake.calls.map((c) => c.step)).toEqual(['logicalBackup', 'verifyStructure', 'planRestore', 'applyRestore']);
    expect(fake.callsOf('logicalBackup')[0]!.args[1]).toEqual(options({ algorithm, level: 1 }));
    expect(fake.callsOf('logicalBackup')[0]!.ctx.cluster).toEqual({ name: 'main', config: { database: 'app' } });
  });
});

describe('scripted failures happen where asked', () => {
  test("'throw' after K bytes: the consumer got exactly K bytes, the step throws the scripted error", async () => {
    const fake = fakeSource({
      objects: [
        { name: 'first', bytes: 5000 },
        { name: 'second', bytes: 100_000, chunkSize: 256, fail: { afterBytes: 1000, error: () => new LifeboatError('COMMAND_FAILED', 'pg_dump died') } },
        { name: 'never', bytes: 10 },
      ],
    });
    const writer = countingWriter();
    const err = rejection(fake.plugin.source.steps.logicalBackup(testStepContext({}), writer, options()));
    expect(await err).toMatchObject({ code: 'COMMAND_FAILED', message: 'pg_dump died' });
    expect(writer.received).toEqual({ first: 5000, second: 1000 });
    expect(fake.written.map((o) => o.name)).toEqual(['first']);
  });

  test("'throw' through storeStream leaves nothing of the failed object; earlier objects are the core's to discard", async () => {
    const fake = fakeSource({ objects: [{ name: 'a', bytes: 2000 }, { name: 'b', bytes: 1_000_000, fail: { afterBytes: 200_000 } }] });
    const storage = new MemoryStorage();
    const writer = storeWriter(storage, { compression: { algorithm: 'gzip' } });
    expect(await rejection(fake.plugin.source.steps.logicalBackup(testStepContext({}), writer, options({ algorithm: 'gzip' })))).toMatchObject({
      code: 'COMMAND_FAILED',
      message: 'fake dump failed after 200000 bytes of b',
    });
    expect(storage.keys()).toEqual([`main/backup/${writer.backupId}/a.gz`]);
    expect(writer.objects.map((o) => o.name)).toEqual(['a']);
  });

  test("'stream' after K bytes: the data errors there, and storeStream rejects the write with it", async () => {
    const fake = fakeSource({ objects: [{ name: 'dump', bytes: 50_000, chunkSize: 4096, fail: { afterBytes: 10_000, how: 'stream' } }] });
    const writer = countingWriter();
    expect(await rejection(fake.plugin.source.steps.logicalBackup(testStepContext({}), writer, options()))).toMatchObject({ message: 'fake data of dump broke after 10000 bytes' });
    expect(writer.received).toEqual({ dump: 10_000 });

    const storage = new MemoryStorage();
    const coded = fakeSource({ objects: [{ name: 'dump', bytes: 50_000, fail: { afterBytes: 10_000, how: 'stream', error: () => new LifeboatError('COMMAND_FAILED', 'broken pipe') } }] });
    const plain = fakeSource({ objects: [{ name: 'dump', bytes: 50_000, fail: { afterBytes: 0, how: 'stream' } }] });
    expect(await rejection(coded.plugin.source.steps.logicalBackup(testStepContext({}), storeWriter(storage), options()))).toMatchObject({ code: 'COMMAND_FAILED', message: 'broken pipe' });
    expect(await rejection(plain.plugin.source.steps.logicalBackup(testStepContext({}), storeWriter(storage), options()))).toMatchObject({ code: 'STORAGE_FAILED' });
    expect(storage.keys()).toEqual([]);
  });

  test('afterBytes equal to the size delivers everything but never the end', async () => {
    const fake = fakeSource({ objects: [{ name: 'dump', bytes: 3000, chunkSize: 1000, fail: { afterBytes: 5000 } }] });
    const writer = countingWriter();
    expect(await rejection(fake.plugin.source.steps.logicalBackup(testStepContext({}), writer, options()))).toMatchObject({ code: 'COMMAND_FAILED' });
    expect(writer.received).toEqual({ dump: 3000 });
  });

  test("'stall' waits for the signal: cancelling mid-stream rejects CANCELLED and leaves nothing", async () => {
    const fake = fakeSource({ objects: [{ name: 'dump', bytes: 1_000_000, fail: { afterBytes: 128 * 1024, how: 'stall' } }] });
    const storage = new MemoryStorage();
    const ac = new AbortController();
    const backup = fake.plugin.source.steps.logicalBackup(testStepContext({}, { signal: ac.signal }), storeWriter(storage, { signal: ac.signal }), options());
    backup.catch(() => undefined);
    expect(await fake.stalled).toEqual({ object: 'dump', bytes: 128 * 1024 });
    ac.abort();
    expect(await rejection(backup)).toMatchObject({ code: 'CANCELLED' });
    expect(storage.keys()).toEqual([]);
  });

  test('a step whose signal is aborted stops before its next object, CANCELLED', async () => {
    const fake = fakeSource();
    const storage = new MemoryStorage();
    expect(await rejection(fake.plugin.source.steps.logicalBackup(testStepContext({}, { signal: AbortSignal.abort() }), storeWriter(storage), options()))).toMatchObject({ code: 'CANCELLED' });
    expect(storage.calls).toEqual([]);
  });

  test('a storage failure mid-stream is what the step throws (the fake adds nothing)', async () => {
    const fake = fakeSource({ objects: [{ name: 'dump', bytes: 1_000_000, fail: { afterBytes: 900_000 } }] });
    const storage = new MemoryStorage().failNext('put', /dump$/, () => new LifeboatError('STORAGE_FAILED', 'disk full'), { afterBytes: 100_000 });
    expect(await rejection(fake.plugin.source.steps.logicalBackup(testStepContext({}), storeWriter(storage), options()))).toMatchObject({ code: 'STORAGE_FAILED', message: 'disk full' });
    expect(storage.keys()).toEqual([]);
  });

  test('failStep throws at once; the call is still recorded', async () => {
    const fake = fakeSource({ failStep: { probe: () => new LifeboatError('CONNECTION_FAILED', 'no server') } });
    const ctx = testStepContext({});
    expect(await rejection(fake.plugin.source.steps.probe(ctx))).toMatchObject({ code: 'CONNECTION_FAILED' });
    delete fake.script.failStep; // the script is live
    expect(await fake.plugin.source.steps.probe(ctx)).toMatchObject({ database: 'app', databases: ['app'] });
    expect(fake.callsOf('probe')).toHaveLength(2);
  });

  test('read back: bytes unlike the script fail a check; changed stored bytes throw VERIFY_FAILED', async () => {
    const fake = fakeSource({ objects: [{ name: 'dump', bytes: 10_000 }] });
    const storage = new MemoryStorage();
    const writer = storeWriter(storage, { compression: { algorithm: 'none' } });
    const ctx = testStepContext({});
    const manifest = testManifest(writer, await fake.plugin.source.steps.logicalBackup(ctx, writer, options()));
    expect(await fake.expectedSha256('dump')).toMatch(/^[0-9a-f]{64}$/);

    fake.script.objects = [{ name: 'dump', bytes: 10_000, seed: 99 }];
    const [check] = await fake.plugin.source.steps.verifyRestore(ctx, storedReader(storage, manifest));
    expect(check).toMatchObject({ name: 'dump: bytes', ok: false });

    const key = writer.objects[0]!.key;
    const bad = storage.bytes(key)!;
    bad[0] = bad[0]! ^ 0xff;
    storage.seed(key, bad);
    expect(await rejection(fake.plugin.source.steps.verifyStructure(ctx, storedReader(storage, manifest)))).toMatchObject({ code: 'VERIFY_FAILED' });
  });

  test('the config schema is the test’s, and optional steps come from the script', async () => {
    const fake = fakeSource({
      name: 'pgfake',
      configSchema: z.object({ dsn: z.string().startsWith('postgres://') }),
      steps: { switchWal: async () => '000000010000000000000003' },
    });
    expect(fake.plugin.meta.name).toBe('pgfake');
    expect(fake.plugin.source.configSchema.safeParse({ dsn: 'mysql://' }).success).toBe(false);
    const ctx = testStepContext(fake.plugin.source.configSchema.parse({ dsn: 'postgres://x' }));
    expect(await fake.plugin.source.steps.switchWal!(ctx)).toBe('000000010000000000000003');
    expect(fake.plugin.source.steps.physicalBackup).toBeUndefined();
    expect(fakeSource().plugin.source.configSchema.safeParse({ unknown: 1 }).success).toBe(false);
  });
});
