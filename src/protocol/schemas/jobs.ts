/**
 * The handshake, job records and the job notifications (protocol/messages.ts,
 * agent/state.ts JobRecord, agent/runner.ts DetachedRecord).
 */
import { z } from 'zod';
import { IsoTime, SerializedErrorSchema } from './common.js';

/** agent.hello: HelloResult. */
export const HelloResultSchema = z.object({
  agentVersion: z.string(),
  protocolVersion: z.number().int(),
  host: z.string(),
  pid: z.number().int(),
  node: z.string(),
  /** `kinds` ⊆ source, storage. */
  /** `from`: built-in, the config's path or package, or `npm package NAME` (found installed). */
  plugins: z.array(z.object({ name: z.string(), version: z.string(), kinds: z.array(z.string()), apiVersion: z.number().int().optional(), from: z.string().optional(), description: z.string().optional() })),
  capabilities: z.array(z.string()),
  /** A broken config does not fail hello: it is reported here. Always sent by today's agent. */
  config: z.union([z.object({ path: z.string() }), z.object({ error: SerializedErrorSchema })]).optional(),
});

/**
 * A JobRecord as the agent lists it: the job log's record, and for a detached
 * job (DetachedRecord) its runner. `type` is a job type (JobTypes); `result` is
 * that type's result (see Jobs), present once it succeeded.
 */
export const JobRecordSchema = z.object({
  id: z.string(),
  type: z.string(),
  cluster: z.string().optional(),
  /** The params as given to job.start. */
  params: z.record(z.string(), z.unknown()),
  pid: z.number().int(),
  startedAt: IsoTime,
  finishedAt: IsoTime.optional(),
  /** crashed: a detached runner ended without a result (killed, power loss). */
  status: z.enum(['running', 'succeeded', 'failed', 'cancelled', 'crashed']),
  steps: z.array(z.object({ name: z.string(), startedAt: IsoTime, finishedAt: IsoTime.optional(), bytes: z.number().nonnegative().optional() })),
  bytes: z.number().nonnegative(),
  result: z.unknown().optional(),
  error: SerializedErrorSchema.optional(),
  /** Who runs it (the runner's pid and /proc start time) and where its own output goes. */
  runner: z.object({ pid: z.number().int(), procStart: z.string().optional(), log: z.string() }).optional(),
});

/** job.start. */
export const JobStartResultSchema = z.object({ jobId: z.string() });

/** job.cancel: answers at once; the job still ends with its own job.done. */
export const JobCancelResultSchema = z.object({ cancelled: z.literal(true) });

/** jobs.list: running jobs, and the last 50 (oldest first). */
export const JobsListResultSchema = z.object({
  running: z.array(JobRecordSchema),
  recent: z.array(JobRecordSchema),
});

// ---------------------------------------------------------------------------
// Notifications

/** The index of a log or done event in the job's event file, sent by a following agent (resume with job.attach fromEvent). */
const EventIndex = z.number().int().nonnegative();

/** job.progress: ProgressEvent. */
export const ProgressEventSchema = z.object({
  jobId: z.string(),
  phase: z.string().optional(),
  bytes: z.number().nonnegative(),
  totalBytes: z.number().nonnegative().optional(),
  /** Bytes per second over the last few seconds. */
  rate: z.number().nonnegative(),
  etaSeconds: z.number().nonnegative().optional(),
  /** Since the job started (wall clock: a clock step can make it odd). */
  elapsedMs: z.number(),
});

/** job.log: LogEvent. */
export const LogEventSchema = z.object({
  jobId: z.string(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
  time: IsoTime,
  event: EventIndex.optional(),
});

/**
 * job.done with `result` checked by `result` (a job type's result schema, or
 * z.unknown()): exactly once per job, `{ok: true, result}` or
 * `{ok: false, error}`.
 */
export function doneEventSchema<R extends z.ZodType>(result: R) {
  return z
    .object({
      jobId: z.string(),
      ok: z.boolean(),
      result: result.optional(),
      error: SerializedErrorSchema.optional(),
      event: EventIndex.optional(),
    })
    .refine((e) => e.ok || e.error !== undefined, { message: 'a failed job carries its error', path: ['error'] });
}

/** job.done: DoneEvent, its result unchecked (see doneEventSchema and Jobs for a job type's). */
export const DoneEventSchema = doneEventSchema(z.unknown());
