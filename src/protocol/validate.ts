import type { z } from 'zod';
import { LifeboatError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';

/**
 * Parse a method's or a job's params with its schema: a mismatch is a USAGE
 * error naming the field (`backup: kind: Invalid option ...`).
 */
export function parseParams<T extends z.ZodType>(schema: T, params: unknown, method: string): z.output<T> {
  const res = schema.safeParse(params ?? {});
  if (!res.success) {
    const i = res.error.issues[0]!;
    throw new LifeboatError('USAGE', `${method}: ${formatPath(i.path)}: ${i.message}`, { details: { field: formatPath(i.path) } });
  }
  return res.data;
}
