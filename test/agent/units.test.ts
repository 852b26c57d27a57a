/**
 * The agent's units of work in process, without PostgreSQL or a CLI subprocess:
 * a runtime from a config object (AgentEnv.fromPreset), the fake source plugin
 * and the memory storage of `lifeboat/plugin/testing`, and a real JobRunner.
 * Here go the failure paths that are hard to reach end to end: the storage
 * failing at the manifest, a plugin that throws or whose stream breaks
 * mid-object, a cancel mid-stream. Each asserts what a user would see (the
 * error, its labels) and what is left in the repository (nothing that looks
 * like a backup).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { LifeboatError, type SerializedError } from '../../src/core/errors.js';
import { fakeSource, MemoryStorage, memoryStoragePlugin, type FakeObject, type FakeSource } from '../../src/core/testing/index.js';
import { parseConfig } from '../../src/config/load.js';
import { AgentEnv } from '../../src/runtime/env.js';
import { JobRunner } from '../../src/runtime/jobs.js';
import type { JobHandle } from '../../src/runtime/context.js';
import { runBackup } from '../../src/agent/units/backup.js';
import { listBackups } from '../../src/agent/units/catalog.js';
import { runVerify } from '../../src/agent/units/verify.js';
import { runRestore } from '../../src/agent/units/restore.js';
import { runRetention } from '../../src/agent/units/retention.js';
import { runGc } from '../../src/agent/units/repo.js';
import { BackupParamsSchema, Events, GcParamsSchema, RestoreParamsSchema, RetentionParamsSchema, VerifyParamsSchema, type DoneEvent, type LogEvent } from '../../src/protocol/index.js';

let stateDir: string;
let storage: MemoryStorage;
let fake: FakeSource<unknown>;
let env: AgentEnv;

function makeEnv(objects: FakeObject[]): void {
  fake = fakeSource({ objects }) as FakeSource<unknown>;
  const text = JSON.stringify({
    stateDir,
    repositories: { mem: { type: 'memory' } },
    clusters: { main: { source: 'fake', repository: 'mem', connection: {} } },
  });
  env = AgentEnv.fromPreset({ config: { path: path.join(stateDir, 'config.json'), config: parseConfig(text, 'config.json') }, plugins: [fake.plugin, memoryStoragePlugin(storage)] });
}

/** Run a unit as a job: what the runner does for a detached job, with the events kept here. */
async function asJob<T>(type: string, work: (job: JobHandle) => Promise<T>, opts: { cancelWhen?: Promise<unknown> } = {}): Promise<{ done: DoneEvent; logs: LogEvent[] }> {
  const logs: LogEvent[] = [];
  let done: DoneEvent | undefined;
  const runner = new JobRunner(async () => undefined, (method, params) => {
    if (method === Events.log) logs.push(params as unknown as LogEvent);
    if (method === Events.done) done = params as unknown as DoneEvent;
  });
  const { jobId } = runner.start(type, {}, 'main', work);
  void opts.cancelWhen?.then(() => runner.cancel(jobId));
  await runner.whenDone(jobId);
  return { done: done!, logs };
}

/** Every key under the cluster's backups (layout.backupDir): what a failed backup must not leave. */
const backupKeys = () => storage.keys('main/backup/');

beforeEach(() => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-units-'));
  storage = new MemoryStorage();
});
afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

describe('backup', () => {
  test('a whole backup: objects, then the manifest; listed, verified and restored through the plugin', async () => {
    makeEnv([
      { name: 'dump', bytes: 300_000 },
      { name: 'globals.sql', bytes: 1000 },
    ]);
    const { done } = await asJob('backup', (job) => runBackup(env, BackupParamsSchema.parse({ cluster: 'main' }), job));
    expect(done.error).toBeUndefined();
    const id = (done.result as { id: string }).id;
    const keys = backupKeys();
    expect(keys.some((k) => k.endsWith(`${id}/manifest.json`))).toBe(true);
    expect(keys.filter((k) => !k.endsWith('manifest.json'))).toHaveLength(2);
    const listed = await listBackups(env, { cluster: 'main' });
    expect(listed.backups.map((b) => b.id)).toEqual([id]);
    const verified = await asJob('verify', (job) => runVerify(env, VerifyParamsSchema.parse({ id, level: 'structure' }), job));
    expect(verified.done.error).toBeUndefined();
    expect((verified.done.result as { ok: boolean }).ok).toBe(true);
    const restored = await asJob('restore', (job) => runRestore(env, RestoreParamsSchema.parse({ id, toDatabase: 'copy', safetyBackup: false }), job));
    expect(restored.done.error).toBeUndefined();
    expect(fake.callsOf('applyRestore')).toHaveLength(1);
  });

  test('the storage fails at the manifest: the job fails with the storage error, and no object of the backup is left', async () => {
    makeEnv([{ name: 'dump', bytes: 200_000 }]);
    storage.failNext('put', /manifest\.json$/, new LifeboatError('STORAGE_FAILED', 'no space left on device'));
    const { done } = await asJob('backup', (job) => runBackup(env, BackupParamsSchema.parse({ cluster: 'main' }), job));
    expect(done.ok).toBe(false);
    expect(done.error).toMatchObject({ code: 'STORAGE_FAILED', message: expect.stringContaining('no space left on device') });
    expect(storage.calls.filter((c) => c.faulted).map((c) => c.op)).toEqual(['put']);
    expect(fake.written.length).toBe(1); // the dump was stored before the manifest failed ...
    expect(storage.calls.some((c) => c.op === 'put' && c.key.startsWith('main/backup/') && c.key.endsWith('/dump.zst') && !c.faulted)).toBe(true);
    expect(backupKeys()).toEqual([]); // ... and removed again: nothing looks like a backup
    expect((await listBackups(env, { cluster: 'main' })).backups).toEqual([]);
    // the lock was released: the next backup runs
    const again = await asJob('backup', (job) => runBackup(env, BackupParamsSchema.parse({ cluster: 'main' }), job));
    expect(again.done.error).toBeUndefined();
  });

  test('the plugin throws mid-stream: the error carries plugin, step and host, and the partial objects are removed', async () => {
    makeEnv([
      { name: 'first', bytes: 100_000 },
      { name: 'second', bytes: 500_000, fail: { afterBytes: 70_000, error: () => new LifeboatError('COMMAND_FAILED', 'pg_dump: error: connection to server lost') } },
    ]);
    const { done } = await asJob('backup', (job) => runBackup(env, BackupParamsSchema.parse({ cluster: 'main' }), job));
    expect(done.ok).toBe(false);
    const e = done.error as SerializedError;
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.message).toContain('connection to server lost');
    expect(e.details).toMatchObject({ plugin: 'fake', step: 'logicalBackup', host: os.hostname() });
    expect(backupKeys()).toEqual([]);
  });

  test("the plugin's stream breaks mid-object: a labelled failure, nothing kept", async () => {
    makeEnv([{ name: 'dump', bytes: 400_000, fail: { afterBytes: 123_456, how: 'stream', error: () => new Error('EPIPE: broken pipe') } }]);
    const { done } = await asJob('backup', (job) => runBackup(env, BackupParamsSchema.parse({ cluster: 'main' }), job));
    expect(done.ok).toBe(false);
    expect(done.error?.message).toContain('broken pipe');
    expect(done.error?.details).toMatchObject({ plugin: 'fake', step: 'logicalBackup' });
    expect(backupKeys()).toEqual([]);
  });

  test('cancelled mid-stream: CANCELLED, and nothing kept', async () => {
    makeEnv([{ name: 'dump', bytes: 1_000_000, fail: { afterBytes: 200_000, how: 'stall' } }]);
    const { done } = await asJob('backup', (job) => runBackup(env, BackupParamsSchema.parse({ cluster: 'main' }), job), { cancelWhen: fake.stalled });
    expect(done.error).toMatchObject({ code: 'CANCELLED', message: 'backup of main was cancelled; nothing was kept' });
    expect(backupKeys()).toEqual([]);
  });
});

describe('a storage that does not allow deletes (tape, a write-once bucket)', () => {
  test('delete and repo gc refuse before touching anything, naming the storage; nothing is removed', async () => {
    storage = new MemoryStorage({ capabilities: { deletable: false }, description: 'memory:write-once' });
    makeEnv([{ name: 'dump', bytes: 50_000 }]);
    const { done } = await asJob('backup', (job) => runBackup(env, BackupParamsSchema.parse({ cluster: 'main' }), job));
    const id = (done.result as { id: string }).id;
    storage.seed(`main/backup/${id}-orphan/dump.zst`, 'left by a killed backup');
    const before = storage.keys();
    const del = await asJob('expire', (job) => runRetention(env, RetentionParamsSchema.parse({ cluster: 'main', backups: [id] }), job));
    expect(del.done.error).toMatchObject({ code: 'UNSUPPORTED', message: `memory:write-once does not allow deletes, so removing backups of main cannot be done there` });
    const gc = await asJob('gc', (job) => runGc(env, GcParamsSchema.parse({ cluster: 'main' }), job));
    expect(gc.done.error).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('does not allow deletes') });
    expect(storage.keys()).toEqual(before);
    expect(storage.calls.filter((c) => c.op === 'delete')).toEqual([]);
    // a dry run still says what it would remove
    const dry = await asJob('gc', (job) => runGc(env, GcParamsSchema.parse({ cluster: 'main', dryRun: true }), job));
    expect((dry.done.result as { removed: { key: string }[] }).removed.map((r) => r.key)).toEqual([`main/backup/${id}-orphan/dump.zst`]);
  });
});

describe('the runtime', () => {
  test('forCall() reads the config once for a call; the next call sees an edit', async () => {
    const file = path.join(stateDir, 'config.json');
    const write = (repo: string) =>
      writeFileSync(file, JSON.stringify({ stateDir, repositories: { [repo]: { type: 'local', path: path.join(stateDir, repo) } }, clusters: { main: { repository: repo, connection: {} } } }));
    write('one');
    const agent = new AgentEnv(file);
    const call = agent.forCall();
    expect((await call.cluster('main')).repoName).toBe('one');
    write('two');
    expect((await call.cluster('main')).repoName).toBe('one'); // one config for the whole call
    expect((await agent.forCall().cluster('main')).repoName).toBe('two');
  });
});
