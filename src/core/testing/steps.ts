import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { DEFAULT_COMPRESSION, type Compression } from '../compression.js';
import { backupReader } from '../reader.js';
import { LifeboatError } from '../errors.js';
import { backupDirKey, ManifestSchema, newBackupId, type LogicalDetails, type Manifest, type PhysicalDetails } from '../manifest.js';
import { storeStream, type StoredObject } from '../pipeline.js';
import type { BackupWriter, LogLevel, Progress, ServerInfo, StepContext } from '../plugin.js';
import { assertSafeKey, type Storage } from '../storage.js';

/**
 * What a source plugin's step gets from the agent, made up for a test: the
 * StepContext, a BackupWriter and a BackupReader over any Storage (a
 * MemoryStorage, say), and the manifest that ties them together. They follow
 * the agent's rules (keys `<cluster>/backup/<id>/<name><suffix>`, names unique
 * and never manifest.json, reads checked against the manifest) without being
 * the agent: a step tested with them can still meet something the agent adds.
 */

/** A StepContext that keeps what the step logged and reported. */
export interface TestStepContext<TConfig> extends StepContext<TConfig> {
  readonly logs: { level: LogLevel; message: string }[];
  readonly progressReports: Progress[];
  /** Remove the directories `tmpDir()` made. */
  cleanup(): Promise<void>;
}

export function testStepContext<TConfig>(
  config: TConfig,
  opts: { cluster?: string; host?: string; signal?: AbortSignal } = {},
): TestStepContext<TConfig> {
  const dirs: string[] = [];
  const logs: { level: LogLevel; message: string }[] = [];
  const progressReports: Progress[] = [];
  return {
    cluster: { name: opts.cluster ?? 'main', config },
    host: opts.host ?? 'test-host',
    signal: opts.signal ?? new AbortController().signal,
    logs,
    progressReports,
    log: (level, message) => void logs.push({ level, message }),
    progress: (p) => void progressReports.push(p),
    tmpDir: async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-test-step-'));
      dirs.push(dir);
      return dir;
    },
    cleanup: async () => {
      await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}

/** A BackupWriter that streams through `storeStream` into `storage`; `objects` lists what was stored. */
export interface TestBackupWriter extends BackupWriter {
  readonly cluster: string;
  readonly objects: StoredObject[];
}

export function storeWriter(
  storage: Storage,
  opts: { cluster?: string; backupId?: string; compression?: Compression; signal?: AbortSignal } = {},
): TestBackupWriter {
  const cluster = opts.cluster ?? 'main';
  const backupId = opts.backupId ?? newBackupId('logical');
  const objects: StoredObject[] = [];
  const names = new Set<string>();
  return {
    cluster,
    backupId,
    objects,
    async write(name: string, source: Readable, o: { compression?: Compression } = {}): Promise<StoredObject> {
      assertSafeKey(name);
      if (name.startsWith('manifest.json')) throw new LifeboatError('KEY_INVALID', 'object name manifest.json is reserved');
      if (names.has(name)) throw new LifeboatError('KEY_INVALID', `object ${name} written twice in backup ${backupId}`);
      names.add(name);
      const obj = await storeStream(storage, name, backupDirKey(cluster, backupId) + name, source, {
        compression: o.compression ?? opts.compression ?? DEFAULT_COMPRESSION,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      objects.push(obj);
      return obj;
    },
  };
}

/** A valid manifest for what `writer` stored and the step returned (checked by ManifestSchema). */
export function testManifest(
  writer: TestBackupWriter,
  result: { server: Pick<ServerInfo, 'version' | 'versionNum' | 'systemIdentifier'>; logical?: LogicalDetails; physical?: PhysicalDetails },
  extra: Partial<Manifest> = {},
): Manifest {
  const now = new Date().toISOString();
  const compression = writer.objects[0]?.compression ?? DEFAULT_COMPRESSION;
  return ManifestSchema.parse({
    formatVersion: 1,
    id: writer.backupId,
    cluster: writer.cluster,
    kind: result.physical ? 'physical' : 'logical',
    plugin: { name: 'test', version: '0.0.0' },
    lifeboatVersion: '0.0.0-test',
    startedAt: now,
    finishedAt: now,
    durationMs: 0,
    tag: 'manual',
    host: 'test-host',
    server: { version: result.server.version, versionNum: result.server.versionNum, systemIdentifier: result.server.systemIdentifier },
    compression,
    encryption: { mode: 'none' },
    objects: writer.objects.map(({ name, key, size, sha256, rawSize, compression: c }) => ({ name, key, size, sha256, rawSize, compression: c })),
    rawSize: writer.objects.reduce((n, o) => n + o.rawSize, 0),
    storedSize: writer.objects.reduce((n, o) => n + o.size, 0),
    ...(result.logical ? { logical: result.logical } : {}),
    ...(result.physical ? { physical: result.physical } : {}),
    ...extra,
  });
}

/** A BackupReader over `storage`: streams decompressed and checked against `manifest` (they error on changed bytes); the agent's own. */
export const storedReader = backupReader;
