import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { compressionOfKey, decompressStream } from '../../core/compression.js';
import { LifeboatError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import { openStored, pipeStoredToTool } from '../../core/pipeline.js';
import { buildRecoverableWindow, checkWalContinuity, parseHistory, parseTargetTime, withBackupWal, type HistoryEntry, type PitrPlan, type PitrTarget, type RecoverableWindow, type WindowArchive, type WindowBackup } from '../../core/pitr.js';
import { parseLsn, walLayout } from '../../core/wal.js';
import type { Storage } from '../../core/storage.js';
import { requireManifestUnchanged } from './integrity.js';
import type { AgentEnv } from '../../runtime/env.js';
import { stepContext, type JobHandle } from '../../runtime/context.js';
import { checksumAll } from './verify.js';
import { PlanStore } from '../../runtime/plans.js';
import { lockForJob } from '../../runtime/lock.js';
import { PitrPlanParamsSchema, PitrApplyParamsSchema } from '../../protocol/index.js';

export type PitrPlanParams = z.output<typeof PitrPlanParamsSchema>;

function targetOf(p: z.infer<typeof PitrPlanParamsSchema>): PitrTarget {
  const given: PitrTarget[] = [];
  if (p.time !== undefined) {
    given.push({ kind: 'time', time: parseTargetTime(p.time).time });
  }
  if (p.lsn) given.push({ kind: 'lsn', lsn: p.lsn.toUpperCase() });
  if (p.xid) given.push({ kind: 'xid', xid: p.xid });
  if (p.name) given.push({ kind: 'name', name: p.name });
  if (p.latest) given.push({ kind: 'latest' });
  if (p.immediate) given.push({ kind: 'immediate' });
  if (given.length !== 1) throw new LifeboatError('USAGE', 'give exactly one target: `time`, `lsn`, `xid`, `name`, `latest` or `immediate`');
  return given[0]!;
}

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Archived WAL names, when each segment was stored (where the storage says), and every timeline's history (from the repository's .history files). */
async function archiveFacts(storage: Storage, cluster: string): Promise<WindowArchive> {
  const names = new Set<string>();
  const mtimes = new Map<string, number>();
  const historyKeys: { tl: number; key: string }[] = [];
  for await (const o of storage.list(walLayout.prefix(cluster))) {
    const p = walLayout.parse(o.key);
    if (!p) continue;
    names.add(p.name);
    // two copies of one segment: the first one stored says when its WAL was complete
    const seen = mtimes.get(p.name);
    if (o.mtimeMs !== undefined && /^[0-9A-F]{24}$/.test(p.name) && (seen === undefined || o.mtimeMs < seen)) mtimes.set(p.name, o.mtimeMs);
    if (p.name.endsWith('.history')) historyKeys.push({ tl: parseInt(p.name.slice(0, 8), 16), key: o.key });
  }
  const histories = new Map<number, HistoryEntry[]>();
  for (const h of historyKeys) {
    const raw = await storage.get(h.key);
    histories.set(h.tl, parseHistory(await readAll(raw.pipe(decompressStream({ algorithm: compressionOfKey(h.key) })))));
  }
  return { names, mtimes, histories };
}

/** WAL continuity from a physical backup's start; the segments inside its tar count as available. */
function continuityFrom(base: Manifest, facts: { names: Set<string>; histories: Map<number, HistoryEntry[]> }, followTimelines: boolean) {
  const ph = base.physical!;
  return checkWalContinuity({ from: ph.walStart, segSize: ph.walSegmentSize, archived: withBackupWal(facts.names, ph), histories: facts.histories, followTimelines });
}

export interface WalVerifyResult {
  cluster: string;
  ok: boolean;
  segments: number;
  timelines: number[];
  backups: { id: string; ok: boolean; from: string; to?: string; segments?: number; timeline?: number; gap?: string }[];
  /** What was read: every archived WAL object, decompressed, against the sha256 in its key. */
  contents: { objects: number; bytes: number; damaged: { name: string; key: string; problem: string }[] };
}

/**
 * Read every archived WAL object back: decompress it and compare the sha256 of
 * its content with the one recorded in its key at push time. A bit flip, a
 * truncation or an undecodable object is damage, named by segment.
 */
async function checkWalContents(storage: Storage, cluster: string): Promise<WalVerifyResult['contents']> {
  const out: WalVerifyResult['contents'] = { objects: 0, bytes: 0, damaged: [] };
  for await (const o of storage.list(walLayout.prefix(cluster))) {
    const p = walLayout.parse(o.key);
    if (!p) continue;
    out.objects++;
    const hash = createHash('sha256');
    try {
      const raw = await storage.get(o.key);
      for await (const chunk of raw.pipe(decompressStream({ algorithm: compressionOfKey(o.key) }))) {
        hash.update(chunk as Buffer);
        out.bytes += (chunk as Buffer).length;
      }
      const got = hash.digest('hex');
      if (got !== p.sha256) out.damaged.push({ name: p.name, key: o.key, problem: `content sha256 ${got.slice(0, 16)}… is not the ${p.sha256.slice(0, 16)}… recorded at push` });
    } catch (err) {
      out.damaged.push({ name: p.name, key: o.key, problem: `cannot be read back: ${(err as Error).message}` });
    }
  }
  return out;
}

/**
 * Continuity per timeline from each physical backup's start to the newest
 * archived segment, following history files. A gap is reported with the backups
 * whose recoverable range it cuts.
 */
export async function walVerify(env: AgentEnv, p: { cluster?: string }): Promise<WalVerifyResult> {
  const cluster = await env.cluster(p.cluster);
  const repo = await env.repository(cluster.repoName);
  const facts = await archiveFacts(repo.storage, cluster.name);
  const backups: WalVerifyResult['backups'] = [];
  for await (const e of repo.manifests(cluster.name)) {
    if (!('manifest' in e) || !e.manifest.physical) continue;
    const m = e.manifest;
    try {
      const r = continuityFrom(m, facts, true);
      backups.push({ id: m.id, ok: true, from: m.physical!.walStart, to: r.last, segments: r.segments, timeline: r.timeline });
    } catch (err) {
      const gap = (err as LifeboatError).details?.missingSegment as string | undefined;
      if (!gap) throw err;
      backups.push({ id: m.id, ok: false, from: m.physical!.walStart, gap });
    }
  }
  backups.sort((a, b) => a.id.localeCompare(b.id));
  const segs = [...facts.names].filter((n) => /^[0-9A-F]{24}$/.test(n));
  const contents = await checkWalContents(repo.storage, cluster.name);
  return {
    cluster: cluster.name,
    ok: backups.every((b) => b.ok) && contents.damaged.length === 0,
    contents,
    segments: segs.length,
    timelines: [...new Set(segs.map((n) => parseInt(n.slice(0, 8), 16)))].sort((a, b) => a - b),
    backups,
  };
}

export type { RecoverableWindow, WindowSpan } from '../../core/pitr.js';

/**
 * `pitr.window`: where point-in-time recovery is possible, in time, from the
 * physical backups and the archived WAL (read-only; the TUI's time bar).
 */
export async function recoverableWindow(env: AgentEnv, p: { cluster?: string }): Promise<RecoverableWindow> {
  const cluster = await env.cluster(p.cluster);
  const repo = await env.repository(cluster.repoName);
  const facts = await archiveFacts(repo.storage, cluster.name);
  const physical: WindowBackup[] = [];
  for await (const e of repo.manifests(cluster.name)) {
    if ('manifest' in e && e.manifest.physical) physical.push({ id: e.manifest.id, finishedAt: e.manifest.finishedAt, physical: e.manifest.physical });
  }
  return buildRecoverableWindow(cluster.name, physical, facts);
}

/** Choose the base backup: the newest physical backup that ends before the target. */
function chooseBackup(backups: Manifest[], target: PitrTarget): Manifest {
  const physical = backups.filter((m) => m.physical).sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  let fit = physical;
  if (target.kind === 'time') fit = physical.filter((m) => Date.parse(m.finishedAt) < parseTargetTime(target.time).ms);
  if (target.kind === 'lsn') fit = physical.filter((m) => parseLsn(m.physical!.stopLsn) <= parseLsn(target.lsn));
  const chosen = fit.at(-1);
  if (!chosen) {
    throw new LifeboatError('UNSUPPORTED', physical.length ? `no physical backup ends before the target` : 'there is no physical backup of this cluster', {
      hint: 'take one with: lifeboat backup --physical (recovery starts from a base backup taken before the target)',
    });
  }
  return chosen;
}

/** Read-only: choose the base backup, prove WAL covers it, list the steps. The plan is stored. */
export async function planPitr(env: AgentEnv, p: PitrPlanParams): Promise<PitrPlan> {
  const target = targetOf(p);
  const cluster = await env.cluster(p.cluster);
  const steps = cluster.plugin.source.steps;
  if (!steps.pitrSteps || !steps.runPitrStep) throw new LifeboatError('UNSUPPORTED', `source plugin ${cluster.plugin.meta.name} has no point-in-time recovery`);
  const repo = await env.repository(cluster.repoName);
  const manifests: Manifest[] = [];
  const damaged: { id: string; error: LifeboatError }[] = [];
  for await (const e of repo.manifests(cluster.name)) {
    if ('manifest' in e) manifests.push(e.manifest);
    else damaged.push({ id: e.id, error: e.error });
  }
  const matches = (id: string) => id === p.backup || id.startsWith(p.backup!);
  const base = p.backup ? manifests.find((m) => matches(m.id)) : chooseBackup(manifests, target);
  if (!base?.physical) {
    // a backup asked for by id whose manifest is damaged: say why, not "no such backup"
    const bad = p.backup ? damaged.find((d) => matches(d.id)) : undefined;
    if (bad) throw bad.error;
    throw new LifeboatError('UNKNOWN_BACKUP', `no physical backup ${p.backup}`);
  }
  const facts = await archiveFacts(repo.storage, cluster.name);
  const wal = continuityFrom(base, facts, target.kind !== 'immediate');
  const conn = cluster.connection as { port?: number; dataDirectory?: string };
  const { path: configPath } = await env.config();
  const sideBySide = p.toDatadir !== undefined;
  if (sideBySide && p.port === undefined) throw new LifeboatError('USAGE', '`toDatadir` needs `port` for the restored server');
  let dataDir = p.toDatadir ? path.resolve(p.toDatadir) : conn.dataDirectory ?? base.physical.dataDirectory;
  if (!dataDir) throw new LifeboatError('USAGE', 'the data directory of the cluster is unknown', { hint: 'set "dataDirectory" in the cluster connection config, or restore side by side with `toDatadir=DIR` `port=P`' });
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const restoreCommand = `${q(process.execPath)} ${q(process.argv[1]!)} --config ${q(configPath)} wal fetch --cluster ${q(cluster.name)} %f %p`;
  const plan: PitrPlan = {
    id: `pitr-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(2).toString('hex')}`,
    cluster: cluster.name,
    createdAt: new Date().toISOString(),
    backupId: base.id,
    target,
    inclusive: p.inclusive,
    action: p.action,
    mode: sideBySide ? 'side-by-side' : 'in-place',
    dataDir,
    port: p.port ?? conn.port ?? 5432,
    restoreCommand,
    wal: { timeline: wal.timeline, from: base.physical.walStart, to: wal.last, segments: wal.segments },
    ...(p.verifyQuery ? { verifyQuery: p.verifyQuery } : {}),
    steps: [],
  };
  plan.steps = steps.pitrSteps(plan, cluster.connection);
  (await plansOf(env)).save(plan);
  return plan;
}

export async function restorePoint(env: AgentEnv, p: { cluster?: string; name: string }): Promise<{ cluster: string; name: string; lsn: string }> {
  const cluster = await env.cluster(p.cluster);
  const create = cluster.plugin.source.steps.createRestorePoint;
  if (!create) throw new LifeboatError('UNSUPPORTED', `source plugin ${cluster.plugin.meta.name} has no restore points`);
  const ctx = stepContext(cluster, env.host, { id: 'restore-point', signal: AbortSignal.timeout(60_000), log: () => undefined, progress: () => undefined, step: (_n, f) => f(), tmpDir: () => Promise.reject(new Error('no temp dir')) });
  const { lsn } = await create(ctx, p.name);
  return { cluster: cluster.name, name: p.name, lsn };
}

/** The agent's recovery plans: their own files, not the state cache (agent/plans.ts). */
async function plansOf(env: AgentEnv): Promise<PlanStore> {
  return new PlanStore(await env.stateDir(), await env.state());
}

export async function showPlan(env: AgentEnv, id: string): Promise<PitrPlan> {
  const plan = await (await plansOf(env)).get(id);
  if (!plan) throw new LifeboatError('NOT_FOUND', `no recovery plan ${id} on this agent`, { hint: 'make one with: lifeboat pitr plan' });
  return plan;
}

/**
 * The recovery plans recorded on this agent, newest first, optionally only one
 * cluster's and only unfinished ones: what the TUI's wizard offers to resume.
 */
export async function listPlans(env: AgentEnv, p: { cluster?: string; unfinished?: boolean }): Promise<PitrPlan[]> {
  const store = await plansOf(env).catch(() => undefined);
  if (!store) return [];
  return (await store.list())
    .filter((plan) => !p.cluster || plan.cluster === p.cluster)
    .filter((plan) => !p.unfinished || plan.steps.some((s) => s.status !== 'done'))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** The steps an apply runs: every pending one, one (`step`), or the pending ones up to `through`; USAGE when they cannot run. */
function stepsToRun(plan: PitrPlan, p: z.output<typeof PitrApplyParamsSchema>): { s: PitrPlan['steps'][number]; i: number }[] {
  let todo = plan.steps.map((s, i) => ({ s, i })).filter(({ s }) => s.status !== 'done');
  if (p.step !== undefined) {
    const idx = p.step - 1;
    const st = plan.steps[idx];
    if (!st) throw new LifeboatError('USAGE', `plan ${plan.id} has ${plan.steps.length} steps`);
    const missing = plan.steps.slice(0, idx).find((s) => s.status !== 'done');
    if (missing) throw new LifeboatError('USAGE', `step ${p.step} (${st.name}) needs step ${plan.steps.indexOf(missing) + 1} (${missing.name}) done first`);
    todo = [{ s: st, i: idx }];
  }
  if (p.through !== undefined) {
    if (p.step !== undefined) throw new LifeboatError('USAGE', 'give `step` or `through`, not both');
    if (!plan.steps[p.through - 1]) throw new LifeboatError('USAGE', `plan ${plan.id} has ${plan.steps.length} steps`);
    todo = todo.filter(({ i }) => i < p.through!);
  }
  return todo;
}

/** What job.start refuses before a pitr job exists: an unknown plan, steps that cannot run. */
export async function checkPitrApply(env: AgentEnv, p: z.output<typeof PitrApplyParamsSchema>): Promise<void> {
  const plan = await showPlan(env, p.plan);
  await env.cluster(plan.cluster);
  stepsToRun(plan, p);
}

/**
 * Walk a plan: every pending step in order (or one, with `step`), each recorded
 * in the agent's state as it starts and ends, so an interrupted walk resumes
 * where it stopped.
 */
export async function applyPitr(env: AgentEnv, p: z.output<typeof PitrApplyParamsSchema>, job: JobHandle): Promise<PitrPlan> {
  const plan = await showPlan(env, p.plan);
  const cluster = await env.cluster(plan.cluster);
  const steps = cluster.plugin.source.steps;
  const repo = await env.repository(cluster.repoName);
  const base = await repo.readManifest(cluster.name, plan.backupId);
  const baseObject = base.objects.find((o) => o.name === 'base.tar');
  if (!baseObject) throw new LifeboatError('MANIFEST_INVALID', `backup ${base.id} has no base.tar`);
  await requireManifestUnchanged(env, repo, base);
  const ctx = stepContext(cluster, env.host, job);
  const objectOf = (name: string) => {
    const o = base.objects.find((x) => x.name === name);
    if (!o) throw new LifeboatError('MANIFEST_INVALID', `backup ${base.id} has no object ${name}`);
    return o;
  };
  const store = await plansOf(env);
  const save = async () => store.save(plan);
  // one walk of a plan at a time: each writes the whole plan file, and two would undo each other's
  // steps; the plan is read again under the lock, so a walk that just ended is not repeated
  const lock = lockForJob(await env.stateDir(), `plans/${plan.id}`, job, `recovery plan ${plan.id}`);
  try {
    Object.assign(plan, await showPlan(env, plan.id));
    const todo = stepsToRun(plan, p);
    // in place, the server is stopped and its directory moved aside before the base backup is
    // extracted: every object is read back and checked first, while the server still runs
    if (plan.mode === 'in-place' && todo.some(({ s }) => s.name === 'stop-server' || s.name === 'move-aside')) {
      const bad = (await job.step('checksum', () => checksumAll(repo.storage, base, job))).find((c) => !c.ok);
      if (bad) {
        throw new LifeboatError('VERIFY_FAILED', `${bad.name.replace(/^checksum /, 'object ')} of backup ${base.id} does not match its manifest (${bad.detail}); the server was not stopped and nothing was moved`, {
          hint: 'make a new plan from another backup: lifeboat pitr plan --backup ID ...',
        });
      }
      job.log('info', `every object of backup ${base.id} read back and checked (${base.objects.length})`);
    }
    for (const { s, i } of todo) {
      job.signal.throwIfAborted();
      s.status = 'running';
      s.startedAt = new Date().toISOString();
      delete s.error;
      await save();
      job.log('info', `step ${i + 1}/${plan.steps.length} ${s.name}: ${s.description}`);
      try {
        s.detail = await job.step(s.name, () =>
          steps.runPitrStep!(ctx, plan, s.name, {
            manifest: base,
            openBase: () => openStored(repo.storage, baseObject, { signal: job.signal }),
            open: (name) => openStored(repo.storage, objectOf(name), { signal: job.signal }),
            pipeTo: (name, bin, args) => pipeStoredToTool(repo.storage, objectOf(name), bin, args, { signal: job.signal }),
          }),
        );
        s.status = 'done';
        s.finishedAt = new Date().toISOString();
        job.log('info', `step ${i + 1} ${s.name} done: ${s.detail}`);
      } catch (err) {
        s.status = 'failed';
        s.error = (err as Error).message;
        s.finishedAt = new Date().toISOString();
        // a step that failed and put back what earlier steps did says which: they run again next time
        const undone = err instanceof LifeboatError && Array.isArray(err.details?.undoneSteps) ? (err.details.undoneSteps as unknown[]) : [];
        for (const st of plan.steps) {
          if (st !== s && undone.includes(st.name)) {
            st.status = 'pending';
            delete st.detail;
            delete st.startedAt;
            delete st.finishedAt;
          }
        }
        await save();
        throw err;
      }
      await save();
    }
  } finally {
    lock.release();
  }
  return plan;
}
