import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { z } from 'zod';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';
import { LIFEBOAT_VERSION } from '../core/version.js';
import { Methods, onLines, writeMessage, PROTOCOL_VERSION, RequestSchema, RpcErrorCode, type HelloResult, type MethodName } from '../protocol/index.js';
import { parseParams } from '../protocol/validate.js';
import { AgentEnv } from '../runtime/env.js';
import { PluginRegistry } from '../runtime/plugins.js';
import type { JobRecord } from '../runtime/state.js';
import { jobWork } from './job-table.js';
import { cancelRunner, currentRecord, Follower, jobsDirOf, listRecords, startRunner, type Send } from './runner.js';
import { listBackups, showBackup } from './units/catalog.js';
import { planRestore } from './units/restore.js';
import { initRepository } from './units/repo.js';
import { checkConfig, initConfig } from './units/config.js';
import { applyArchivingFixes, archivingFixes, checkCluster } from './units/check.js';
import { listPlans, planPitr, recoverableWindow, restorePoint, showPlan, walVerify } from './units/pitr.js';
import { clusterOverview, statusWithWal } from './units/overview.js';
import { planRetention, setPinned } from './units/retention.js';
import { pitrTargets } from './units/pitr-targets.js';

/**
 * One method's implementation: its params already parsed with the protocol's
 * schema (src/protocol/methods.ts), its result what the schema accepts. The
 * compiler checks both against the table, so a unit whose result drifts from
 * the protocol does not build.
 */
type Impl<M extends MethodName> = (env: AgentEnv, params: z.output<(typeof Methods)[M]['params']>) => Promise<z.input<(typeof Methods)[M]['result']>>;

/** This connection's view of the detached jobs: which ones it follows. */
export interface JobSession {
  send: Send;
  followers: Set<Follower>;
}

async function hello(env: AgentEnv, p: { protocolVersion: number }): Promise<HelloResult> {
  if (p.protocolVersion !== PROTOCOL_VERSION) {
    throw new LifeboatError('PROTOCOL', `agent speaks protocol ${PROTOCOL_VERSION} (lifeboat ${LIFEBOAT_VERSION}), client speaks ${p.protocolVersion}`, {
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
  return {
    agentVersion: LIFEBOAT_VERSION,
    protocolVersion: PROTOCOL_VERSION,
    host: os.hostname(),
    pid: process.pid,
    node: process.version,
    plugins: registry.list().map((pl) => ({
      name: pl.meta.name,
      version: pl.meta.version,
      kinds: [pl.source ? 'source' : '', pl.storage ? 'storage' : ''].filter(Boolean),
      apiVersion: pl.apiVersion,
      from: registry.origin(pl.meta.name) ?? 'built-in',
      ...(pl.meta.description ? { description: pl.meta.description } : {}),
    })),
    capabilities: ['logical-backup', 'physical-backup', 'wal-archive', 'pitr', 'verify', 'restore', 'gc', 'jobs.cancel', 'jobs.detached', 'jobs.attach'],
    config,
  };
}

async function jobsList(env: AgentEnv): Promise<{ running: JobRecord[]; recent: JobRecord[] }> {
  const state = await env.state().catch(() => undefined);
  if (!state) return { running: [], recent: [] };
  const detached = listRecords(jobsDirOf(state.dir));
  const byId = new Map<string, JobRecord>();
  for (const j of (await state.read()).jobs) byId.set(j.id, j);
  for (const j of detached) byId.set(j.id, j); // the runner's own record is the fresher one
  const all = [...byId.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  return { running: all.filter((j) => j.status === 'running'), recent: all.slice(-50) };
}

/**
 * The agent's method table: one implementation per method of the protocol's
 * table (a missing or extra method does not compile). Units of work live in
 * ./units; this only wires them. Each call gets its own runtime (`env`).
 */
export function handlers(session: JobSession): { [M in MethodName]: Impl<M> } {
  const follow = async (env: AgentEnv, jobId: string, opts: { fromEvent?: number; tail?: number }) => {
    const f = new Follower(jobsDirOf(await env.stateDir()), jobId, session.send, opts);
    session.followers.add(f);
    void f.done.then(() => session.followers.delete(f));
    f.start();
  };
  return {
    'agent.hello': hello,
    'config.init': initConfig,
    'config.check': checkConfig,
    'catalog.list': listBackups,
    'catalog.show': (env, q) => showBackup(env, q.id, q.cluster),
    'catalog.status': statusWithWal,
    'pitr.plan': planPitr,
    'pitr.restorePoint': restorePoint,
    'check.cluster': checkCluster,
    'check.fixes': archivingFixes,
    'check.apply': applyArchivingFixes,
    'repo.init': initRepository,
    'wal.verify': walVerify,
    'pitr.window': recoverableWindow,
    'cluster.overview': clusterOverview,
    'pitr.targets': pitrTargets,
    'pitr.plans': listPlans,
    'pitr.show': (env, q) => showPlan(env, q.plan),
    'retention.plan': planRetention,
    'backup.pin': setPinned,
    'restore.plan': (env, q) => planRestore(env, q),
    'job.start': async (env, q) => {
      const loaded = await env.config(); // a config error fails the call, not the job
      const { cluster, check } = jobWork(env)[q.type](q.params); // so do bad params,
      await check?.(); // an unknown cluster, backup or plan, and options that do not go together
      const rec = await startRunner(await env.stateDir(), loaded.path, { type: q.type, params: q.params, ...(cluster ? { cluster } : {}) });
      await follow(env, rec.id, { fromEvent: 0 }); // the starting connection sees every event
      return { jobId: rec.id };
    },
    'job.attach': async (env, q) => {
      const rec = currentRecord(jobsDirOf(await env.stateDir()), q.jobId);
      if (!rec) throw new LifeboatError('NOT_FOUND', `no job ${q.jobId} on this host`, { hint: 'see the jobs with: lifeboat jobs list' });
      await follow(env, q.jobId, { ...(q.fromEvent !== undefined ? { fromEvent: q.fromEvent } : {}), ...(q.tail !== undefined ? { tail: q.tail } : {}) });
      return rec;
    },
    'job.cancel': async (env, q) => {
      cancelRunner(await env.stateDir(), q.jobId);
      return { cancelled: true };
    },
    'jobs.list': jobsList,
  };
}

/**
 * Run one call: params parsed with the method's schema (a USAGE error names the
 * field), the unit run with the call's runtime, and its result checked against
 * the method's result schema before it is sent, so the agent never answers
 * what a client would refuse (that is an INTERNAL error here, with the field).
 */
export async function callMethod<M extends MethodName>(table: { [K in MethodName]: Impl<K> }, env: AgentEnv, method: M, params: unknown): Promise<unknown> {
  const spec = Methods[method];
  const parsed = parseParams(spec.params, params, method) as z.output<(typeof Methods)[M]['params']>;
  const result = await table[method](env, parsed);
  const checked = (spec.result as z.ZodType).safeParse(result ?? null);
  if (!checked.success) {
    const i = checked.error.issues[0]!;
    throw new LifeboatError('INTERNAL', `${method}: the agent made a result the protocol does not allow (${formatPath(i.path)}: ${i.message})`, { hint: 'a bug in this lifeboat version: please report it with LIFEBOAT_DEBUG=1 output' });
  }
  return result ?? null;
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
  const table = handlers(session);
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
    if (!Object.hasOwn(Methods, method)) {
      send({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.METHOD_NOT_FOUND, message: `unknown method ${method}` } });
      return;
    }
    // A handler may throw synchronously (parameter parsing does): run it inside
    // the promise chain so every failure becomes an error response, never a crash.
    const p = Promise.resolve()
      // each call gets a runtime that reads the config once (AgentEnv.forCall)
      .then(() => callMethod(table, env.forCall(), method as MethodName, params ?? {}))
      .then(
      (result) => send({ jsonrpc: '2.0', id, result }),
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
