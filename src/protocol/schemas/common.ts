/**
 * Pieces the result schemas share. Result objects are z.object (not strict):
 * unknown keys are dropped, so a newer agent that adds a field does not break
 * an older client (docs/protocol.md, "Compatibility rules").
 */
import { z } from 'zod';
import { ErrorCodes, type ErrorCode } from '../../core/errors.js';

/**
 * A time the agent itself wrote with `Date.toISOString()` (UTC, `Z`). Times a
 * plugin reports (the archiver's, a WAL record's) are plain strings: their form
 * is the plugin's.
 */
export const IsoTime = z.iso.datetime();

/** A count or a size in bytes. */
export const Count = z.number().int().nonnegative();

/**
 * An error code. Any string is accepted and an unknown one reads as INTERNAL,
 * as LifeboatError.fromJSON does: an error code added by a newer agent must not
 * turn its error into a PROTOCOL error of the client.
 */
export const ErrorCodeSchema = z
  .string()
  .min(1)
  .transform((code): ErrorCode => (Object.hasOwn(ErrorCodes, code) ? (code as ErrorCode) : 'INTERNAL'));

/** SerializedError (core/errors.ts): a lifeboat error as it crosses the wire. */
export const SerializedErrorSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  hint: z.string().optional(),
  cause: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Check (core/plugin.ts): one named pass or fail, with a line of detail. */
export const CheckSchema = z.object({
  name: z.string(),
  ok: z.boolean(),
  detail: z.string().optional(),
});
