/**
 * The protocol's zod schemas (src/protocol/methods.ts) against the agent as it
 * is today (issue 12):
 *
 *   - the tables name every method of the agent's handlers() and every job type;
 *   - params: the schemas behave exactly as the agent's own (the ones in
 *     src/agent/units and the inline ones in server.ts): same JSON Schema, and
 *     the same USAGE message (or acceptance) for a table of good and bad params;
 *   - results, at compile time: every type the agent returns is accepted by its
 *     result schema (assignable to z.input), and what the schema yields fits the
 *     type the clients use today (z.output assignable to it);
 *   - results, at run time: every response and event of the recorded TUI
 *     fixture parses, so do samples of the methods it did not record, and
 *     malformed ones are refused;
 *   - src/protocol imports only zod, Node and src/core.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { LifeboatError, type SerializedError } from '../../src/core/errors.js';
import { formatPath, type Manifest, type Verification } from '../../src/core/manifest.js';
import type { ArchiverStatus, ArchivingFinding, Check, RestorePlan, RestoreResult, ServerStatus } from '../../src/core/plugin.js';
import type { PitrCandidate, PitrPlan, PitrStepState, PitrTarget, RecoverableWindow, WindowSpan } from '../../src/core/pitr.js';
import type { AgentEnv } from '../../src/runtime/env.js';
import type { DetachedRecord } from '../../src/agent/runner.js';
import { callMethod, handlers } from '../../src/agent/server.js';
import { jobWork } from '../../src/agent/job-table.js';
import type { JobRecord } from '../../src/runtime/state.js';
import * as backupUnit from '../../src/agent/units/backup.js';
import type { BackupResult } from '../../src/agent/units/backup.js';
import type { BackupSummary, ClusterStatus, InvalidBackup, WalStatus } from '../../src/agent/units/catalog.js';
import type { listBackups, showBackup } from '../../src/agent/units/catalog.js';
import type { applyArchivingFixes, archivingFixes, checkCluster } from '../../src/agent/units/check.js';
import * as configUnit from '../../src/agent/units/config.js';
import type { ClusterOverview, clusterOverview, statusWithWal } from '../../src/agent/units/overview.js';
import * as pitrTargetsUnit from '../../src/agent/units/pitr-targets.js';
import type { PitrTargetsResult } from '../../src/agent/units/pitr-targets.js';
import * as pitrUnit from '../../src/agent/units/pitr.js';
import type { WalVerifyResult } from '../../src/agent/units/pitr.js';
import * as repoUnit from '../../src/agent/units/repo.js';
import type { GcResult } from '../../src/agent/units/repo.js';
import * as restoreUnit from '../../src/agent/units/restore.js';
import type { PlanResult, RestoreJobResult } from '../../src/agent/units/restore.js';
import * as retentionUnit from '../../src/agent/units/retention.js';
import type { RetentionBackup, RetentionPlan } from '../../src/agent/units/retention.js';
import * as verifyUnit from '../../src/agent/units/verify.js';
import {
  ArchiverStatusSchema,
  ArchivingFindingSchema,
  BackupResultSchema,
  BackupSummarySchema,
  CheckSchema,
  ClusterOverviewSchema,
  ClusterStatusSchema,
  DoneEventSchema,
  doneEventSchema,
  HelloResultSchema,
  InvalidBackupSchema,
  JobRecordSchema,
  Jobs,
  JobTypes,
  LogEventSchema,
  Methods,
  Notifications,
  PitrCandidateSchema,
  PitrPlanSchema,
  PitrStepStateSchema,
  PitrTargetSchema,
  PlanResultSchema,
  ProgressEventSchema,
  RecoverableWindowSchema,
  RestoreJobResultSchema,
  RestorePlanSchema,
  RetentionBackupSchema,
  RetentionPlanSchema,
  SerializedErrorSchema,
  ServerStatusSchema,
  WalStatusSchema,
  WalVerifyResultSchema,
  WindowSpanSchema,
  type DoneEvent,
  type HelloResult,
  type JobParamsOf,
  type JobResultOf,
  type JobStartOf,
  type JobType,
  type LogEvent,
  type MethodName,
  type ParamsOf,
  type ProgressEvent,
  type ResultOf,
} from '../../src/protocol/index.js';
import type { Recording } from '../tui/replay.js';

// ---------------------------------------------------------------------------
// Type-level helpers: a call that does not compile is the failure.

/** The schema accepts every T: T is assignable to its input. */
const accepts =
  <S extends z.ZodType>(_schema: S) =>
  <T extends z.input<S>>(): void =>
    undefined;
/** What the schema yields fits T: its output is assignable to T (so a client can use it where it uses T today). */
const yields =
  <S extends z.ZodType>(_schema: S) =>
  <T>(..._proof: [z.output<S>] extends [T] ? [] : [never]): void =>
    undefined;
/** A and B are the same type (each assignable to the other). */
const same = <A, B>(..._proof: [A] extends [B] ? ([B] extends [A] ? [] : [never]) : [never]): void => undefined;

type Returned<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;

// ---------------------------------------------------------------------------
// An agent whose every use of its environment throws: handlers are run only as
// far as their param checks (nothing reads a config or touches a disk).

const untouchable = new Proxy({} as AgentEnv, {
  get: (_t, key) => {
    throw new Error(`env.${String(key)} was used`);
  },
});
const table = handlers({ send: () => undefined, followers: new Set() });
const work = jobWork(untouchable);

const ACCEPTED = 'accepted';
/** The agent's verdict on params: the USAGE message its parse gives, or accepted. */
async function agentVerdict(label: string, run: () => unknown): Promise<string> {
  try {
    await Promise.resolve().then(run);
  } catch (err) {
    if (err instanceof LifeboatError && err.code === 'USAGE' && err.message.startsWith(`${label}: `)) return err.message;
  }
  return ACCEPTED;
}
/** The same verdict from a schema of ours, worded as server.ts words it. */
function schemaVerdict(label: string, schema: z.ZodType, params: unknown): string {
  const r = schema.safeParse(params ?? {});
  if (r.success) return ACCEPTED;
  const i = r.error.issues[0]!;
  return `${label}: ${formatPath(i.path)}: ${i.message}`;
}

describe('the tables cover the agent', () => {
  test('Methods names every method of handlers(), Jobs every job type', () => {
    expect(Object.keys(Methods).sort()).toEqual(Object.keys(table).sort());
    expect(Object.keys(Jobs).sort()).toEqual([...JobTypes].sort());
    expect(Object.keys(work).sort()).toEqual([...JobTypes].sort());
    expect(Object.keys(Notifications).sort()).toEqual(['job.done', 'job.log', 'job.progress']);
  });
});

describe('params: what the agent accepts is what the schemas accept', () => {
  // Probes every method gets, then each method's own.
  const common: unknown[] = [undefined, {}, { cluster: 5 }, { cluster: 'c' }, { bogus: 1 }];
  const restoreCases = [{ id: 'x' }, { id: 'x', toDatabase: 'd' }, { id: '', toDatabase: 'd' }, { id: 'x', toDatabase: 'a'.repeat(64) }, { id: 'x', toDatabase: 'd', toCluster: '' }, { id: 'x', toDatabase: 'd', tables: 'a' }, { id: 'x', toDatabase: 'd', clean: 1 }];
  const retentionCases = [{ backups: [''] }, { backups: ['x'] }, { keepPhysical: 0 }, { keepLogical: 1.5 }, { keepDays: 0 }, { keepDays: 0.5 }, { dryRun: 'x' }, { force: true }];
  const methodCases: Record<MethodName, unknown[]> = {
    'agent.hello': [{ protocolVersion: '1' }, { protocolVersion: 99, extra: true }, { protocolVersion: 99, clientVersion: 3 }, { protocolVersion: 99, clientVersion: '0.1.0' }],
    'config.init': [{ cluster: '', repo: 'r' }, { cluster: 'c' }, { cluster: 'c', repo: '/r' }, { cluster: 'c', repo: 'r', port: 1.5 }, { cluster: 'c', repo: 'r', force: 'yes' }, { cluster: 'c', repo: 'r', commandPrefix: [1] }],
    'config.check': [],
    'catalog.list': [],
    'catalog.show': [{ id: '' }, { id: 5 }, { id: 'x', cluster: 'c' }, { id: 'x', extra: 1 }],
    'catalog.status': [],
    'pitr.plan': [{ lsn: 'zz' }, { lsn: '0/3000060' }, { xid: 'a' }, { port: 0 }, { port: 70000 }, { action: 'stop' }, { verifyQuery: '' }, { name: '' }, { latest: true }, { inclusive: 'no', latest: true }],
    'pitr.restorePoint': [{ name: '' }, { name: 'x' }, { name: 'x', extra: 1 }],
    'check.cluster': [{ probeSeconds: 0 }, { probeSeconds: 3601 }, { probeSeconds: 10 }],
    'check.fixes': [],
    'check.apply': [{ statements: [] }, { statements: [1] }, { statements: ['x'] }],
    'repo.init': [],
    'wal.verify': [],
    'pitr.window': [],
    'cluster.overview': [],
    'pitr.targets': [{ from: 'yesterday' }, { from: '2026-11-21 14:05:00+01' }, { kinds: [] }, { kinds: ['bogus'] }, { kinds: ['drop'] }, { minRows: 0 }, { limit: 10_001 }, { maxSegments: 0 }, { timeline: 0 }, { relation: '' }],
    'pitr.plans': [{ unfinished: 'yes' }, { unfinished: true }],
    'pitr.show': [{ plan: '' }, { plan: 'p' }, { plan: 'p', cluster: 'c' }],
    'retention.plan': retentionCases,
    'backup.pin': [{ backup: 'x' }, { backup: 'x', pinned: true }, { backup: '', pinned: false }],
    'restore.plan': restoreCases,
    'job.start': [{ type: 'nope' }, { type: 'backup', params: [] }, { type: 'backup' }, { type: 'backup', params: { kind: 'x' } }, { type: 'gc', extra: 1 }],
    'job.attach': [{ jobId: 1 }, { jobId: 'x', fromEvent: -1 }, { jobId: 'x', tail: 1.5 }, { jobId: 'x' }],
    'job.cancel': [{ jobId: 1 }, { jobId: 'x' }],
    'jobs.list': [{ anything: 1 }],
  };
  const methodRows = Object.entries(methodCases).flatMap(([m, cases]) => [...common, ...cases].map((p) => [m as MethodName, p] as const));
  test.each(methodRows)('%s %j: the agent and the schema agree', async (method, params) => {
    const agent = await agentVerdict(method, () => callMethod(table, untouchable, method, params ?? {}));
    expect(schemaVerdict(method, Methods[method].params, params)).toBe(agent);
  });

  const jobCases: Record<JobType, unknown[]> = {
    backup: [{ kind: 'incremental' }, { kind: 'physical' }, { tag: 'safety' }, { tag: 'nope' }, { tag: 'daily' }, { label: 'a\nb' }, { label: 'x'.repeat(201) }, { label: 'before the migration' }, { compression: { algorithm: 'lz4' } }, { compression: { algorithm: 'zstd', level: 23 } }, { scope: 'tables', tables: ['a'], only: 'data' }, { format: 'tar' }, { tables: 'a' }],
    verify: [{ id: '' }, { id: 'x', level: 'deep' }, { id: 'x' }, { id: 'x', level: 'restore' }],
    restore: restoreCases,
    gc: [{ dryRun: 1 }, { dryRun: true }],
    reindex: [],
    pitr: [{ plan: '' }, { plan: 'p', step: 0 }, { plan: 'p', through: 1.5 }, { plan: 'p', step: 2 }, { plan: 'p', step: 1, through: 3 }],
    expire: retentionCases,
  };
  const jobRows = Object.entries(jobCases).flatMap(([t, cases]) => [...common, ...cases].map((p) => [t as JobType, p] as const));
  test.each(jobRows)('job %s %j: the agent and the schema agree', async (type, params) => {
    const agent = await agentVerdict(type, () => work[type]((params ?? {}) as Record<string, unknown>));
    expect(schemaVerdict(type, Jobs[type].params, params)).toBe(agent);
  });
});

describe('results: what the agent returns, at compile time', () => {
  test('every result type is accepted by its schema, and what the schema yields fits it', () => {
    // shared pieces
    accepts(SerializedErrorSchema)<SerializedError>();
    yields(SerializedErrorSchema)<SerializedError>();
    accepts(CheckSchema)<Check>();
    yields(CheckSchema)<Check>();
    accepts(BackupSummarySchema)<BackupSummary>();
    yields(BackupSummarySchema)<BackupSummary>();
    accepts(InvalidBackupSchema)<InvalidBackup>();
    yields(InvalidBackupSchema)<InvalidBackup>();
    accepts(ArchiverStatusSchema)<ArchiverStatus>();
    yields(ArchiverStatusSchema)<ArchiverStatus>();
    accepts(ServerStatusSchema)<ServerStatus>();
    yields(ServerStatusSchema)<ServerStatus>();
    accepts(WalStatusSchema)<WalStatus>();
    yields(WalStatusSchema)<WalStatus>();
    accepts(ClusterStatusSchema)<ClusterStatus>();
    yields(ClusterStatusSchema)<ClusterStatus>();
    accepts(ClusterOverviewSchema)<ClusterOverview>();
    yields(ClusterOverviewSchema)<ClusterOverview>();
    accepts(ArchivingFindingSchema)<ArchivingFinding>();
    yields(ArchivingFindingSchema)<ArchivingFinding>();
    accepts(PitrTargetSchema)<PitrTarget>();
    yields(PitrTargetSchema)<PitrTarget>();
    accepts(PitrStepStateSchema)<PitrStepState>();
    yields(PitrStepStateSchema)<PitrStepState>();
    accepts(PitrPlanSchema)<PitrPlan>();
    yields(PitrPlanSchema)<PitrPlan>();
    accepts(WindowSpanSchema)<WindowSpan>();
    yields(WindowSpanSchema)<WindowSpan>();
    accepts(RecoverableWindowSchema)<RecoverableWindow>();
    yields(RecoverableWindowSchema)<RecoverableWindow>();
    accepts(PitrCandidateSchema)<PitrCandidate>();
    yields(PitrCandidateSchema)<PitrCandidate>();
    accepts(WalVerifyResultSchema)<WalVerifyResult>();
    yields(WalVerifyResultSchema)<WalVerifyResult>();
    accepts(RestorePlanSchema)<RestorePlan>();
    yields(RestorePlanSchema)<RestorePlan>();
    accepts(RestoreJobResultSchema)<RestoreJobResult>();
    yields(RestoreJobResultSchema)<RestoreJobResult>();
    accepts(RestoreJobResultSchema)<RestoreResult & { plan: RestorePlan }>();
    accepts(PlanResultSchema)<PlanResult>();
    // targetCluster is optional on the wire (agents from before --to-cluster leave it out)
    yields(PlanResultSchema)<Omit<PlanResult, 'targetCluster'> & { targetCluster?: string }>();
    accepts(RetentionBackupSchema)<RetentionBackup>();
    yields(RetentionBackupSchema)<RetentionBackup>();
    accepts(RetentionPlanSchema)<RetentionPlan>();
    yields(RetentionPlanSchema)<RetentionPlan>();
    accepts(BackupResultSchema)<BackupResult>();
    yields(BackupResultSchema)<BackupResult>();
    accepts(JobRecordSchema)<JobRecord>();
    accepts(JobRecordSchema)<DetachedRecord>();
    yields(JobRecordSchema)<DetachedRecord>();
    accepts(HelloResultSchema)<HelloResult>();
    yields(HelloResultSchema)<HelloResult>();
    accepts(ProgressEventSchema)<ProgressEvent>();
    yields(ProgressEventSchema)<ProgressEvent>();
    accepts(LogEventSchema)<LogEvent>();
    yields(LogEventSchema)<LogEvent>();
    accepts(DoneEventSchema)<DoneEvent>();
    yields(DoneEventSchema)<DoneEvent>();
    accepts(Methods['catalog.show'].result)<{ manifest: Manifest; verifications: Verification[] }>();
    yields(Methods['catalog.show'].result)<{ manifest: Manifest; verifications: Verification[] }>();

    // each method: what its unit function (or handler) returns
    accepts(Methods['agent.hello'].result)<HelloResult>();
    accepts(Methods['config.init'].result)<Returned<typeof configUnit.initConfig>>();
    accepts(Methods['config.check'].result)<Returned<typeof configUnit.checkConfig>>();
    accepts(Methods['catalog.list'].result)<Returned<typeof listBackups>>();
    accepts(Methods['catalog.show'].result)<Returned<typeof showBackup>>();
    accepts(Methods['catalog.status'].result)<Returned<typeof statusWithWal>>();
    accepts(Methods['pitr.plan'].result)<Returned<typeof pitrUnit.planPitr>>();
    accepts(Methods['pitr.restorePoint'].result)<Returned<typeof pitrUnit.restorePoint>>();
    accepts(Methods['check.cluster'].result)<Returned<typeof checkCluster>>();
    accepts(Methods['check.fixes'].result)<Returned<typeof archivingFixes>>();
    accepts(Methods['check.apply'].result)<Returned<typeof applyArchivingFixes>>();
    accepts(Methods['repo.init'].result)<Returned<typeof repoUnit.initRepository>>();
    accepts(Methods['wal.verify'].result)<Returned<typeof pitrUnit.walVerify>>();
    accepts(Methods['pitr.window'].result)<Returned<typeof pitrUnit.recoverableWindow>>();
    accepts(Methods['cluster.overview'].result)<Returned<typeof clusterOverview>>();
    accepts(Methods['pitr.targets'].result)<Returned<typeof pitrTargetsUnit.pitrTargets>>();
    yields(Methods['pitr.targets'].result)<PitrTargetsResult>();
    accepts(Methods['pitr.plans'].result)<Returned<typeof pitrUnit.listPlans>>();
    accepts(Methods['pitr.show'].result)<Returned<typeof pitrUnit.showPlan>>();
    accepts(Methods['retention.plan'].result)<Returned<typeof retentionUnit.planRetention>>();
    accepts(Methods['backup.pin'].result)<Returned<typeof retentionUnit.setPinned>>();
    accepts(Methods['restore.plan'].result)<Returned<typeof restoreUnit.planRestore>>();
    accepts(Methods['job.start'].result)<{ jobId: string }>();
    accepts(Methods['job.attach'].result)<DetachedRecord>();
    accepts(Methods['job.cancel'].result)<{ cancelled: true }>();
    accepts(Methods['jobs.list'].result)<{ running: JobRecord[]; recent: JobRecord[] }>();

    // each job type: what its unit function returns
    accepts(Jobs.backup.result)<Returned<typeof backupUnit.runBackup>>();
    accepts(Jobs.verify.result)<Returned<typeof verifyUnit.runVerify>>();
    accepts(Jobs.restore.result)<Returned<typeof restoreUnit.runRestore>>();
    accepts(Jobs.gc.result)<Returned<typeof repoUnit.runGc>>();
    yields(Jobs.gc.result)<GcResult>();
    accepts(Jobs.reindex.result)<Returned<typeof repoUnit.runReindex>>();
    accepts(Jobs.pitr.result)<Returned<typeof pitrUnit.applyPitr>>();
    accepts(Jobs.expire.result)<Returned<typeof retentionUnit.runRetention>>();

    // the helper types
    same<ResultOf<'catalog.list'>, { backups: z.output<typeof BackupSummarySchema>[]; invalid: InvalidBackup[] }>();
    same<JobResultOf<'pitr'>, z.output<typeof PitrPlanSchema>>();
    same<ParamsOf<'job.cancel'>, { jobId: string }>();
    accepts(Methods['job.start'].params)<JobStartOf<'backup'>>();
    expect(true).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// Run time: the recorded fixture, samples, malformed answers.

const FIXTURES = path.join(import.meta.dirname, '../tui/fixtures');
const recordings = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.json'))
  .map((f) => [f, JSON.parse(readFileSync(path.join(FIXTURES, f), 'utf8')) as Recording] as const);

/** Parse, with the first issue in the failure message. */
function expectParses(schema: z.ZodType, value: unknown, what: string): void {
  const r = schema.safeParse(value);
  expect(r.success, r.success ? what : `${what}: ${formatPath(r.error.issues[0]!.path)}: ${r.error.issues[0]!.message}`).toBe(true);
}

describe('results: the recorded TUI fixtures parse', () => {
  test('there is a recording, and it has answers', () => {
    expect(recordings.length).toBeGreaterThan(0);
    for (const [, rec] of recordings) expect(rec.exchanges.length).toBeGreaterThan(10);
  });

  const rows = recordings.flatMap(([file, rec]) => rec.exchanges.map((ex, i) => [`${file}#${i} ${ex.method}`, ex] as const));
  test.each(rows)('%s', (what, ex) => {
    expect(Object.hasOwn(Methods, ex.method), `${ex.method} is a method`).toBe(true);
    const method = Methods[ex.method as MethodName];
    expectParses(method.params, ex.params, `${what} params`);
    if (ex.error) return;
    // the client sees `null` for a result the agent left out
    expectParses(method.result, ex.result ?? null, `${what} result`);
    const jobType = ex.method === 'job.start' ? (ex.params as { type: JobType }).type : undefined;
    if (jobType) expectParses(Jobs[jobType].params, (ex.params as { params?: unknown }).params ?? {}, `${what} job params`);
    for (const [n, ev] of (ex.events ?? []).entries()) {
      expect(Object.hasOwn(Notifications, ev.method), `${ev.method} is a notification`).toBe(true);
      expectParses(Notifications[ev.method as keyof typeof Notifications], ev.params, `${what} event ${n} ${ev.method}`);
      if (ev.method === 'job.done' && jobType) expectParses(doneEventSchema(Jobs[jobType].result), ev.params, `${what} event ${n}: ${jobType} result`);
    }
    // job records carry their type's result
    if (ex.method === 'jobs.list' || ex.method === 'job.attach') {
      const r = ex.result as { running?: JobRecord[]; recent?: JobRecord[] } & Partial<JobRecord>;
      const records = ex.method === 'job.attach' ? [r as JobRecord] : [...(r.running ?? []), ...(r.recent ?? [])];
      for (const rec of records) {
        if (rec.status === 'succeeded' && (JobTypes as readonly string[]).includes(rec.type)) expectParses(Jobs[rec.type as JobType].result, rec.result, `${what} record ${rec.id} result`);
      }
    }
  });

  test('the fixture covers the views’ methods and at least one job of each recorded type', () => {
    const seen = new Set(recordings.flatMap(([, rec]) => rec.exchanges.map((e) => e.method)));
    for (const m of ['agent.hello', 'cluster.overview', 'jobs.list', 'catalog.list', 'catalog.show', 'pitr.window', 'pitr.targets', 'restore.plan', 'retention.plan', 'job.start', 'pitr.plan', 'pitr.show']) expect(seen).toContain(m);
  });
});

// Answers the fixture did not record, made as the units make them.
const summary = {
  id: '20261121-115244L-401f',
  cluster: 'pg',
  kind: 'logical',
  tag: 'daily',
  startedAt: '2026-11-21T11:52:44.527Z',
  finishedAt: '2026-11-21T11:52:44.703Z',
  durationMs: 176,
  rawSize: 22473,
  storedSize: 10680,
  databases: ['sample'],
  host: 'vm',
  format: 'custom',
  scope: 'database',
  verification: { level: 'checksum', ok: true, at: '2026-11-21T11:52:48.733Z' },
} satisfies BackupSummary;
const finding = { name: 'archive_mode', ok: false, level: 'error', detail: 'archive_mode is off', fix: "ALTER SYSTEM SET archive_mode = 'on';", needs: 'restart' } satisfies ArchivingFinding;
const restorePlan = {
  backupId: summary.id,
  targetDatabase: 'sample',
  sourceDatabase: 'sample',
  targetExists: true,
  connectedSessions: 2,
  clean: true,
  tables: [],
  schemas: [],
  withGlobals: true,
  actions: [
    { kind: 'terminate-connections', description: 'terminate 2 sessions connected to sample' },
    { kind: 'drop-database', description: 'drop database sample' },
    { kind: 'restore', description: 'restore all of sample' },
  ],
  warnings: [],
} satisfies RestorePlan;
const runningJob = {
  id: '20261121120000-a1b2c3',
  type: 'backup',
  cluster: 'pg',
  params: { cluster: 'pg', kind: 'physical' },
  pid: 4242,
  startedAt: '2026-11-21T12:00:00.000Z',
  status: 'running',
  steps: [{ name: 'basebackup', startedAt: '2026-11-21T12:00:00.020Z' }],
  bytes: 1024,
  runner: { pid: 4242, procStart: '1158695', log: '/var/lib/lifeboat/jobs/20261121120000-a1b2c3.log' },
} satisfies DetachedRecord;
const crashedJob = {
  ...runningJob,
  id: '20261121110000-d4e5f6',
  status: 'crashed',
  finishedAt: '2026-11-21T11:30:00.000Z',
  error: { code: 'AGENT_FAILED', message: 'job 20261121110000-d4e5f6 ended without a result', hint: 'its log: ...', details: { job: '20261121110000-d4e5f6', runnerPid: 4242 } },
} satisfies DetachedRecord;
const gcResult = { dryRun: true, removed: [{ cluster: 'pg', key: 'pg/backup/20261121-115244L-401f/db-sample.dump.zst', size: 10680 }], tempDirs: [{ path: '/tmp/lifeboat-job-77-Ab12Cd', size: 4096 }], bytes: 14776 } satisfies GcResult;
const status = {
  cluster: 'pg',
  repository: 'main',
  ok: false,
  problem: 'WAL archiving fails: 000000010000000000000004 failed, newer than the last success',
  backups: 1,
  invalid: 0,
  byTag: { daily: 1 },
  latest: summary,
  ageHours: 0.5,
  maxBackupAgeHours: 26,
  storedBytes: 10680,
  repositoryBytes: 20000,
  lastVerification: { id: summary.id, level: 'checksum', ok: true, at: '2026-11-21T11:52:48.733Z' },
  wal: {
    archiveMode: 'on',
    archiver: { archivedCount: 4, failedCount: 1, lastArchivedWal: '000000010000000000000003', lastArchivedAt: '2026-11-21T11:52:47.258Z', lastFailedWal: '000000010000000000000004', lastFailedAt: '2026-11-21 11:53:00+00', failingNow: true },
    newestSegment: '000000010000000000000003',
    newestAt: '2026-11-21T11:52:47.244Z',
    recoverable: { from: '2026-11-21T11:52:46.311Z', to: '2026-11-21T11:52:47.244Z' },
  },
} satisfies ClusterStatus;

const methodSamples: { [M in MethodName]?: unknown[] } = {
  'agent.hello': [
    { agentVersion: '0.1.0', protocolVersion: 1, host: 'db1', pid: 42, node: 'v20.18.0', plugins: [], capabilities: [], config: { error: { code: 'CONFIG_NOT_FOUND', message: 'no lifeboat config found' } } },
  ],
  'config.init': [{ path: '/etc/lifeboat/config.json', created: true, cluster: 'main' }],
  'config.check': [{ path: '/etc/lifeboat/config.json', ok: false, clusters: [{ cluster: 'main', checks: [{ name: 'config', ok: true, detail: 'source postgres, repository main' }, { name: 'connection', ok: false, detail: 'connection refused' }, { name: 'state', ok: true }] }] }],
  'catalog.status': [[status], []],
  'pitr.restorePoint': [{ cluster: 'pg', name: 'before-cleanup', lsn: '0/3007D98' }],
  'check.cluster': [{ cluster: 'pg', ok: false, findings: [{ name: 'repository', ok: true, level: 'ok', detail: 'local:/r is a lifeboat repository (lifeboat.json)' }, finding, { name: 'end-to-end probe', ok: false, level: 'warn', detail: 'skipped' }] }],
  'check.fixes': [{ cluster: 'pg', statements: [finding.fix], restart: true, restartSettings: ['archive_mode'], blockers: [], findings: [{ ...finding, replacesForeign: true, pending: 'on' }] }],
  'check.apply': [{ applied: [finding.fix], restart: true, pendingRestart: ['archive_mode'] }],
  'repo.init': [{ repository: 'main', where: 'local:/var/backups/lifeboat' }],
  'wal.verify': [
    {
      cluster: 'pg',
      ok: false,
      segments: 3,
      timelines: [1, 2],
      backups: [
        { id: '20261121-115245P-666d', ok: true, from: '000000010000000000000002', to: '000000020000000000000003', segments: 2, timeline: 2 },
        { id: '20261120-115245P-0001', ok: false, from: '000000010000000000000001', gap: '000000010000000000000002' },
      ],
      contents: { objects: 4, bytes: 50331648, damaged: [{ name: '000000010000000000000003', key: 'pg/wal/...', problem: 'cannot be read back' }] },
    },
  ],
  'backup.pin': [{ cluster: 'pg', id: summary.id, pinned: true }],
  'restore.plan': [{ backup: summary, plan: restorePlan, safetyBackup: true, targetCluster: 'other' }],
  'job.attach': [runningJob, crashedJob],
  'job.cancel': [{ cancelled: true }],
  'jobs.list': [{ running: [runningJob], recent: [crashedJob, runningJob] }, { running: [], recent: [] }],
  'pitr.window': [{ cluster: 'pg', now: '2026-11-21T12:00:00.000Z', spans: [{ from: '2026-11-21T11:52:46.311Z', to: '2026-11-21T11:55:00.000Z', fromLsn: '0/2000100', lastSegment: '000000010000000000000005', timeline: 1, backups: ['a', 'b'], gap: { segment: '000000010000000000000006', at: '2026-11-21T11:55:00.000Z' } }], gaps: 1 }],
};
const jobSamples: { [J in JobType]?: unknown[] } = {
  restore: [{ checks: [{ name: 'rows public.orders', ok: true, detail: '500 rows' }], compared: 1, mismatches: 0, plan: restorePlan, safetyBackupId: '20261121-120000L-abcd' }],
  gc: [gcResult],
  reindex: [{ backups: 2, invalid: 0 }],
};

describe('results: samples of what the fixture did not record', () => {
  const rows = [
    ...Object.entries(methodSamples).flatMap(([m, samples]) => samples.map((s, i) => [`${m} #${i}`, Methods[m as MethodName].result, s] as const)),
    ...Object.entries(jobSamples).flatMap(([j, samples]) => samples.map((s, i) => [`job ${j} #${i}`, Jobs[j as JobType].result, s] as const)),
  ];
  test.each(rows)('%s', (what, schema, sample) => expectParses(schema, sample, what));

  test('a failed and a cancelled job.done, a job.log and a job.progress with every field', () => {
    expectParses(DoneEventSchema, { jobId: 'j', ok: false, error: crashedJob.error, event: 7 }, 'crashed');
    expectParses(DoneEventSchema, { jobId: 'j', ok: false, error: { code: 'CANCELLED', message: 'backup of main was cancelled; nothing was kept' } }, 'cancelled');
    expectParses(LogEventSchema, { jobId: 'j', level: 'warn', message: 'no safety backup', time: '2026-11-21T08:45:01.204Z', event: 3 }, 'log');
    expectParses(ProgressEventSchema, { jobId: 'j', bytes: 52428800, rate: 48234496, elapsedMs: 1450, phase: 'write db-app.dump', totalBytes: 734003200, etaSeconds: 14.1 }, 'progress');
  });

  test('unknown fields are dropped, an unknown error code reads as INTERNAL', () => {
    const r = Methods['catalog.list'].result.parse({ backups: [{ ...summary, encrypted: true }], invalid: [], next: 'x' });
    expect(r.backups[0]).toEqual(summary);
    expect(r).not.toHaveProperty('next');
    expect(SerializedErrorSchema.parse({ code: 'NEW_IN_V2', message: 'm' }).code).toBe('INTERNAL');
    expect(SerializedErrorSchema.parse({ code: 'LOCKED', message: 'm' }).code).toBe('LOCKED');
  });
});

describe('results: malformed answers are refused', () => {
  const rec = recordings[0]![1];
  const answer = (method: MethodName) => structuredClone(rec.exchanges.find((e) => e.method === method)!.result) as Record<string, unknown>;
  const list = () => answer('catalog.list') as { backups: Record<string, unknown>[] };
  const cases: [string, z.ZodType, () => unknown][] = [
    ['a backup of an unknown kind', Methods['catalog.list'].result, () => { const l = list(); l.backups[0]!.kind = 'incremental'; return l; }],
    ['a backup without its host', Methods['catalog.list'].result, () => { const l = list(); delete l.backups[0]!.host; return l; }],
    ['a size as a string', Methods['catalog.list'].result, () => { const l = list(); l.backups[0]!.rawSize = '22473'; return l; }],
    ['a start time that is not ISO', Methods['catalog.list'].result, () => { const l = list(); l.backups[0]!.startedAt = 'yesterday'; return l; }],
    ['no invalid list', Methods['catalog.list'].result, () => { const l = list() as Record<string, unknown>; delete l.invalid; return l; }],
    ['a manifest object with a bad sha256', Methods['catalog.show'].result, () => { const s = answer('catalog.show') as { manifest: { objects: { sha256: string }[] } }; s.manifest.objects[0]!.sha256 = 'zz'; return s; }],
    ['a job of an unknown status', Methods['jobs.list'].result, () => ({ running: [], recent: [{ ...runningJob, status: 'paused' }] })],
    ['a job record without steps', Methods['job.attach'].result, () => { const j: Record<string, unknown> = { ...runningJob }; delete j.steps; return j; }],
    ['a plan with an unknown target', Methods['pitr.plan'].result, () => ({ ...answer('pitr.plan'), target: { kind: 'bogus' } })],
    ['a plan whose time target has no time', Methods['pitr.plan'].result, () => ({ ...answer('pitr.plan'), target: { kind: 'time' } })],
    ['a plan step of an unknown status', Methods['pitr.show'].result, () => { const p = answer('pitr.show') as { steps: { status: string }[] }; p.steps[0]!.status = 'skipped'; return p; }],
    ['an overview with a server error without a message', Methods['cluster.overview'].result, () => [{ ...(answer('cluster.overview') as unknown as Record<string, unknown>[])[0], serverError: { code: 'CONNECTION_FAILED' } }]],
    ['a hello with a pid as a string', Methods['agent.hello'].result, () => ({ ...answer('agent.hello'), pid: '42' })],
    ['a cancel that says false', Methods['job.cancel'].result, () => ({ cancelled: false })],
    ['a candidate of an unknown kind', Methods['pitr.targets'].result, () => { const t = answer('pitr.targets') as { candidates: { kind: string }[] }; t.candidates[0]!.kind = 'vacuum'; return t; }],
    ['a restore action of an unknown kind', Methods['restore.plan'].result, () => { const p = answer('restore.plan') as { plan: { actions: { kind: string }[] } }; p.plan.actions[0]!.kind = 'format-disk'; return p; }],
    ['a retention policy that is a number', Methods['retention.plan'].result, () => ({ ...answer('retention.plan'), policy: 3 })],
    ['null for a method that answers', Methods['catalog.list'].result, () => null],
    ['a failed job.done without its error', DoneEventSchema, () => ({ jobId: 'j', ok: false })],
    ['a job.log of an unknown level', LogEventSchema, () => ({ jobId: 'j', level: 'trace', message: 'm', time: '2026-11-21T08:45:01.204Z' })],
    ['a job.progress without bytes', ProgressEventSchema, () => ({ jobId: 'j', rate: 0, elapsedMs: 1 })],
    ['a backup result without its object count', Jobs.backup.result, () => ({ ...summary })],
    ['a verify result of an unknown level', Jobs.verify.result, () => ({ backupId: 'x', level: 'deep', ok: true, startedAt: '2026-11-21T11:52:48.722Z', finishedAt: '2026-11-21T11:52:48.733Z', host: 'vm', checks: [] })],
    ['a gc result with a negative size', Jobs.gc.result, () => ({ ...gcResult, bytes: -1 })],
  ];
  test.each(cases)('%s', (_what, schema, make) => {
    expect(schema.safeParse(make()).success).toBe(false);
  });
});

test('src/protocol imports only zod, Node built-ins, itself and src/core', () => {
  const root = path.join(import.meta.dirname, '../../src/protocol');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f));
  expect(files).toContain('methods.ts');
  const allowed = [root, path.join(import.meta.dirname, '../../src/core')];
  for (const f of files) {
    const text = readFileSync(path.join(root, f), 'utf8');
    for (const m of text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec === 'zod' || spec.startsWith('node:')) continue;
      expect(spec.startsWith('.'), `${f} imports ${spec}`).toBe(true);
      const target = path.resolve(root, path.dirname(f), spec);
      expect(allowed.some((dir) => target.startsWith(dir + path.sep)), `${f} imports ${spec}`).toBe(true);
    }
  }
});
