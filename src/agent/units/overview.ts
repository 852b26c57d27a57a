import { LifeboatError, toLifeboatError, type SerializedError } from '../../core/errors.js';
import { withDeadline } from '../../core/deadline.js';
import type { ServerStatus } from '../../core/plugin.js';
import type { AgentEnv, ResolvedCluster } from '../../runtime/env.js';
import { stepContext, type JobHandle } from '../../runtime/context.js';
import { jobsDirOf, listRecords } from '../runner.js';
import type { JobRecord } from '../../runtime/state.js';
import { clusterStatus, clustersFor, type ClusterStatus, type WalStatus } from './catalog.js';
import { recoverableWindow } from './pitr.js';

/** How long one cluster's server may take to answer: a dead database must not hold up the overview. */
export const SERVER_STATUS_TIMEOUT_MS = 4_000;

export interface ClusterOverview {
  cluster: string;
  /** What catalog.status returns for the cluster. */
  status: ClusterStatus;
  /** Absent when the server could not be asked. */
  server?: ServerStatus;
  /** Why not (server down, auth, timeout); never fails the whole call. */
  serverError?: SerializedError;
  /** This cluster's running detached jobs. */
  runningJobs: { id: string; type: string; startedAt: string }[];
}

/** A job handle for one bounded read-only step (no log, no progress, no temp dir). */
function boundedJob(signal: AbortSignal): JobHandle {
  return { id: 'overview', signal, log: () => undefined, progress: () => undefined, step: (_n, f) => f(), tmpDir: () => Promise.reject(new Error('no temp dir')) };
}

/**
 * Ask the server through the plugin, bounded: the signal stops the plugin's
 * work and the race stops waiting even for a plugin that ignores the signal.
 */
async function askServer(env: AgentEnv, cluster: ResolvedCluster, timeoutMs: number): Promise<ServerStatus> {
  const step = cluster.plugin.source.steps.serverStatus;
  const name = cluster.plugin.meta.name;
  if (!step) throw new LifeboatError('UNSUPPORTED', `source plugin ${name} cannot report the server's status`);
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = new LifeboatError('CONNECTION_FAILED', `the server of cluster ${cluster.name} did not answer within ${timeoutMs / 1000} s`, {
    hint: 'check that it runs and accepts connections (a hung or overloaded server, or a firewall that drops packets); test with: lifeboat config check',
    details: { plugin: name, step: 'serverStatus', host: env.host },
  });
  try {
    return await withDeadline(step(stepContext(cluster, env.host, boundedJob(signal))), timeoutMs, () => timedOut);
  } catch (err) {
    throw signal.aborted ? timedOut : err;
  }
}

/**
 * `status` with WAL archiving, as `pgbackrest info` and `barman status` show it:
 * the server's archiver (bounded: a slow server is reported, never waited for),
 * the newest archived segment and the recoverable window. Archiving that fails
 * now makes the cluster's status a problem (exit 1).
 */
export async function statusWithWal(env: AgentEnv, p: { cluster?: string }, opts: { timeoutMs?: number } = {}): Promise<ClusterStatus[]> {
  const statuses = await clusterStatus(env, p);
  for (const s of statuses) {
    const wal: WalStatus = {};
    try {
      const st = await askServer(env, await env.cluster(s.cluster), opts.timeoutMs ?? 5000);
      wal.archiveMode = st.archiveMode;
      wal.archiver = st.archiver;
    } catch (err) {
      wal.serverError = toLifeboatError(err).message;
    }
    try {
      const w = await recoverableWindow(env, { cluster: s.cluster });
      const last = w.spans.at(-1);
      if (last) {
        wal.newestSegment = last.lastSegment;
        wal.recoverable = { from: last.from, to: last.to, ...(last.gap ? { gap: last.gap.segment } : {}) };
      }
      if (w.newestSegmentAt) wal.newestAt = w.newestSegmentAt;
    } catch {
      // no physical backup or no WAL yet: nothing to say about the window
    }
    s.wal = wal;
    if (wal.archiver?.failingNow && wal.archiveMode !== 'off') {
      s.ok = false;
      s.problem = `WAL archiving fails: ${wal.archiver.lastFailedWal ?? 'a segment'} failed${wal.archiver.lastFailedAt ? ` at ${wal.archiver.lastFailedAt}` : ''}, newer than the last success${s.problem ? `; ${s.problem}` : ''}`;
    }
  }
  return statuses;
}

/** catalog.status for one cluster; its failure is that cluster's problem, not the overview's. */
async function statusOf(env: AgentEnv, name: string): Promise<ClusterStatus> {
  try {
    return (await clusterStatus(env, { cluster: name }))[0]!;
  } catch (err) {
    const { config } = await env.config();
    const c = config.clusters[name];
    return {
      cluster: name,
      repository: c?.repository ?? '',
      ok: false,
      problem: toLifeboatError(err).message,
      backups: 0,
      invalid: 0,
      byTag: {},
      maxBackupAgeHours: c?.maxBackupAgeHours ?? config.defaults.maxBackupAgeHours,
      storedBytes: 0,
      repositoryBytes: 0,
    };
  }
}

/** Running jobs by cluster: the record's `cluster`, else its params' cluster, else the config's only cluster. */
export function runningJobsOf(records: Pick<JobRecord, 'id' | 'type' | 'startedAt' | 'status' | 'cluster' | 'params'>[], cluster: string, onlyCluster?: string): ClusterOverview['runningJobs'] {
  return records
    .filter((r) => r.status === 'running')
    .filter((r) => (r.cluster ?? (typeof r.params.cluster === 'string' ? r.params.cluster : undefined) ?? onlyCluster) === cluster)
    .map((r) => ({ id: r.id, type: r.type, startedAt: r.startedAt }));
}

/**
 * `cluster.overview`: per configured cluster (or the one named) the catalog
 * status, the live server's status and the running jobs, in one call (the TUI's
 * fleet view). Clusters are asked in parallel, each server for a few seconds at most.
 */
export async function clusterOverview(env: AgentEnv, p: { cluster?: string }, opts: { timeoutMs?: number } = {}): Promise<ClusterOverview[]> {
  const names = await clustersFor(env, p.cluster);
  const all = await env.clusterNames();
  const onlyCluster = all.length === 1 ? all[0] : undefined;
  const state = await env.state().catch(() => undefined);
  const records = state ? listRecords(jobsDirOf(state.dir)) : [];
  return Promise.all(
    names.map(async (name): Promise<ClusterOverview> => {
      const server = env
        .cluster(name)
        .then((c) => askServer(env, c, opts.timeoutMs ?? SERVER_STATUS_TIMEOUT_MS))
        .then(
          (s) => ({ server: s }),
          (err: unknown) => ({ serverError: toLifeboatError(err).toJSON() }),
        );
      const [status, asked] = await Promise.all([statusOf(env, name), server]);
      return { cluster: name, status, ...asked, runningJobs: runningJobsOf(records, name, onlyCluster) };
    }),
  );
}
