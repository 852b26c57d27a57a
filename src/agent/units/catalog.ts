import { LifeboatError } from '../../core/errors.js';
import { VerificationSchema, type Manifest, type Verification } from '../../core/manifest.js';
import type { Repository } from '../../core/repository.js';
import type { AgentEnv } from '../../runtime/env.js';
import { plural } from '../../core/text.js';

/** One row of `lifeboat list`; what the catalog cache keeps per manifest. */
export interface BackupSummary {
  id: string;
  cluster: string;
  kind: 'logical' | 'physical';
  tag: string;
  label?: string;
  pinned?: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  rawSize: number;
  storedSize: number;
  format?: string;
  scope?: string;
  databases: string[];
  host: string;
  /** Physical backups: the LSN range and timeline. */
  wal?: { start: string; stop: string; timeline: number };
  verification?: { level: string; ok: boolean; at: string };
}

/** A manifest that failed validation: reported, never trusted. */
export interface InvalidBackup {
  id: string;
  cluster: string;
  key: string;
  error: string;
}

export function summarize(m: Manifest): BackupSummary {
  const s: BackupSummary = {
    id: m.id,
    cluster: m.cluster,
    kind: m.kind,
    tag: m.tag,
    startedAt: m.startedAt,
    finishedAt: m.finishedAt,
    durationMs: m.durationMs,
    rawSize: m.rawSize,
    storedSize: m.storedSize,
    databases: m.logical?.databases.map((d) => d.name) ?? [],
    host: m.host,
  };
  if (m.label) s.label = m.label;
  if (m.pinned) s.pinned = true;
  if (m.physical) {
    s.format = m.physical.format;
    s.wal = { start: m.physical.startLsn, stop: m.physical.stopLsn, timeline: m.physical.timeline };
  }
  if (m.logical) {
    s.format = m.logical.format;
    s.scope = m.logical.scope.kind;
  }
  return s;
}

/** Newest verification per backup id for a cluster (result keys sort by time). */
async function latestVerifications(repo: Repository, cluster: string): Promise<Map<string, Verification>> {
  const newest = new Map<string, string>();
  for await (const o of repo.storage.list(`${cluster}/verify/`)) {
    const m = /^[^/]+\/verify\/([^/]+)\/[^/]+\.json$/.exec(o.key);
    // a run that could not verify says nothing about the backup: the newest real verdict stands
    if (m && !o.key.endsWith('.inconclusive.json') && (newest.get(m[1]!) ?? '') < o.key) newest.set(m[1]!, o.key);
  }
  const out = new Map<string, Verification>();
  for (const [id, key] of newest) {
    try {
      const res = VerificationSchema.safeParse(JSON.parse(await repo.readText(key)));
      if (res.success) out.set(id, res.data);
    } catch {
      /* damaged result: the backup shows as unverified */
    }
  }
  return out;
}

/** The clusters to look at: one named, or every configured one. */
export async function clustersFor(env: AgentEnv, cluster?: string): Promise<string[]> {
  if (cluster) {
    await env.cluster(cluster);
    return [cluster];
  }
  return env.clusterNames();
}

/**
 * Read the catalog from the repository (the source of truth), using the state
 * cache for manifests already seen (same key, size and mtime).
 */
export async function listBackups(env: AgentEnv, opts: { cluster?: string } = {}): Promise<{ backups: BackupSummary[]; invalid: InvalidBackup[] }> {
  const backups: BackupSummary[] = [];
  const invalid: InvalidBackup[] = [];
  const state = await env.state();
  const cache = (await state.read()).catalog;
  const fresh: Record<string, { repo: string; key: string; size: number; mtimeMs?: number; summary: BackupSummary }> = {};
  for (const name of await clustersFor(env, opts.cluster)) {
    const c = await env.cluster(name);
    const repo = await env.repository(c.repoName);
    const verifs = await latestVerifications(repo, name);
    const pins = await repo.pins(name);
    for await (const info of repo.manifestInfos(name)) {
      const cacheKey = `${c.repoName}:${info.key}`;
      const hit = cache[cacheKey];
      let summary: BackupSummary;
      if (hit && hit.size === info.size && hit.mtimeMs === info.mtimeMs) {
        summary = hit.summary as BackupSummary;
      } else {
        try {
          summary = summarize(await repo.readManifest(name, info.id));
        } catch (err) {
          invalid.push({ id: info.id, cluster: name, key: info.key, error: (err as Error).message });
          continue;
        }
        fresh[cacheKey] = { repo: c.repoName, key: info.key, size: info.size, ...(info.mtimeMs !== undefined ? { mtimeMs: info.mtimeMs } : {}), summary };
      }
      const v = verifs.get(info.id);
      const row = { ...summary };
      if (v) row.verification = { level: v.level, ok: v.ok, at: v.finishedAt };
      if (pins.has(info.id)) row.pinned = true;
      backups.push(row);
    }
  }
  if (Object.keys(fresh).length) await state.update((d) => Object.assign(d.catalog, fresh));
  backups.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  return { backups, invalid };
}

/** Backups `ref` names: the one with that id, else those whose id it begins. */
export function backupsMatching<T extends { id: string }>(items: T[], ref: string): T[] {
  const exact = items.filter((b) => b.id === ref);
  return exact.length ? exact : items.filter((b) => b.id.startsWith(ref));
}

/** The one match, or UNKNOWN_BACKUP / AMBIGUOUS_BACKUP. */
export function oneBackup<T extends { id: string }>(matches: T[], ref: string, cluster?: string): T {
  if (matches.length === 0) {
    throw new LifeboatError('UNKNOWN_BACKUP', `no backup ${ref}${cluster ? ` of cluster ${cluster}` : ''}`, { hint: 'see the backups with: lifeboat list' });
  }
  if (matches.length > 1) {
    throw new LifeboatError('AMBIGUOUS_BACKUP', `${ref} matches ${matches.length} backups: ${matches.slice(0, 5).map((m) => m.id).join(', ')}`, {
      hint: 'give more of the id, or `cluster`',
    });
  }
  return matches[0]!;
}

/**
 * Find a backup by id, unique id prefix, or `latest`. `latest` is the newest
 * backup the caller can use: `usable` (with `what` naming it in errors) narrows
 * it, so a logical restore's "latest" is the newest logical backup, not a
 * physical one it would then refuse.
 */
export async function resolveBackup(
  env: AgentEnv,
  ref: string,
  cluster?: string,
  latest?: { usable: (b: BackupSummary) => boolean; what: string },
): Promise<{ cluster: string; manifest: Manifest; repo: Repository; repoName: string }> {
  const { backups, invalid } = await listBackups(env, cluster ? { cluster } : {});
  let matches: { id: string; cluster: string }[];
  if (ref === 'latest') {
    const last = backups.filter((b) => b.tag !== 'safety' && (latest?.usable(b) ?? true)).at(-1);
    if (!last && latest && backups.length > 0) {
      throw new LifeboatError('UNKNOWN_BACKUP', `no ${latest.what}${cluster ? ` of cluster ${cluster}` : ''} (latest looks only at those)`, { hint: 'see the backups with: lifeboat list' });
    }
    matches = last ? [last] : [];
  } else matches = backupsMatching(backups, ref);
  if (matches.length === 0) {
    const bad = invalid.find((i) => i.id === ref || i.id.startsWith(ref));
    if (bad) throw new LifeboatError('MANIFEST_INVALID', `backup ${bad.id} cannot be trusted: ${bad.error}`);
  }
  const match = oneBackup(matches, ref, cluster);
  const c = await env.cluster(match.cluster);
  const repo = await env.repository(c.repoName);
  return { cluster: c.name, manifest: await repo.readManifest(c.name, match.id), repo, repoName: c.repoName };
}

export async function showBackup(env: AgentEnv, ref: string, cluster?: string): Promise<{ manifest: Manifest; verifications: Verification[] }> {
  const { manifest, repo } = await resolveBackup(env, ref, cluster);
  return { manifest, verifications: await repo.verifications(manifest.cluster, manifest.id) };
}

export interface ClusterStatus {
  cluster: string;
  repository: string;
  ok: boolean;
  problem?: string;
  backups: number;
  invalid: number;
  byTag: Record<string, number>;
  latest?: BackupSummary;
  ageHours?: number;
  maxBackupAgeHours: number;
  storedBytes: number;
  repositoryBytes: number;
  lastVerification?: { id: string; level: string; ok: boolean; at: string };
  /** WAL archiving as the server reports it and the repository holds it (`status`; see overview.ts walStatus). */
  wal?: WalStatus;
}

export interface WalStatus {
  archiveMode?: string;
  archiver?: import('../../core/plugin.js').ArchiverStatus;
  /** The server could not be asked (down, slow): archiving unknown, not a failure of status. */
  serverError?: string;
  /** The newest archived segment in the repository and when it was stored. */
  newestSegment?: string;
  newestAt?: string;
  /** Where point-in-time recovery can go: the last span of the recoverable window. */
  recoverable?: { from: string; to: string; gap?: string };
}

/** Per cluster: newest backup and its age, counts by tag, sizes, last verification. */
export async function clusterStatus(env: AgentEnv, opts: { cluster?: string; now?: Date } = {}): Promise<ClusterStatus[]> {
  const { config } = await env.config();
  const now = opts.now ?? new Date();
  const out: ClusterStatus[] = [];
  for (const name of await clustersFor(env, opts.cluster)) {
    const c = await env.cluster(name);
    const { backups, invalid } = await listBackups(env, { cluster: name });
    const real = backups.filter((b) => b.tag !== 'safety');
    const latest = real.at(-1);
    const max = c.config.maxBackupAgeHours ?? config.defaults.maxBackupAgeHours;
    const byTag: Record<string, number> = {};
    for (const b of backups) byTag[b.tag] = (byTag[b.tag] ?? 0) + 1;
    let repositoryBytes = 0;
    const repo = await env.repository(c.repoName);
    for await (const o of repo.storage.list(`${name}/`)) repositoryBytes += o.size;
    const verified = backups.filter((b) => b.verification).sort((a, b) => a.verification!.at.localeCompare(b.verification!.at)).at(-1);
    const s: ClusterStatus = {
      cluster: name,
      repository: c.repoName,
      ok: true,
      backups: backups.length,
      invalid: invalid.length,
      byTag,
      maxBackupAgeHours: max,
      storedBytes: backups.reduce((n, b) => n + b.storedSize, 0),
      repositoryBytes,
    };
    if (latest) {
      s.latest = latest;
      s.ageHours = (now.getTime() - Date.parse(latest.finishedAt)) / 3_600_000;
    }
    if (verified) s.lastVerification = { id: verified.id, ...verified.verification! };
    if (!latest) {
      s.ok = false;
      s.problem = 'no backup yet';
    } else if (s.ageHours! > max) {
      s.ok = false;
      const fmt = (h: number) => (h < 1 ? `${Math.round(h * 60)} min` : `${h.toFixed(1)} h`);
      s.problem = `newest backup is ${fmt(s.ageHours!)} old (limit ${fmt(max)})`;
    } else if (invalid.length) {
      s.problem = plural(invalid.length, 'damaged manifest');
    }
    out.push(s);
  }
  return out;
}
