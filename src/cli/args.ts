import { InvalidArgumentError } from 'commander';

/**
 * Argument parsers for commander: a bad value is a usage error (exit 2) with
 * one line naming the option, caught before anything reaches the agent.
 */

/** A TCP port, 1-65535. */
export function parsePort(v: string): number {
  const n = /^\d+$/.test(v.trim()) ? Number(v.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port is a whole number from 1 to 65535.');
  return n;
}

/** A backup or plan id (or prefix): not empty, no control characters. */
export function parseId(v: string): string {
  if (v.trim() === '') throw new InvalidArgumentError('it must not be empty (a backup id, a unique prefix of one, or "latest").');
  if (/\p{Cc}/u.test(v)) throw new InvalidArgumentError('it must not contain control characters.');
  return v;
}
