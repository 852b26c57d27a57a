/**
 * Every change to the TUI's state is one of these actions; the reducer is pure,
 * so tests drive it without a terminal and services feed it without React.
 *
 * @module
 */
import type { SerializedError } from '../../core/errors.js';
import type { HelloResult, LogEvent, ProgressEvent } from '../../protocol/index.js';
import {
  liveKey,
  LOG_CAP,
  SORT_KEYS,
  type AppState,
  type BackupSummary,
  type ClusterOverview,
  type Dialog,
  type JobRecord,
  type LiveJob,
  type Loadable,
  type Manifest,
  type RecoverableWindow,
  type Route,
  type Verification,
  type WizardState,
} from './model.js';

export type Action =
  | { type: 'hosts/listed'; hosts: string[] }
  | { type: 'host/connecting'; host: string }
  | { type: 'host/up'; host: string; hello: HelloResult }
  | { type: 'host/data'; host: string; clusters: ClusterOverview[]; jobs?: JobRecord[]; latencyMs: number; at: number }
  | { type: 'host/slow'; host: string; slow: boolean }
  | { type: 'host/down'; host: string; error: SerializedError }
  | { type: 'resize'; columns: number; rows: number }
  | { type: 'nav/push'; route: Route }
  | { type: 'nav/back' }
  | { type: 'fleet/move'; delta?: number; to?: number; count: number }
  | { type: 'fleet/sort' }
  | { type: 'fleet/filter'; text?: string; filtering: boolean }
  | { type: 'cluster/open'; host: string; cluster: string }
  | { type: 'cluster/backups'; host: string; cluster: string; value: Loadable<{ backups: BackupSummary[] }> }
  | { type: 'cluster/window'; host: string; cluster: string; value: Loadable<RecoverableWindow> }
  | { type: 'cluster/details'; host: string; cluster: string; id: string; value: Loadable<{ manifest: Manifest; verifications: Verification[] }> }
  | { type: 'cluster/move'; delta?: number; to?: number; count: number }
  | { type: 'jobs/move'; delta?: number; to?: number; count: number }
  | { type: 'live/start'; host: string; jobId: string; jobType: string; label: string; status?: LiveJob['status']; startedAt?: number }
  | { type: 'live/progress'; host: string; progress: ProgressEvent }
  | { type: 'live/log'; host: string; log: LogEvent }
  | { type: 'live/done'; host: string; jobId: string; ok: boolean; result?: unknown; error?: SerializedError }
  | { type: 'live/cancel-requested'; host: string; jobId: string }
  | { type: 'dialog/open'; dialog: Dialog }
  | { type: 'dialog/patch'; patch: Partial<Dialog> }
  | { type: 'dialog/close' }
  | { type: 'wizard/open'; host: string; cluster: string }
  | { type: 'wizard/patch'; patch: Partial<WizardState> }
  | { type: 'wizard/set'; wizard: WizardState }
  | { type: 'help/toggle'; show?: boolean }
  | { type: 'flash'; text: string; level?: 'info' | 'warn' | 'error'; at?: number }
  | { type: 'quit' };

const clamp = (n: number, count: number) => Math.max(0, Math.min(n, count - 1));
const move = (cur: number, a: { delta?: number; to?: number; count: number }) => (a.count <= 0 ? 0 : clamp(a.to ?? cur + (a.delta ?? 0), a.count));

function patchHost(s: AppState, host: string, patch: Partial<AppState['hosts'][string]>): AppState {
  const prev = s.hosts[host] ?? { name: host, conn: 'connecting' as const, slow: false };
  return { ...s, hosts: { ...s.hosts, [host]: { ...prev, ...patch } } };
}

function patchLive(s: AppState, host: string, jobId: string, fn: (j: LiveJob) => LiveJob): AppState {
  const k = liveKey(host, jobId);
  const j = s.live[k];
  if (!j) return s;
  return { ...s, live: { ...s.live, [k]: fn(j) } };
}

/** The cluster view's state, only when it is the cluster asked about (late answers for another are dropped). */
function forCluster(s: AppState, host: string, cluster: string, fn: (c: NonNullable<AppState['cluster']>) => NonNullable<AppState['cluster']>): AppState {
  if (!s.cluster || s.cluster.host !== host || s.cluster.cluster !== cluster) return s;
  return { ...s, cluster: fn(s.cluster) };
}

export function reducer(s: AppState, a: Action): AppState {
  switch (a.type) {
    case 'hosts/listed': {
      let next: AppState = { ...s, hostOrder: a.hosts };
      for (const h of a.hosts) if (!next.hosts[h]) next = patchHost(next, h, {});
      return next;
    }
    case 'host/connecting':
      return patchHost(s, a.host, { conn: 'connecting' });
    case 'host/up': {
      const { error: _gone, ...rest } = s.hosts[a.host] ?? { name: a.host, conn: 'up' as const, slow: false };
      return { ...s, hosts: { ...s.hosts, [a.host]: { ...rest, conn: 'up', hello: a.hello } } };
    }
    case 'host/data':
      return patchHost(s, a.host, { conn: 'up', clusters: a.clusters, ...(a.jobs ? { jobs: a.jobs } : {}), latencyMs: a.latencyMs, updatedAt: a.at, slow: false });
    case 'host/slow':
      return s.hosts[a.host]?.slow === a.slow ? s : patchHost(s, a.host, { slow: a.slow });
    case 'host/down':
      return patchHost(s, a.host, { conn: 'down', error: a.error, slow: false });
    case 'resize':
      return { ...s, size: { columns: a.columns, rows: a.rows } };
    case 'nav/push':
      return { ...s, back: [...s.back, s.route], route: a.route, help: false };
    case 'nav/back': {
      if (!s.back.length) return s;
      return { ...s, route: s.back[s.back.length - 1]!, back: s.back.slice(0, -1) };
    }
    case 'fleet/move':
      return { ...s, fleet: { ...s.fleet, cursor: move(s.fleet.cursor, a) } };
    case 'fleet/sort':
      return { ...s, fleet: { ...s.fleet, sort: SORT_KEYS[(SORT_KEYS.indexOf(s.fleet.sort) + 1) % SORT_KEYS.length]!, cursor: 0 } };
    case 'fleet/filter':
      return { ...s, fleet: { ...s.fleet, filtering: a.filtering, ...(a.text !== undefined ? { filter: a.text, cursor: 0 } : {}) } };
    case 'cluster/open':
      return {
        ...s,
        cluster: { host: a.host, cluster: a.cluster, backups: { loading: true }, window: { loading: true }, details: {}, cursor: 0 },
      };
    case 'cluster/backups':
      return forCluster(s, a.host, a.cluster, (c) => ({ ...c, backups: a.value }));
    case 'cluster/window':
      return forCluster(s, a.host, a.cluster, (c) => ({ ...c, window: a.value }));
    case 'cluster/details':
      return forCluster(s, a.host, a.cluster, (c) => ({ ...c, details: { ...c.details, [a.id]: a.value } }));
    case 'cluster/move':
      return s.cluster ? { ...s, cluster: { ...s.cluster, cursor: move(s.cluster.cursor, a) } } : s;
    case 'jobs/move':
      return { ...s, jobsCursor: move(s.jobsCursor, a) };
    case 'live/start': {
      const k = liveKey(a.host, a.jobId);
      const prev = s.live[k];
      const job: LiveJob = {
        host: a.host,
        jobId: a.jobId,
        type: a.jobType,
        label: a.label,
        status: a.status ?? 'running',
        logs: prev?.logs ?? [],
        startedAt: a.startedAt ?? Date.now(),
        ...(prev?.progress ? { progress: prev.progress } : {}),
      };
      return { ...s, live: { ...s.live, [k]: job } };
    }
    case 'live/progress':
      return patchLive(s, a.host, a.progress.jobId, (j) => ({ ...j, progress: a.progress }));
    case 'live/log':
      return patchLive(s, a.host, a.log.jobId, (j) => ({ ...j, logs: [...(j.logs.length >= LOG_CAP ? j.logs.slice(-LOG_CAP + 1) : j.logs), { level: a.log.level, message: a.log.message, time: a.log.time }] }));
    case 'live/done':
      return patchLive(s, a.host, a.jobId, (j) => {
        const { error: _e, result: _r, ...rest } = j;
        const status: LiveJob['status'] = a.ok ? 'succeeded' : a.error?.code === 'CANCELLED' ? 'cancelled' : 'failed';
        return { ...rest, status, ...(a.result !== undefined ? { result: a.result } : {}), ...(a.error ? { error: a.error } : {}) };
      });
    case 'live/cancel-requested':
      return patchLive(s, a.host, a.jobId, (j) => ({ ...j, cancelRequested: true }));
    case 'dialog/open':
      return { ...s, dialog: a.dialog };
    case 'dialog/patch':
      return s.dialog ? { ...s, dialog: { ...s.dialog, ...a.patch } as Dialog } : s;
    case 'dialog/close': {
      if (!s.dialog) return s;
      const { dialog: _d, ...rest } = s;
      return rest;
    }
    case 'wizard/open':
      return {
        ...s,
        wizard: {
          host: a.host,
          cluster: a.cluster,
          stage: 'resume',
          resumable: { loading: true },
          resumeCursor: 0,
          targetCursor: 0,
          value: '',
          inclusive: true,
          finder: { loading: false, cursor: 0 },
          options: { field: 0, mode: 'side-by-side', dataDir: '', port: '', verifyQuery: '' },
          plan: { loading: false },
          stepCursor: 0,
        },
      };
    case 'wizard/set':
      return { ...s, wizard: a.wizard };
    case 'wizard/patch':
      return s.wizard ? { ...s, wizard: { ...s.wizard, ...a.patch } } : s;
    case 'help/toggle':
      return { ...s, help: a.show ?? !s.help };
    case 'flash':
      return { ...s, flash: { text: a.text, level: a.level ?? 'info', at: a.at ?? Date.now() } };
    case 'quit':
      return { ...s, quitting: true };
  }
}
