import { z } from 'zod';
import { LifeboatError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import { layout, type Repository } from '../../core/repository.js';
import { classifyWalFile, walLayout } from '../../core/wal.js';
import { lockForJob } from '../../runtime/lock.js';
import { assertDeletable } from '../../core/storage.js';
import type { AgentEnv } from '../../runtime/env.js';
import type { JobHandle } from '../../runtime/context.js';
import { backupsMatching, oneBackup } from './catalog.js';
import { plural } from '../../core/text.js';
import { RetentionParamsSchema, PinParamsSchema } from '../../protocol/index.js';

export type RetentionParams = z.output<typeof RetentionParamsSchema>;

export interface RetentionBackup {
  id: string;
  kind: 'logical' | 'physical';
  tag: string;
  finishedAt: string;
  storedSize: number;
  /** Why it goes, or why it stays. */
  reason: string;
  objects?: string[];
}

export interface RetentionPlan {
  cluster: string;
  dryRun: boolean;
  policy: { keepPhysical?: number; keepLogical?: number; keepDays?: number } | 'explicit';
  remove: RetentionBackup[];
  keep: RetentionBackup[];
  wal: {
    /** The oldest WAL position still needed (segment name), when known. */
    keepFrom?: string;
    files: { key: string; name: string; size: number }[];
    count: number;
    bytes: number;
    first?: string;
    last?: string;
  };
  notes: string[];
  /** Named for delete but pinned (dry run only: doing it refuses them). */
  pinnedRefused?: string[];
  bytes: number;
  applied: boolean;
}

interface Candidate {
  m: Manifest;
  pinned: boolean;
}

/** Segment position (log and segment number, timeline left out), for ordering across timelines. */
const position = (walName: string) => walName.slice(8, 24);

/** A backup whose manifest cannot be read: only `delete ID` removes it, by its prefix. */
interface Damaged {
  id: string;
  error: string;
  pinned: boolean;
}

async function candidates(repo: Repository, cluster: string): Promise<{ list: Candidate[]; invalid: Damaged[] }> {
  const pins = await repo.pins(cluster);
  const list: Candidate[] = [];
  const invalid: Damaged[] = [];
  for await (const e of repo.manifests(cluster)) {
    if ('error' in e) invalid.push({ id: e.id, error: e.error.message, pinned: pins.has(e.id) });
    else list.push({ m: e.manifest, pinned: !!e.manifest.pinned || pins.has(e.id) });
  }
  list.sort((a, b) => a.m.startedAt.localeCompare(b.m.startedAt) || a.m.id.localeCompare(b.m.id));
  return { list, invalid };
}

/** The ids `refs` name, among the listed backups and, when `invalid` is given, the damaged ones. */
function pick(list: Candidate[], refs: string[], force: boolean, invalid: Damaged[] = [], refused?: Set<string>): Set<string> {
  const chosen = new Set<string>();
  const byId = [...list.map((c) => ({ id: c.m.id, pinned: c.pinned })), ...invalid];
  for (const ref of refs) {
    const hit = oneBackup(backupsMatching(byId, ref), ref);
    if (hit.pinned && !force) {
      // a plan (dry run) shows it kept and why; doing it refuses
      if (refused) refused.add(hit.id);
      else throw new LifeboatError('USAGE', `backup ${hit.id} is pinned`, { hint: `unpin it first (lifeboat unpin ${hit.id}), or pass \`force\`` });
      continue;
    }
    chosen.add(hit.id);
  }
  return chosen;
}

/**
 * What removing backup `id` deletes: its manifest first, then every key under
 * its own prefix. Listed from storage, not taken from the manifest: a manifest
 * is not trusted to name what may be deleted, and an interrupted backup's
 * leftovers under the prefix go too.
 */
async function ownKeys(repo: Repository, cluster: string, id: string): Promise<{ keys: string[]; bytes: number }> {
  const manifest = layout.manifest(cluster, id);
  const keys = [manifest];
  let bytes = 0;
  for await (const o of repo.storage.list(layout.backupDir(cluster, id))) {
    bytes += o.size;
    if (o.key !== manifest) keys.push(o.key);
  }
  return { keys, bytes };
}

/** `20261121-084501L-3f2a` → `2026-11-21T08:45:01.000Z`: when a damaged backup started. */
function idTime(id: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})/.exec(id);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : '';
}

/** Read-only: what retention would remove, and why the rest stays. */
export async function planRetention(env: AgentEnv, p: RetentionParams): Promise<RetentionPlan> {
  const c = await env.cluster(p.cluster);
  const repo = await env.repository(c.repoName);
  const { list, invalid } = await candidates(repo, c.name);
  const notes: string[] = [];
  const damagedNamed = new Set<string>();

  const remove = new Map<string, string>();
  const keepReason = new Map<string, string>();
  let policy: RetentionPlan['policy'];
  let pinnedRefused: string[] | undefined;
  if (p.backups?.length) {
    if (p.keepPhysical !== undefined || p.keepLogical !== undefined || p.keepDays !== undefined) {
      throw new LifeboatError('USAGE', 'name backups or give a policy (`keep*`), not both');
    }
    policy = 'explicit';
    const refused = new Set<string>();
    for (const id of pick(list, p.backups, p.force, invalid, p.dryRun ? refused : undefined)) {
      if (invalid.some((d) => d.id === id)) damagedNamed.add(id);
      else remove.set(id, 'named');
    }
    if (refused.size) pinnedRefused = [...refused];
    for (const id of refused) {
      keepReason.set(id, 'pinned (delete refuses it)');
      notes.push(`backup ${id} is pinned: delete refuses it (lifeboat unpin ${id} first, or \`force\`)`);
    }
  } else {
    const cfg = c.config.retention ?? {};
    const keepPhysical = p.keepPhysical ?? cfg.physical;
    const keepLogical = p.keepLogical ?? cfg.logical;
    const keepDays = p.keepDays ?? cfg.maxAgeDays;
    if (keepPhysical === undefined && keepLogical === undefined && keepDays === undefined) {
      throw new LifeboatError('USAGE', `no retention policy for cluster ${c.name}`, {
        hint: `pass \`keepPhysical=N\`, \`keepLogical=N\` or \`keepDays=D\`, or set clusters.${c.name}.retention in the config`,
      });
    }
    policy = { ...(keepPhysical !== undefined ? { keepPhysical } : {}), ...(keepLogical !== undefined ? { keepLogical } : {}), ...(keepDays !== undefined ? { keepDays } : {}) };
    const cutoff = keepDays !== undefined ? Date.now() - keepDays * 86_400_000 : undefined;
    for (const kind of ['physical', 'logical'] as const) {
      const keepN = kind === 'physical' ? keepPhysical : keepLogical;
      const ofKind = list.filter((x) => x.m.kind === kind).reverse(); // newest first
      ofKind.forEach((x, i) => {
        const young = cutoff !== undefined && Date.parse(x.m.finishedAt) >= cutoff;
        if (x.pinned) keepReason.set(x.m.id, 'pinned');
        else if (keepN !== undefined && i < keepN) keepReason.set(x.m.id, `one of the newest ${keepN} ${kind}`);
        else if (young) keepReason.set(x.m.id, `younger than ${keepDays} days`);
        else if (keepN === undefined && cutoff === undefined) keepReason.set(x.m.id, `no policy for ${kind} backups`);
        else remove.set(x.m.id, keepN !== undefined && i >= keepN ? `older than the newest ${keepN} ${kind}` : `older than ${keepDays} days`);
      });
    }
  }

  const unnamed = invalid.filter((d) => !damagedNamed.has(d.id));
  if (unnamed.length) {
    notes.push(`${plural(unnamed.length, 'backup')} with a damaged manifest ${unnamed.length === 1 ? 'is' : 'are'} left alone: ${unnamed.map((d) => d.id).join(', ')} (lifeboat delete ID removes one)`);
  }
  const toPlan = (x: Candidate, reason: string): RetentionBackup => ({
    id: x.m.id,
    kind: x.m.kind,
    tag: x.m.tag,
    finishedAt: x.m.finishedAt,
    storedSize: x.m.storedSize,
    reason,
  });
  const removed: RetentionBackup[] = [];
  for (const x of list.filter((y) => remove.has(y.m.id))) {
    removed.push({ ...toPlan(x, remove.get(x.m.id)!), objects: (await ownKeys(repo, c.name, x.m.id)).keys });
  }
  for (const d of invalid.filter((y) => damagedNamed.has(y.id))) {
    const own = await ownKeys(repo, c.name, d.id);
    removed.push({
      id: d.id,
      kind: d.id.charAt(15) === 'P' ? 'physical' : 'logical',
      tag: 'damaged',
      finishedAt: idTime(d.id),
      storedSize: own.bytes,
      reason: `named; its manifest is damaged (${d.error})`,
      objects: own.keys,
    });
  }
  const kept = list.filter((x) => !remove.has(x.m.id)).map((x) => toPlan(x, keepReason.get(x.m.id) ?? 'not named'));

  // WAL: needed from the oldest kept physical backup's start onward.
  const keptPhysical = list.filter((x) => !remove.has(x.m.id) && x.m.physical);
  const wal: RetentionPlan['wal'] = { files: [], count: 0, bytes: 0 };
  if (keptPhysical.length === 0) {
    if (list.some((x) => x.m.physical)) notes.push('no physical backup would be left: the WAL archive is kept (take a new base backup, then expire again)');
  } else {
    const oldest = keptPhysical.map((x) => x.m.physical!.walStart).sort((a, b) => position(a).localeCompare(position(b)))[0]!;
    wal.keepFrom = oldest;
    for await (const o of repo.storage.list(walLayout.prefix(c.name))) {
      const parsed = walLayout.parse(o.key);
      if (!parsed) continue;
      let kind: string;
      try {
        kind = classifyWalFile(parsed.name).kind;
      } catch {
        continue;
      }
      if (kind === 'history') continue;
      // a segment (or .partial/.backup file) wholly before the oldest needed one
      if (position(parsed.name) < position(oldest)) wal.files.push({ key: o.key, name: parsed.name, size: o.size });
    }
    wal.files.sort((a, b) => a.name.localeCompare(b.name));
    wal.count = wal.files.length;
    wal.bytes = wal.files.reduce((n, f) => n + f.size, 0);
    if (wal.count) {
      wal.first = wal.files[0]!.name;
      wal.last = wal.files.at(-1)!.name;
    }
  }
  return {
    cluster: c.name,
    dryRun: p.dryRun,
    policy,
    remove: removed,
    keep: kept,
    wal,
    notes,
    ...(pinnedRefused ? { pinnedRefused } : {}),
    bytes: removed.reduce((n, r) => n + r.storedSize, 0) + wal.bytes,
    applied: false,
  };
}

/** Carry out retention under the cluster's lock (the plan is made again inside it). */
export async function runRetention(env: AgentEnv, p: RetentionParams, job: JobHandle): Promise<RetentionPlan> {
  const c = await env.cluster(p.cluster);
  if (p.dryRun) return planRetention(env, p);
  const repo = await env.repository(c.repoName);
  const lock = lockForJob(await env.stateDir(), c.name, job);
  try {
    const plan = await planRetention(env, { ...p, cluster: c.name });
    if (plan.remove.length || plan.wal.count) assertDeletable(repo.storage, `removing backups of ${c.name}`);
    for (const b of plan.remove) {
      job.signal.throwIfAborted();
      await repo.storage.delete(layout.manifest(c.name, b.id)); // first: no longer listed
      for (const key of b.objects ?? []) await repo.storage.delete(key).catch(() => undefined);
      for await (const o of repo.storage.list(layout.verifications(c.name, b.id))) await repo.storage.delete(o.key);
      await repo.unpin(c.name, b.id);
      job.log('info', `removed backup ${b.id} (${b.kind}, ${b.reason})`);
    }
    let done = 0;
    for (const f of plan.wal.files) {
      job.signal.throwIfAborted();
      await repo.storage.delete(f.key);
      done += f.size;
      job.progress({ phase: 'remove WAL', bytes: done, totalBytes: plan.wal.bytes });
    }
    if (plan.wal.count) job.log('info', `removed ${plural(plan.wal.count, 'WAL file')} ${plan.wal.first} .. ${plan.wal.last}; kept from ${plan.wal.keepFrom}`);
    // the catalog cache forgets the removed backups on the next listing
    const state = await env.state();
    await state.update((d) => {
      for (const b of plan.remove) delete d.catalog[`${c.repoName}:${layout.manifest(c.name, b.id)}`];
    });
    return { ...plan, applied: true };
  } finally {
    lock.release();
  }
}

/** Pin (never expired, deleted only with --force) or unpin a backup. */
export async function setPinned(env: AgentEnv, p: z.output<typeof PinParamsSchema>): Promise<{ cluster: string; id: string; pinned: boolean }> {
  const c = await env.cluster(p.cluster);
  const repo = await env.repository(c.repoName);
  const { list } = await candidates(repo, c.name);
  const id = [...pick(list, [p.backup], true)][0]!;
  if (p.pinned) await repo.pin(c.name, id);
  else {
    if (list.find((x) => x.m.id === id)?.m.pinned) throw new LifeboatError('USAGE', `backup ${id} was pinned when it was made (in its manifest); it cannot be unpinned`);
    await repo.unpin(c.name, id);
  }
  return { cluster: c.name, id, pinned: p.pinned };
}
