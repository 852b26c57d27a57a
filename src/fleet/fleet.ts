/**
 * Fleet-wide runs: one piece of work per host, a bounded number at a time,
 * every host reported (one unreachable host never stops the others).
 *
 * @module
 */
import { toLifeboatError, type SerializedError } from '../core/errors.js';

export interface HostOutcome<T> {
  host: string;
  ok: boolean;
  result?: T;
  error?: SerializedError;
  ms: number;
}

/** Run `fn` for each host, at most `limit` at once; results in input order. */
export async function forEachHost<T>(hosts: string[], limit: number, fn: (host: string) => Promise<T>, ok: (r: T) => boolean = () => true): Promise<HostOutcome<T>[]> {
  const out: HostOutcome<T>[] = new Array(hosts.length);
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const i = next++;
      const host = hosts[i]!;
      const t0 = Date.now();
      try {
        const result = await fn(host);
        out[i] = { host, ok: ok(result), result, ms: Date.now() - t0 };
      } catch (err) {
        out[i] = { host, ok: false, error: toLifeboatError(err).toJSON(), ms: Date.now() - t0 };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, hosts.length)) }, worker));
  return out;
}

/** 0 when every host is fine, 3 when some failed, 1 when all failed (docs/cli.md). */
export function fleetExitCode(outcomes: { ok: boolean }[]): number {
  const failed = outcomes.filter((o) => !o.ok).length;
  if (failed === 0) return 0;
  return failed === outcomes.length ? 1 : 3;
}

/** `--all` / `--group G` / `--parallel N` on a read-only command. */
export interface FleetFlags {
  all?: boolean;
  group?: string[];
  parallel?: number;
}

/** True when the command should run across the inventory instead of on one host. */
export function wantsFleet(f: FleetFlags): boolean {
  return !!f.all || !!f.group?.length;
}

/** One host's record in a fleet-wide `--json` document. */
export interface FleetRecord<T> {
  host: string;
  ok: boolean;
  result?: T;
  error?: SerializedError;
}

/** The `--json` document of a fleet-wide command: `{ok, summary, hosts: [{host, ok, result|error}]}`. */
export function fleetDocument<T>(outcomes: HostOutcome<T>[]): { ok: boolean; summary: { ok: number; failed: number }; hosts: FleetRecord<T>[] } {
  const hosts = outcomes.map((o) => ({ host: o.host, ok: o.ok, ...(o.error ? { error: o.error } : { result: o.result as T }) }));
  const ok = outcomes.filter((o) => o.ok).length;
  return { ok: ok === outcomes.length, summary: { ok, failed: outcomes.length - ok }, hosts };
}
