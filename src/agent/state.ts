import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import type { SerializedError } from '../core/errors.js';
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
}

const MAX_JOBS = 500;

/**
 * The agent's local state (lowdb JSON file): a job log and a catalog cache.
 * Deleting it loses nothing: `lifeboat repo reindex` rebuilds the cache from the
 * repository. Every update re-reads the file first, so two agents on one host
 * lose at most a cache entry, never a backup.
 */
export class AgentState {
  private readonly db: Low<StateData>;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = new Low<StateData>(new JSONFile(path.join(dir, 'state.json')), { version: 1, jobs: [], catalog: {}, plans: {} });
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
