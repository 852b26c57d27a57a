import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Compression } from '../core/compression.js';
import { LifeboatError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { pidAlive } from '../core/proc.js';
import { storeStream, type StoredObject } from '../core/pipeline.js';
import type { BackupWriter, LogLevel, Progress, StepContext } from '../core/plugin.js';
import { layout } from '../core/repository.js';
import { assertSafeKey, type Storage } from '../core/storage.js';
import type { ResolvedCluster } from './env.js';

/** What a running job offers the units of work. */
export interface JobHandle {
  readonly id: string;
  readonly signal: AbortSignal;
  log(level: LogLevel, message: string): void;
  progress(p: Progress): void;
  /** Run a named step, recorded with timings in the job log. */
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** A temp dir removed when the job ends. */
  tmpDir(): Promise<string>;
}

export function stepContext<T>(cluster: ResolvedCluster, host: string, job: JobHandle): StepContext<T> {
  return {
    cluster: { name: cluster.name, config: cluster.connection as T },
    host,
    // a plugin's log line reaches the operator: no secret in it (core/redact.ts)
    log: (level, message) => job.log(level, redact(message)),
    progress: (p) => job.progress(p),
    signal: job.signal,
    tmpDir: () => job.tmpDir(),
  };
}

/** Job temp dirs are named for the process that made them: `lifeboat-job-<pid>-XXXXXX`. */
const JOB_TMP = /^lifeboat-job-(\d+)-[A-Za-z0-9]{6}$/;

/** Temp dirs of a job, removed at its end (a killed job's are removed by `repo gc`, see {@link staleJobTempDirs}). */
export class TempDirs {
  private readonly dirs: string[] = [];
  async make(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `lifeboat-job-${process.pid}-`));
    this.dirs.push(dir);
    return dir;
  }
  async cleanup(): Promise<void> {
    await Promise.all(this.dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  }
}

/** Writes a new backup's objects; remembers them so a failed backup can be cleaned up. */
export class ObjectWriter implements BackupWriter {
  readonly objects: StoredObject[] = [];
  private readonly names = new Set<string>();

  constructor(
    private readonly storage: Storage,
    private readonly cluster: string,
    readonly backupId: string,
    private readonly defaults: Compression,
    private readonly job: JobHandle,
  ) {}

  async write(name: string, source: Readable, opts: { compression?: Compression; expectedBytes?: number } = {}): Promise<StoredObject> {
    assertSafeKey(name);
    if (name === 'manifest.json' || name.startsWith('manifest.json')) throw new LifeboatError('KEY_INVALID', 'object name manifest.json is reserved');
    if (this.names.has(name)) throw new LifeboatError('KEY_INVALID', `object ${name} written twice in backup ${this.backupId}`);
    this.names.add(name);
    const base = this.objects.reduce((n, o) => n + o.rawSize, 0);
    const obj = await storeStream(this.storage, name, layout.backupDir(this.cluster, this.backupId) + name, source, {
      compression: opts.compression ?? this.defaults,
      signal: this.job.signal,
      onProgress: (bytes) => {
        const p: Progress = { phase: `write ${name}`, bytes: base + bytes };
        if (opts.expectedBytes) p.totalBytes = base + opts.expectedBytes;
        this.job.progress(p);
      },
    });
    this.objects.push(obj);
    this.job.log('debug', `stored ${name}: ${obj.rawSize} bytes raw, ${obj.size} stored`);
    return obj;
  }

  /** Best-effort removal of what this backup wrote (on failure or cancel). */
  async discard(): Promise<void> {
    await Promise.all(this.objects.map((o) => this.storage.delete(o.key).catch(() => undefined)));
  }
}

async function treeSize(p: string): Promise<number> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of await readdir(p).catch(() => [] as string[])) n += await treeSize(path.join(p, e));
  return n;
}

/**
 * Temp dirs (dump staging, scratch restores) of jobs whose process is gone:
 * a killed backup leaves its staging dump behind. Only this user's, only
 * `lifeboat-job-<pid>-*` of a pid that no longer runs. `remove` deletes them.
 */
export async function staleJobTempDirs(opts: { remove: boolean; root?: string }): Promise<{ path: string; size: number }[]> {
  const root = opts.root ?? os.tmpdir();
  const out: { path: string; size: number }[] = [];
  const uid = process.getuid?.();
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const m = JOB_TMP.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    const dir = path.join(root, name);
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    const size = await treeSize(dir);
    if (opts.remove) await rm(dir, { recursive: true, force: true });
    out.push({ path: dir, size });
  }
  return out;
}
