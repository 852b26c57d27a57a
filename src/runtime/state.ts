import { accessSync, chmodSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { readSmallFile } from '../config/small-file.js';
import { LifeboatError, osUserName, type SerializedError } from '../core/errors.js';
import type { PitrPlan } from '../core/pitr.js';

/** One job in the agent's job log. */
export interface JobRecord {
  id: string;
  type: string;
  cluster?: string;
  params: Record<string, unknown>;
  pid: number;
  startedAt: string;
  finishedAt?: string;
  /** crashed: a detached runner ended without a result (killed, power loss) */
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'crashed';
  steps: { name: string; startedAt: string; finishedAt?: string; bytes?: number }[];
  bytes: number;
  result?: unknown;
  error?: SerializedError;
}

/** A cached summary of one manifest, keyed by repository and manifest key. */
export interface CatalogEntry {
  repo: string;
  key: string;
  size: number;
  mtimeMs?: number;
  summary: unknown;
}

export interface StateData {
  version: 1;
  jobs: JobRecord[];
  catalog: Record<string, CatalogEntry>;
  /** Point-in-time recovery plans and how far each walk got. */
  plans: Record<string, PitrPlan>;
  /**
   * sha256 of each manifest.json this host wrote (or first read), by `cluster/id`:
   * kept outside the repository, so a changed manifest is caught (units/integrity.ts).
   * `repo reindex` leaves it alone.
   */
  manifestDigests?: Record<string, ManifestDigest>;
}

export interface ManifestDigest {
  sha256: string;
  at: string;
  /** written: by this host's backup; first-seen: recorded when first verified here (trust on first use). */
  how: 'written' | 'first-seen';
}

const MAX_JOBS = 500;
/** 500 jobs and a catalog of thousands of backups stay far below this. */
const MAX_STATE_BYTES = 256 * 1024 * 1024;

/**
 * lowdb's file adapter, private and bounded: read with a size cap naming the
 * file; written to a temporary file created 0600 (whatever the umask), synced,
 * then renamed over the old one, so the job log never is world-readable and a
 * crash leaves the old file or the new one.
 */
class PrivateJsonFile<T> implements Adapter<T> {
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly file: string) {}

  async read(): Promise<T | null> {
    if (!existsSync(this.file)) return null;
    return JSON.parse(readSmallFile(this.file, 'agent state', MAX_STATE_BYTES)) as T;
  }

  write(data: T): Promise<void> {
    const next = this.chain.then(async () => {
      const tmp = `${this.file}.${process.pid}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.chmod(0o600); // an existing leftover keeps its mode otherwise
        await fh.writeFile(JSON.stringify(data));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

/**
 * Make the state directory (0700) and prove this user can write it; a config
 * mistake (a file in its place, a directory of another user) becomes one line
 * naming the path and the fix, not a raw EEXIST or EACCES later.
 */
export function ensureStateDir(dir: string): void {
  const user = osUserName();
  const fix = `set "stateDir" in the config (or LIFEBOAT_STATE_DIR) to a directory ${user} can write`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new LifeboatError('CONFIG_INVALID', `state directory ${dir} is a file (or lies under one), not a directory`, { hint: `${fix}, or move the file away` });
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      throw new LifeboatError('CONFIG_INVALID', `state directory ${dir} cannot be ${existsSync(dir) ? 'written' : 'created'} by ${user}${code === 'EROFS' ? ' (read-only file system)' : ': permission denied'}`, {
        hint: `create it for this user (install -d -m 700 -o ${user} ${dir}), or ${fix}`,
      });
    }
    throw err;
  }
}

/**
 * The agent's local state (lowdb JSON file): a job log and a catalog cache.
 * Deleting it loses nothing: `lifeboat repo reindex` rebuilds the cache from the
 * repository. Every update re-reads the file first, so two agents on one host
 * lose at most a cache entry, never a backup.
 */
export class AgentState {
  private readonly db: Low<StateData>;

  constructor(readonly dir: string) {
    ensureStateDir(dir);
    const file = path.join(dir, 'state.json');
    try {
      if (existsSync(file)) chmodSync(file, 0o600); // written 0644 by earlier lifeboat versions
    } catch {
      // not ours to change (another OS user): the next write replaces it 0600
    }
    this.db = new Low<StateData>(new PrivateJsonFile<StateData>(file), { version: 1, jobs: [], catalog: {}, plans: {} });
  }

  async read(): Promise<StateData> {
    try {
      await this.db.read();
    } catch {
      // a damaged state file is only a cache and a log: start afresh
      this.db.data = { version: 1, jobs: [], catalog: {}, plans: {} };
    }
    this.db.data ??= { version: 1, jobs: [], catalog: {}, plans: {} };
    this.db.data.jobs ??= [];
    this.db.data.catalog ??= {};
    this.db.data.plans ??= {};
    return this.db.data;
  }

  async update(fn: (data: StateData) => void): Promise<void> {
    const data = await this.read();
    fn(data);
    if (data.jobs.length > MAX_JOBS) data.jobs.splice(0, data.jobs.length - MAX_JOBS);
    await this.db.write();
  }

  async upsertJob(job: JobRecord): Promise<void> {
    await this.update((d) => {
      const i = d.jobs.findIndex((j) => j.id === job.id);
      if (i >= 0) d.jobs[i] = job;
      else d.jobs.push(job);
    });
  }
}
