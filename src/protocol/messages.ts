import { z } from 'zod';
import type { SerializedError } from '../core/errors.js';

/** Bumped on incompatible changes; hello fails clearly on a mismatch. */
export const PROTOCOL_VERSION = 1;

export const RequestSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.number(), z.string()]),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()).optional(),
});
export const ResponseSchema = z.union([
  z.object({ jsonrpc: z.literal('2.0'), id: z.union([z.number(), z.string()]), result: z.unknown() }),
  z.object({
    jsonrpc: z.literal('2.0'),
    id: z.union([z.number(), z.string(), z.null()]),
    error: z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() }),
  }),
]);
export const NotificationSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1),
  params: z.record(z.string(), z.unknown()),
});

export type Request = z.infer<typeof RequestSchema>;
export type Response = z.infer<typeof ResponseSchema>;
export type Notification = z.infer<typeof NotificationSchema>;

/** JSON-RPC error codes we use; the lifeboat error rides in `data`. */
export const RpcErrorCode = { PARSE: -32700, INVALID_REQUEST: -32600, METHOD_NOT_FOUND: -32601, INVALID_PARAMS: -32602, LIFEBOAT: -32000 } as const;

export interface HelloResult {
  agentVersion: string;
  protocolVersion: number;
  host: string;
  pid: number;
  node: string;
  /** `from`: built-in, the config's path or package, or `npm package NAME` (found installed). */
  plugins: { name: string; version: string; kinds: string[]; apiVersion?: number; from?: string; description?: string }[];
  capabilities: string[];
  config?: { path: string } | { error: SerializedError };
}

export interface ProgressEvent {
  jobId: string;
  phase?: string;
  bytes: number;
  totalBytes?: number;
  /** bytes per second over the last few seconds */
  rate: number;
  etaSeconds?: number;
  elapsedMs: number;
}

export interface LogEvent {
  jobId: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  time: string;
}

export interface DoneEvent {
  jobId: string;
  ok: boolean;
  result?: unknown;
  error?: SerializedError;
}

/** Notification method names. */
export const Events = { progress: 'job.progress', log: 'job.log', done: 'job.done' } as const;

export const JobTypes = ['backup', 'verify', 'restore', 'gc', 'reindex', 'pitr', 'expire'] as const;
export type JobType = (typeof JobTypes)[number];
