/**
 * Derived views of the state: fleet rows (sorted, filtered, with health),
 * backups grouped by tag, the jobs list. Memoized on their inputs, so a
 * keypress with 50 hosts and 10,000 backups does not sort anything again.
 *
 * @module
 */
import { BACKUP_TAGS } from '../../core/manifest.js';
import { suggest } from '../../client/suggest.js';
import type { AppState, BackupSummary, ClusterOverview, HostState, JobRecord, LiveJob, SortKey } from './model.js';

export type Health = 'ok' | 'warn' | 'bad' | 'down' | 'connecting';

export interface FleetRow {
  key: string;
  host: string;
  cluster?: string;
  health: Health;
  /** Why it is not ok, most important first. */
  problems: string[];
  state: HostState;
  overview?: ClusterOverview;
}

/** One argument-tuple memo: recompute only when an input changed (by identity). */
function memo<A extends unknown[], R>(fn: (...a: A) => R): (...a: A) => R {
  let last: A | undefined;
  let value: R;
  return (...a: A) => {
    if (last && last.length === a.length && last.every((x, i) => x === a[i])) return value;
    last = a;
    value = fn(...a);
    return value;
  };
}

const HOUR = 3_600_000;

/** Health of one cluster on a reachable host, and why. */
export function clusterHealth(o: ClusterOverview, now = Date.now()): { health: Health; problems: string[] } {
  const bad: string[] = [];
  const warn: string[] = [];
  const s = o.status;
  if (!s.ok) bad.push(s.problem ?? (s.latest ? 'newest backup too old' : 'no backup'));
  const arch = o.server?.archiver;
  if (arch?.failingNow) bad.push(`WAL archiving failing (${arch.failedCount} failures, last ${arch.lastFailedWal ?? '?'})`);
  if (s.lastVerification && !s.lastVerification.ok) bad.push(`verification of ${s.lastVerification.id} failed`);
  if (o.serverError) warn.push(`server: ${o.serverError.message}`);
  else if (o.server && o.server.archiveMode !== 'off' && arch?.lastArchivedAt && now - Date.parse(arch.lastArchivedAt) > 24 * HOUR) warn.push('no WAL archived for over a day');
  if (!s.lastVerification && s.backups > 0) warn.push('never verified');
  return { health: bad.length ? 'bad' : warn.length ? 'warn' : 'ok', problems: [...bad, ...warn] };
}

const HEALTH_RANK: Record<Health, number> = { down: 0, bad: 1, warn: 2, connecting: 3, ok: 4 };

function buildRows(order: string[], hosts: Record<string, HostState>, sort: SortKey, filter: string): FleetRow[] {
  const rows: FleetRow[] = [];
  for (const name of order) {
    const h = hosts[name];
    if (!h) continue;
    if (h.conn === 'down' && !h.clusters) {
      rows.push({ key: name, host: name, health: 'down', problems: [h.error?.message ?? 'unreachable', ...(h.error?.hint ? [`hint: ${h.error.hint}`] : [])], state: h });
      continue;
    }
    if (!h.clusters) {
      rows.push({ key: name, host: name, health: 'connecting', problems: [], state: h });
      continue;
    }
    if (!h.clusters.length) rows.push({ key: name, host: name, health: 'warn', problems: ['no clusters configured'], state: h });
    for (const o of h.clusters) {
      const { health, problems } = h.conn === 'down' ? { health: 'down' as const, problems: [h.error?.message ?? 'unreachable'] } : clusterHealth(o);
      rows.push({ key: `${name}/${o.cluster}`, host: name, cluster: o.cluster, health, problems, state: h, overview: o });
    }
  }
  const f = filter.trim().toLowerCase();
  const kept = f ? rows.filter((r) => [r.host, r.cluster ?? '', r.health, r.overview?.server?.version ?? '', ...r.problems].join(' ').toLowerCase().includes(f)) : rows;
  const byName = (a: FleetRow, b: FleetRow) => a.host.localeCompare(b.host) || (a.cluster ?? '').localeCompare(b.cluster ?? '');
  const ageOf = (r: FleetRow) => r.overview?.status.ageHours ?? Infinity;
  if (sort === 'health') kept.sort((a, b) => HEALTH_RANK[a.health] - HEALTH_RANK[b.health] || byName(a, b));
  else if (sort === 'age') kept.sort((a, b) => ageOf(b) - ageOf(a) || byName(a, b));
  else kept.sort(byName);
  return kept;
}

const rowsMemo = memo(buildRows);

export function fleetRows(s: AppState): FleetRow[] {
  return rowsMemo(s.hostOrder, s.hosts, s.fleet.sort, s.fleet.filter);
}

/** Tags in the order people think of them, then any others. */
function tagRank(tag: string): number {
  const i = (BACKUP_TAGS as readonly string[]).indexOf(tag);
  return i < 0 ? BACKUP_TAGS.length : i;
}

export interface BackupGroups {
  /** Backups in display order: by tag, newest first within a tag. The cursor indexes this. */
  ordered: BackupSummary[];
  /** Where each tag's group starts in `ordered`. */
  groups: { tag: string; start: number; count: number }[];
}

function group(backups: BackupSummary[]): BackupGroups {
  const byTag = new Map<string, BackupSummary[]>();
  for (const b of backups) {
    const list = byTag.get(b.tag) ?? [];
    list.push(b);
    byTag.set(b.tag, list);
  }
  const tags = [...byTag.keys()].sort((a, b) => tagRank(a) - tagRank(b) || a.localeCompare(b));
  const ordered: BackupSummary[] = [];
  const groups: BackupGroups['groups'] = [];
  for (const t of tags) {
    const list = byTag.get(t)!.slice().sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
    groups.push({ tag: t, start: ordered.length, count: list.length });
    ordered.push(...list);
  }
  return { ordered, groups };
}

const EMPTY: BackupSummary[] = [];
const groupMemo = memo(group);

export function backupGroups(s: AppState): BackupGroups {
  return groupMemo(s.cluster?.backups.data?.backups ?? EMPTY);
}

export function selectedBackup(s: AppState): BackupSummary | undefined {
  return s.cluster ? backupGroups(s).ordered[s.cluster.cursor] : undefined;
}

export interface JobRow {
  host: string;
  jobId: string;
  type: string;
  status: string;
  startedAt: string;
  finishedAt?: string;
  cluster?: string;
  live?: LiveJob;
  record?: JobRecord;
}

function buildJobRows(order: string[], hosts: Record<string, HostState>, live: Record<string, LiveJob>): JobRow[] {
  const rows = new Map<string, JobRow>();
  for (const name of order) {
    for (const j of hosts[name]?.jobs ?? []) {
      rows.set(`${name}/${j.id}`, {
        host: name,
        jobId: j.id,
        type: j.type,
        status: j.status,
        startedAt: j.startedAt,
        ...(j.finishedAt ? { finishedAt: j.finishedAt } : {}),
        ...(j.cluster ?? (j.params?.cluster as string | undefined) ? { cluster: j.cluster ?? (j.params.cluster as string) } : {}),
        record: j,
      });
    }
  }
  for (const [k, l] of Object.entries(live)) {
    const prev = rows.get(k);
    rows.set(k, { ...(prev ?? { host: l.host, jobId: l.jobId, type: l.type, startedAt: new Date(l.startedAt).toISOString() }), status: l.status, live: l });
  }
  const running = (r: JobRow) => (r.status === 'running' ? 0 : 1);
  return [...rows.values()].sort((a, b) => running(a) - running(b) || b.startedAt.localeCompare(a.startedAt) || a.host.localeCompare(b.host));
}

const jobsMemo = memo(buildJobRows);

export function jobRows(s: AppState): JobRow[] {
  return jobsMemo(s.hostOrder, s.hosts, s.live);
}

/** Running jobs across the fleet (for the header). */
export function runningCount(s: AppState): number {
  return jobRows(s).filter((r) => r.status === 'running').length;
}

/** What quitting leaves running: a line per job with the command that follows it again (its host, the same --config). */
export function stillRunning(s: AppState, config?: string): string[] {
  return Object.values(s.live)
    .filter((j) => j.status === 'running')
    .map((j) => `lifeboat: job ${j.jobId} (${j.label}) goes on on ${j.host}; follow it: ${suggest({ host: j.host, config }, 'jobs', 'attach', j.jobId)}`);
}
