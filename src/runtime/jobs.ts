import { randomBytes } from 'node:crypto';
import { toLifeboatError } from '../core/errors.js';
import type { LogLevel, Progress } from '../core/plugin.js';
import { Events, type DoneEvent, type LogEvent, type ProgressEvent } from '../protocol/index.js';
import { TempDirs, type JobHandle } from './context.js';
import type { AgentState, JobRecord } from './state.js';

export type Notify = (method: string, params: Record<string, unknown>) => void;

/** Rate over a sliding window of a few seconds, and an ETA from it. */
class RateMeter {
  private samples: { t: number; bytes: number }[] = [];
  add(t: number, bytes: number): number {
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > 5000) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    return dt > 0 ? Math.max(0, (bytes - first.bytes) / dt) : 0;
  }
  reset(): void {
    this.samples = [];
  }
}

interface RunningJob {
  record: JobRecord;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs jobs inside the agent: each gets an id, an AbortSignal, progress and log
 * notifications, step timings in the job log, and a final `job.done`.
 */
export class JobRunner {
  private readonly running = new Map<string, RunningJob>();

  constructor(
    private readonly state: () => Promise<AgentState | undefined>,
    private readonly notify: Notify,
  ) {}

  start(
    type: string,
    params: Record<string, unknown>,
    cluster: string | undefined,
    work: (job: JobHandle) => Promise<unknown>,
    opts: { id?: string; onSave?: (record: JobRecord) => void } = {},
  ): { jobId: string } {
    const id = opts.id ?? `${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}-${randomBytes(3).toString('hex')}`;
    const controller = new AbortController();
    const record: JobRecord = { id, type, params, pid: process.pid, startedAt: new Date().toISOString(), status: 'running', steps: [], bytes: 0 };
    if (cluster) record.cluster = cluster;
    const temps = new TempDirs();
    const started = Date.now();
    const meter = new RateMeter();
    let lastPhase: string | undefined;
    let lastSent = 0;
    let pending: ProgressEvent | undefined;
    const flush = () => {
      if (pending) this.notify(Events.progress, pending as unknown as Record<string, unknown>);
      pending = undefined;
      lastSent = Date.now();
    };
    const handle: JobHandle = {
      id,
      signal: controller.signal,
      log: (level: LogLevel, message: string) => {
        flush(); // keep progress and log lines in order
        const ev: LogEvent = { jobId: id, level, message, time: new Date().toISOString() };
        this.notify(Events.log, ev as unknown as Record<string, unknown>);
      },
      progress: (p: Progress) => {
        const now = Date.now();
        if (p.phase !== lastPhase) {
          meter.reset();
          lastPhase = p.phase;
        }
        record.bytes = Math.max(record.bytes, p.bytes);
        const rate = meter.add(now, p.bytes);
        const ev: ProgressEvent = { jobId: id, bytes: p.bytes, rate, elapsedMs: now - started };
        if (p.phase) ev.phase = p.phase;
        if (p.totalBytes) {
          ev.totalBytes = p.totalBytes;
          if (rate > 0) ev.etaSeconds = Math.max(0, (p.totalBytes - p.bytes) / rate);
        }
        pending = ev;
        if (now - lastSent >= 200) flush();
      },
      step: async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
        const step: JobRecord['steps'][number] = { name, startedAt: new Date().toISOString() };
        record.steps.push(step);
        try {
          return await fn();
        } finally {
          step.finishedAt = new Date().toISOString();
          step.bytes = record.bytes;
        }
      },
      tmpDir: () => temps.make(),
    };
    const save = async () => {
      try {
        opts.onSave?.(record);
      } catch {
        /* reported by whoever reads the record */
      }
      try {
        await (await this.state())?.upsertJob(record);
      } catch {
        /* the job log is best effort; the repository is the truth */
      }
    };
    const done = (async () => {
      await save();
      const ev: DoneEvent = { jobId: id, ok: false };
      try {
        const result = await work(handle);
        record.status = 'succeeded';
        record.result = result;
        ev.ok = true;
        ev.result = result;
      } catch (err) {
        const e = toLifeboatError(err);
        record.status = controller.signal.aborted ? 'cancelled' : 'failed';
        record.error = e.toJSON();
        ev.error = e.toJSON();
      } finally {
        await temps.cleanup();
        record.finishedAt = new Date().toISOString();
        this.running.delete(id);
      }
      flush();
      await save();
      this.notify(Events.done, ev as unknown as Record<string, unknown>);
    })();
    this.running.set(id, { record, controller, done });
    return { jobId: id };
  }

  cancel(jobId: string): boolean {
    const job = this.running.get(jobId);
    if (!job) return false;
    job.controller.abort();
    return true;
  }

  /** Resolves when the job has ended and its record and done event are written. */
  async whenDone(jobId: string): Promise<void> {
    await this.running.get(jobId)?.done;
  }

  list(): JobRecord[] {
    return [...this.running.values()].map((j) => j.record);
  }

  /** Cancel everything and wait (agent shutdown). */
  async shutdown(): Promise<void> {
    const jobs = [...this.running.values()];
    for (const j of jobs) j.controller.abort();
    await Promise.all(jobs.map((j) => j.done));
  }
}
