import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { pidAlive, processStart } from '../core/proc.js';
import { Events, type DoneEvent, type JobType, type LogEvent } from '../protocol/index.js';
import { AgentEnv } from '../runtime/env.js';
import { JobRunner } from '../runtime/jobs.js';
import { jobWork } from './job-table.js';
import type { JobHandle } from '../runtime/context.js';
import type { JobRecord } from '../runtime/state.js';

/**
 * Detached jobs (docs/protocol.md, "Jobs"). A job runs in its own process, the
 * runner (`lifeboat agent --run-job SPEC`), started by the agent in a new session
 * so it outlives the agent and the SSH channel that started it. The runner is the
 * only writer of its files in `<stateDir>/jobs/`:
 *
 *   ID.spec.json       what to run (written by the agent before the spawn)
 *   ID.json            the JobRecord plus the runner's pid and start time
 *   ID.events.jsonl    job.log and job.done events, append-only, bounded
 *   ID.progress.json   the latest job.progress only (replaced, never appended)
 *   ID.log             the runner's own stdout/stderr (crash traces)
 *
 * Agents read these files to attach, list and cancel. The one exception to the
 * single writer: when a runner is verifiably gone without a result, an agent
 * marks the job crashed (the runner can no longer write, so nothing races).
 */

/** Log events kept per job beyond which only warnings and errors are kept. */
const MAX_LOG_EVENTS = 2000;
const MAX_MESSAGE = 4000;
/** Finished jobs whose files are kept (the job log in state.json keeps more). */
const KEEP_FINISHED = 100;

export interface JobSpec {
  id: string;
  type: JobType;
  params: Record<string, unknown>;
  cluster?: string;
}

/** A job record as the jobs dir holds it: who runs it, and where its log is. */
export interface DetachedRecord extends JobRecord {
  runner?: { pid: number; procStart?: string; log: string };
}

export const jobsDirOf = (stateDir: string) => path.join(stateDir, 'jobs');

export function jobFiles(dir: string, id: string) {
  return {
    spec: path.join(dir, `${id}.spec.json`),
    record: path.join(dir, `${id}.json`),
    events: path.join(dir, `${id}.events.jsonl`),
    progress: path.join(dir, `${id}.progress.json`),
    log: path.join(dir, `${id}.log`),
  };
}

const ID_RE = /^\d{14}-[0-9a-f]{6}$/;

export function newJobId(): string {
  return `${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(3).toString('hex')}`;
}

function checkId(id: string): void {
  if (!ID_RE.test(id)) throw new LifeboatError('USAGE', `not a job id: ${JSON.stringify(id)}`, { hint: 'job ids look like 20261121084501-a1b2c3; see lifeboat jobs list' });
}

/** Is this record's runner still the live process it recorded (guards against pid reuse)? */
export function runnerAlive(rec: DetachedRecord): boolean {
  const r = rec.runner;
  if (!r || !pidAlive(r.pid)) return false;
  if (!r.procStart) return true; // no /proc here: a live pid is the best we know
  return processStart(r.pid) === r.procStart;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readRecord(dir: string, id: string): DetachedRecord | undefined {
  return readJson<DetachedRecord>(jobFiles(dir, id).record);
}

/** Events file lines: `{n, method, params}` with n counting from 0. */
interface StoredEvent {
  n: number;
  method: string;
  params: Record<string, unknown>;
}

function countLines(file: string): number {
  try {
    const text = readFileSync(file, 'utf8');
    return text.split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
}

/**
 * The record with its live status: a `running` job whose runner is gone is
 * marked `crashed` (record and a done event), once, by whoever notices first.
 */
export function currentRecord(dir: string, id: string): DetachedRecord | undefined {
  checkId(id);
  const rec = readRecord(dir, id);
  if (!rec || rec.status !== 'running' || runnerAlive(rec)) return rec;
  // the runner writes its final record before it exits: read again after seeing it gone
  const again = readRecord(dir, id);
  if (!again || again.status !== 'running') return again;
  const files = jobFiles(dir, id);
  const error = new LifeboatError('AGENT_FAILED', `job ${id} ended without a result: its runner (pid ${again.runner?.pid}) was killed or crashed`, {
    hint: `its log: ${files.log}; nothing it wrote is listed, and "lifeboat repo gc" removes what it left`,
    details: { job: id, ...(again.runner ? { runnerPid: again.runner.pid } : {}) },
  }).toJSON();
  const crashed: DetachedRecord = { ...again, status: 'crashed', finishedAt: new Date().toISOString(), error };
  writeAtomic(files.record, JSON.stringify(crashed));
  if (!readFileSync(files.events, { encoding: 'utf8', flag: 'a+' }).includes('"method":"job.done"')) {
    const done: DoneEvent = { jobId: id, ok: false, error };
    appendFileSync(files.events, JSON.stringify({ n: countLines(files.events), method: Events.done, params: done }) + '\n');
  }
  return crashed;
}

/** Every job whose files are in the jobs dir, with live status, oldest first. */
export function listRecords(dir: string): DetachedRecord[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: DetachedRecord[] = [];
  for (const n of names) {
    const m = /^(\d{14}-[0-9a-f]{6})\.json$/.exec(n);
    if (!m) continue;
    const rec = currentRecord(dir, m[1]!);
    if (rec) out.push(rec);
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** Keep the files of the newest finished jobs only (the job log in state.json keeps the history). */
/** A runner records itself at once (startRunner waits for it): files without a record this old belong to none. */
const ORPHAN_AFTER_MS = 10 * 60_000;

export function prune(dir: string, now = Date.now()): void {
  // files of a runner killed before it wrote its record (a spec, a log): no job lists them, nothing else removes them
  for (const n of readdirSync(dir)) {
    const m = /^(\d{14}-[0-9a-f]{6})\.(spec\.json|log|events\.jsonl|progress\.json)$/.exec(n);
    if (!m || existsSync(jobFiles(dir, m[1]!).record)) continue;
    try {
      if (now - statSync(path.join(dir, n)).mtimeMs > ORPHAN_AFTER_MS) unlinkSync(path.join(dir, n));
    } catch {
      /* gone */
    }
  }
  const finished = listRecords(dir).filter((r) => r.status !== 'running');
  for (const r of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
    for (const f of Object.values(jobFiles(dir, r.id))) {
      try {
        unlinkSync(f);
      } catch {
        /* gone */
      }
    }
  }
}

/** How to start a runner: this same program (argv[1] is bin/lifeboat.js or a deployed bundle). */
function runnerCommand(specFile: string, configPath: string): [string, string[]] {
  return [process.execPath, [...process.execArgv, process.argv[1]!, 'agent', '--run-job', specFile, '--config', configPath]];
}

/**
 * Agent side of `job.start`: write the spec, start the runner in its own session
 * (stdio to its log file), and wait until it has recorded itself, so a runner
 * that cannot start is this call's error, not a silent job.
 */
export async function startRunner(stateDir: string, configPath: string, spec: Omit<JobSpec, 'id'>): Promise<DetachedRecord> {
  const dir = jobsDirOf(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    prune(dir);
  } catch {
    /* housekeeping only */
  }
  const id = newJobId();
  const files = jobFiles(dir, id);
  writeFileSync(files.spec, JSON.stringify({ id, ...spec }), { mode: 0o600 });
  const fd = openSync(files.log, 'a', 0o600);
  const [cmd, args] = runnerCommand(files.spec, configPath);
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  closeSync(fd);
  child.unref();
  let exited: string | undefined;
  child.on('error', (err) => (exited = String(err)));
  child.on('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `exit code ${code}`));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const rec = readRecord(dir, id);
    if (rec) return rec;
    if (exited !== undefined || Date.now() > deadline) {
      const tail = (() => {
        try {
          return readFileSync(files.log, 'utf8').trim().split('\n').slice(-1)[0] ?? '';
        } catch {
          return '';
        }
      })();
      throw new LifeboatError('AGENT_FAILED', `the job runner did not start (${exited ?? 'no record after 30 s'})${tail ? `: ${tail}` : ''}`, { hint: `its log: ${files.log}` });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Send SIGTERM to a job's runner (verified to be that job's process); the job ends as cancelled. */
export function cancelRunner(stateDir: string, id: string): DetachedRecord {
  checkId(id);
  const dir = jobsDirOf(stateDir);
  const rec = currentRecord(dir, id);
  if (!rec) throw new LifeboatError('NOT_FOUND', `no job ${id} on this host`, { hint: 'see the jobs with: lifeboat jobs list' });
  if (rec.status !== 'running') throw new LifeboatError('NOT_FOUND', `job ${id} is not running: it ${rec.status === 'crashed' ? 'crashed' : rec.status}`);
  process.kill(rec.runner!.pid, 'SIGTERM');
  return rec;
}

export type Send = (method: string, params: Record<string, unknown>) => void;

/**
 * Follows one job's files and sends its events as notifications: first a replay
 * (from event `fromEvent`, or the last `tail` log events, and always the latest
 * progress and the done event), then new events as they are written, until done.
 * Polls every 200 ms; reads only what was appended, so memory stays flat.
 */
export class Follower {
  private offset = 0;
  private partial = '';
  private index = 0;
  private progressMtime = 0;
  private timer?: NodeJS.Timeout;
  private finished = false;
  private lastAliveCheck = 0;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(
    private readonly dir: string,
    private readonly id: string,
    private readonly send: Send,
    private readonly opts: { fromEvent?: number; tail?: number } = {},
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
  }

  start(): void {
    const files = jobFiles(this.dir, this.id);
    // replay: decide where to start from the events already written
    let from = this.opts.fromEvent ?? 0;
    if (this.opts.fromEvent === undefined) {
      const n = countLines(files.events);
      from = Math.max(0, n - (this.opts.tail ?? 20));
    }
    this.from = from;
    this.poll();
  }

  private from = 0;

  stop(): void {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.resolveDone();
  }

  private poll(): void {
    if (this.finished) return;
    const files = jobFiles(this.dir, this.id);
    let sawDone = false;
    const lines = this.readNew(files.events);
    const events: StoredEvent[] = [];
    for (const line of lines) {
      try {
        events.push(JSON.parse(line) as StoredEvent);
      } catch {
        /* a torn line cannot happen with appends of whole lines; skip it if it does */
      }
    }
    const doneAt = events.findIndex((e) => e.method === Events.done);
    // the latest progress goes before the done event (and after the replayed log on attach)
    const sendProgress = () => {
      try {
        const st = statSync(files.progress);
        if (st.mtimeMs !== this.progressMtime) {
          this.progressMtime = st.mtimeMs;
          const p = readJson<Record<string, unknown>>(files.progress);
          if (p) this.send(Events.progress, p);
        }
      } catch {
        /* no progress yet */
      }
    };
    for (const [i, e] of events.entries()) {
      if (i === doneAt) {
        sendProgress();
        sawDone = true;
      }
      if (this.index++ < this.from && e.method !== Events.done) continue;
      this.send(e.method, { ...e.params, event: e.n });
    }
    if (sawDone) {
      this.stop();
      return;
    }
    sendProgress();
    // a runner gone without a done event: mark it crashed; the next poll sends that done
    const now = Date.now();
    if (now - this.lastAliveCheck > 1000) {
      this.lastAliveCheck = now;
      const rec = currentRecord(this.dir, this.id);
      if (!rec) {
        this.send(Events.done, { jobId: this.id, ok: false, error: new LifeboatError('NOT_FOUND', `job ${this.id} is gone from this host`).toJSON() });
        this.stop();
        return;
      }
    }
    this.timer = setTimeout(() => this.poll(), 200);
  }

  private readNew(file: string): string[] {
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch {
      return [];
    }
    try {
      const buf = Buffer.alloc(64 * 1024);
      let text = '';
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        text += buf.subarray(0, n).toString('utf8');
        if (text.length > 1024 * 1024) break; // the rest on the next poll
      }
      const all = this.partial + text;
      const parts = all.split('\n');
      this.partial = parts.pop() ?? '';
      return parts.filter(Boolean);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The runner process (`lifeboat agent --run-job SPEC --config FILE`): runs one
 * job with the agent's JobRunner, writing events to files instead of a channel.
 * SIGTERM or SIGINT cancel the job (the same path as job.cancel always had);
 * SIGHUP is ignored. Exits when the job has ended and everything is written.
 */
export async function runDetachedJob(specFile: string, configPath: string | undefined): Promise<void> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as JobSpec;
  checkId(spec.id);
  const dir = path.dirname(specFile);
  const files = jobFiles(dir, spec.id);
  const env = new AgentEnv(configPath, { pin: true }); // one config for the whole job
  const runner = { pid: process.pid, ...(processStart(process.pid) ? { procStart: processStart(process.pid)! } : {}), log: files.log };
  let n = countLines(files.events);
  let logs = 0;
  let truncated = false;
  const append = (method: string, params: Record<string, unknown>) => {
    appendFileSync(files.events, JSON.stringify({ n: n++, method, params }) + '\n', { mode: 0o600 });
  };
  const notify = (method: string, params: Record<string, unknown>) => {
    if (method === Events.progress) return writeAtomic(files.progress, JSON.stringify(params));
    if (method === Events.log) {
      const l = params as unknown as LogEvent;
      if (++logs > MAX_LOG_EVENTS && l.level !== 'warn' && l.level !== 'error') {
        if (!truncated) {
          truncated = true;
          append(Events.log, { jobId: spec.id, level: 'warn', message: `more than ${MAX_LOG_EVENTS} log lines: only warnings and errors are kept from here`, time: new Date().toISOString() });
        }
        return;
      }
      if (l.message.length > MAX_MESSAGE) params = { ...params, message: l.message.slice(0, MAX_MESSAGE) + '…' };
    }
    append(method, params);
  };
  process.on('SIGHUP', () => undefined);
  const jobs = new JobRunner(() => env.state().catch(() => undefined), notify);
  let work: { cluster?: string; work: (job: JobHandle) => Promise<unknown> };
  try {
    work = jobWork(env)[spec.type](spec.params);
  } catch (err) {
    // params were checked by the agent; a config edited in between can still fail here
    const e = toLifeboatError(err);
    work = { work: () => Promise.reject(e) };
  }
  jobs.start(spec.type, spec.params, spec.cluster ?? work.cluster, work.work, {
    id: spec.id,
    onSave: (rec) => writeAtomic(files.record, JSON.stringify({ ...rec, pid: process.pid, runner } satisfies DetachedRecord)),
  });
  const cancel = () => jobs.cancel(spec.id);
  process.on('SIGTERM', cancel);
  process.on('SIGINT', cancel);
  await jobs.whenDone(spec.id);
  if (existsSync(files.spec)) unlinkSync(files.spec);
}
