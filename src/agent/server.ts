import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { onLines, writeMessage, PROTOCOL_VERSION, RequestSchema, RpcErrorCode, type HelloResult, JobTypes } from '../protocol/index.js';
import { LIFEBOAT_VERSION } from '../core/version.js';
import { AgentEnv } from '../runtime/env.js';
import { parseParams } from '../protocol/validate.js';
import { jobWork } from './job-table.js';
import { cancelRunner, currentRecord, Follower, jobsDirOf, listRecords, startRunner, type Send } from './runner.js';
import type { JobRecord } from '../runtime/state.js';
import { PluginRegistry } from '../runtime/plugins.js';
import { listBackups, showBackup } from './units/catalog.js';
import { planRestore, RestoreParamsSchema } from './units/restore.js';
import { initRepository } from './units/repo.js';
import { checkConfig, initConfig, InitParamsSchema } from './units/config.js';
import { applyArchivingFixes, archivingFixes, checkCluster } from './units/check.js';
import { listPlans, PitrPlanParamsSchema, planPitr, recoverableWindow, restorePoint, showPlan, walVerify } from './units/pitr.js';
import { clusterOverview, statusWithWal } from './units/overview.js';
import { PinParamsSchema, planRetention, RetentionParamsSchema, setPinned } from './units/retention.js';
import { pitrTargets, PitrTargetsParamsSchema } from './units/pitr-targets.js';

type Handler = (params: Record<string, unknown>) => Promise<unknown>;

const ClusterOnly = z.object({ cluster: z.string().optional() }).strict();
const JobStart = z.object({ type: z.enum(JobTypes), params: z.record(z.string(), z.unknown()).default({}) }).strict();

/** This connection's view of the detached jobs: which ones it follows. */
export interface JobSession {
  send: Send;
  followers: Set<Follower>;
}

/** The agent's method table. Units of work live in ./units; this file only wires them. */
export function handlers(env: AgentEnv, session: JobSession): Record<string, Handler> {
  const work = jobWork(env);
  const follow = async (jobId: string, opts: { fromEvent?: number; tail?: number }) => {
    const f = new Follower(jobsDirOf(await env.stateDir()), jobId, session.send, opts);
    session.followers.add(f);
    void f.done.then(() => session.followers.delete(f));
    f.start();
  };
  return {
    'agent.hello': async (p) => {
      const { protocolVersion } = parseParams(z.object({ protocolVersion: z.number(), clientVersion: z.string().optional() }), p, 'agent.hello');
      if (protocolVersion !== PROTOCOL_VERSION) {
        throw new LifeboatError('PROTOCOL', `agent speaks protocol ${PROTOCOL_VERSION} (lifeboat ${LIFEBOAT_VERSION}), client speaks ${protocolVersion}`, {
          hint: 'install the same lifeboat version on both sides',
        });
      }
      let registry: PluginRegistry;
      let config: HelloResult['config'];
      try {
        const loaded = await env.config();
        registry = await env.plugins();
        config = { path: loaded.path };
      } catch (err) {
        registry = new PluginRegistry();
        await registry.loadBuiltins();
        config = { error: toLifeboatError(err).toJSON() };
      }
      const result: HelloResult = {
        agentVersion: LIFEBOAT_VERSION,
        protocolVersion: PROTOCOL_VERSION,
        host: os.hostname(),
        pid: process.pid,
        node: process.version,
        plugins: registry.list().map((pl) => ({ name: pl.meta.name, version: pl.meta.version, kinds: [pl.source ? 'source' : '', pl.storage ? 'storage' : ''].filter(Boolean) })),
        capabilities: ['logical-backup', 'physical-backup', 'wal-archive', 'pitr', 'verify', 'restore', 'gc', 'jobs.cancel', 'jobs.detached', 'jobs.attach'],
        config,
      };
      return result;
    },
    'config.init': (p) => initConfig(env, parseParams(InitParamsSchema, p, 'config.init')),
    'config.check': (p) => checkConfig(env, parseParams(ClusterOnly, p, 'config.check')),
    'catalog.list': (p) => listBackups(env, parseParams(ClusterOnly, p, 'catalog.list')),
    'catalog.show': (p) => {
      const q = parseParams(z.object({ id: z.string().min(1), cluster: z.string().optional() }).strict(), p, 'catalog.show');
      return showBackup(env, q.id, q.cluster);
    },
    'catalog.status': (p) => statusWithWal(env, parseParams(ClusterOnly, p, 'catalog.status')),
    'pitr.plan': (p) => planPitr(env, parseParams(PitrPlanParamsSchema, p, 'pitr.plan')),
    'pitr.restorePoint': (p) => restorePoint(env, parseParams(z.object({ cluster: z.string().optional(), name: z.string().min(1) }).strict(), p, 'pitr.restorePoint')),
    'check.cluster': (p) => checkCluster(env, parseParams(z.object({ cluster: z.string().optional(), probeSeconds: z.number().positive().max(3600).optional() }).strict(), p, 'check.cluster')),
    'check.fixes': (p) => archivingFixes(env, parseParams(ClusterOnly, p, 'check.fixes')),
    'check.apply': (p) => applyArchivingFixes(env, parseParams(z.object({ cluster: z.string().optional(), statements: z.array(z.string()).min(1) }).strict(), p, 'check.apply')),
    'repo.init': (p) => initRepository(env, parseParams(ClusterOnly, p, 'repo.init')),
    'wal.verify': (p) => walVerify(env, parseParams(ClusterOnly, p, 'wal.verify')),
    'pitr.window': (p) => recoverableWindow(env, parseParams(ClusterOnly, p, 'pitr.window')),
    'cluster.overview': (p) => clusterOverview(env, parseParams(ClusterOnly, p, 'cluster.overview')),
    'pitr.targets': (p) => pitrTargets(env, parseParams(PitrTargetsParamsSchema, p, 'pitr.targets')),
    'pitr.plans': (p) => listPlans(env, parseParams(z.object({ cluster: z.string().optional(), unfinished: z.boolean().optional() }).strict(), p, 'pitr.plans')),
    'pitr.show': (p) => showPlan(env, parseParams(z.object({ plan: z.string().min(1) }).strict(), p, 'pitr.show').plan),
    'retention.plan': (p) => planRetention(env, parseParams(RetentionParamsSchema, p, 'retention.plan')),
    'backup.pin': (p) => setPinned(env, parseParams(PinParamsSchema, p, 'backup.pin')),
    'restore.plan': (p) => planRestore(env, parseParams(RestoreParamsSchema, p, 'restore.plan')),
    'job.start': async (p) => {
      const q = parseParams(JobStart, p, 'job.start');
      const loaded = await env.config(); // a config error fails the call, not the job
      const { cluster, check } = work[q.type](q.params); // so do bad params,
      await check?.(); // an unknown cluster, backup or plan, and options that do not go together
      const rec = await startRunner(await env.stateDir(), loaded.path, { type: q.type, params: q.params, ...(cluster ? { cluster } : {}) });
      await follow(rec.id, { fromEvent: 0 }); // the starting connection sees every event
      return { jobId: rec.id };
    },
    'job.attach': async (p) => {
      const q = parseParams(z.object({ jobId: z.string(), fromEvent: z.number().int().min(0).optional(), tail: z.number().int().min(0).optional() }).strict(), p, 'job.attach');
      const rec = currentRecord(jobsDirOf(await env.stateDir()), q.jobId);
      if (!rec) throw new LifeboatError('NOT_FOUND', `no job ${q.jobId} on this host`, { hint: 'see the jobs with: lifeboat jobs list' });
      await follow(q.jobId, { ...(q.fromEvent !== undefined ? { fromEvent: q.fromEvent } : {}), ...(q.tail !== undefined ? { tail: q.tail } : {}) });
      return rec;
    },
    'job.cancel': async (p) => {
      const { jobId } = parseParams(z.object({ jobId: z.string() }).strict(), p, 'job.cancel');
      cancelRunner(await env.stateDir(), jobId);
      return { cancelled: true };
    },
    'jobs.list': async () => {
      const state = await env.state().catch(() => undefined);
      if (!state) return { running: [], recent: [] };
      const detached = listRecords(jobsDirOf(state.dir));
      const byId = new Map<string, JobRecord>();
      for (const j of (await state.read()).jobs) byId.set(j.id, j);
      for (const j of detached) byId.set(j.id, j); // the runner's own record is the fresher one
      const all = [...byId.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
      return { running: all.filter((j) => j.status === 'running'), recent: all.slice(-50) };
    },
  };
}

/**
 * `lifeboat agent --stdio`: JSON-RPC 2.0, one JSON object a line. stdout carries
 * only protocol messages; logs go to stderr. Jobs run in detached runners
 * (./runner.ts): when stdin closes the agent stops following them and exits,
 * and the jobs go on; `job.attach` from a new connection picks them up.
 */
export async function runAgent(opts: { configPath?: string; input: Readable; output: Writable }): Promise<void> {
  const env = new AgentEnv(opts.configPath);
  let clientGone = false;
  // the client went away (EPIPE): stop writing; the jobs go on in their runners
  opts.output.on('error', () => {
    clientGone = true;
  });
  const send = (msg: unknown) => {
    if (!clientGone) writeMessage(opts.output, msg);
  };
  const session: JobSession = { send: (method, params) => send({ jsonrpc: '2.0', method, params }), followers: new Set() };
  const table = handlers(env, session);
  const inflight = new Set<Promise<void>>();
  onLines(opts.input, (line) => {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      send({ jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.PARSE, message: 'parse error: not JSON' } });
      return;
    }
    const req = RequestSchema.safeParse(msg);
    if (!req.success) {
      const id = (msg as { id?: unknown })?.id;
      send({ jsonrpc: '2.0', id: typeof id === 'number' || typeof id === 'string' ? id : null, error: { code: RpcErrorCode.INVALID_REQUEST, message: 'invalid request' } });
      return;
    }
    const { id, method, params } = req.data;
    // Own properties only: `constructor`, `__proto__` and friends are not methods.
    // each call gets a runtime that reads the config once (AgentEnv.forCall)
    const handler = Object.hasOwn(table, method) ? handlers(env.forCall(), session)[method] : undefined;
    if (!handler) {
      send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.METHOD_NOT_FOUND, message: `unknown method ${method}` } });
      return;
    }
    // A handler may throw synchronously (parameter parsing does): run it inside
    // the promise chain so every failure becomes an error response, never a crash.
    const p = Promise.resolve()
      .then(() => handler(params ?? {}))
      .then(
      (result) => send({ jsonrpc: '2.0', id, result: result ?? null }),
      (err: unknown) => {
        const e = toLifeboatError(err);
        send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.LIFEBOAT, message: e.message, data: e.toJSON() } });
      },
    );
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  });
  await new Promise<void>((resolve) => {
    opts.input.on('end', resolve);
    opts.input.on('close', resolve);
  });
  for (const f of session.followers) f.stop();
  await Promise.all(inflight);
  for (const f of session.followers) f.stop(); // followers a last call may have started
}
