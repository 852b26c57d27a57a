/** WAL arithmetic and file names: LSNs, segments, timeline history, archive keys. */
import { LifeboatError } from './errors.js';

/** `1/6E000028` → bigint. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn.trim());
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(v: bigint): string {
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** The segment file holding `lsn` on `timeline`, e.g. 00000001000000010000006E. */
export function segmentName(timeline: number, lsn: bigint, segSize: number): string {
  const segno = lsn / BigInt(segSize);
  const perId = 0x100000000n / BigInt(segSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return hex(timeline) + hex(segno / perId) + hex(segno % perId);
}

/** The segment number of a segment file name: log × segments per log + seg (the inverse of {@link segmentName}). */
export function segmentNumber(name: string, segSize: number | bigint): bigint {
  return BigInt(`0x${name.slice(8, 16)}`) * (0x100000000n / BigInt(segSize)) + BigInt(`0x${name.slice(16, 24)}`);
}

/** pg_basebackup -v lines: start point (with timeline) and end point. */
export function parseBasebackupLog(stderr: string): { startLsn: string; timeline: number; stopLsn: string } | undefined {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/.exec(stderr);
  const stop = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/.exec(stderr);
  if (!start || !stop) return undefined;
  return { startLsn: start[1]!, timeline: Number(start[2]), stopLsn: stop[1]! };
}

/** The kinds of file PostgreSQL hands to archive_command / asks of restore_command. */
export type WalFileKind = 'segment' | 'partial' | 'backup' | 'history';

/** Classify a WAL file name; anything else is refused (it could be a path trick). */
export function classifyWalFile(name: string): { kind: WalFileKind; timeline: string; dir?: string } {
  let m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/.exec(name);
  if (m) return { kind: 'segment', timeline: m[1]!, dir: m[1]! + m[2]! };
  m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.partial$/.exec(name);
  if (m) return { kind: 'partial', timeline: m[1]!, dir: m[1]! + m[2]! };
  m = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})\.[0-9A-F]{8}\.backup$/.exec(name);
  if (m) return { kind: 'backup', timeline: m[1]!, dir: m[1]! + m[2]! };
  m = /^([0-9A-F]{8})\.history$/.exec(name);
  if (m) return { kind: 'history', timeline: m[1]! };
  throw new LifeboatError('USAGE', `${JSON.stringify(name)} is not a WAL file name`, {
    hint: 'archive_command passes %p (a path ending in a WAL file name); restore_command passes %f %p',
  });
}

/**
 * Archive keys carry the sha256 of the file's content:
 * `<cluster>/wal/<timeline+log>/<name>-<sha256>.zst`, history files directly under
 * `<cluster>/wal/`. The prefix `<...>/<name>-` finds every copy of one file.
 */
export const walLayout = {
  prefix: (cluster: string) => `${cluster}/wal/`,
  filePrefix(cluster: string, name: string): string {
    const c = classifyWalFile(name);
    return c.dir ? `${cluster}/wal/${c.dir}/${name}-` : `${cluster}/wal/${name}-`;
  },
  /** Parse an archive key back into file name and content sha256. */
  parse(key: string): { name: string; sha256: string } | undefined {
    const m = /\/([0-9A-F]{8}(?:[0-9A-F]{16}(?:\.partial|\.[0-9A-F]{8}\.backup)?|\.history))-([0-9a-f]{64})(?:\.zst|\.gz)?$/.exec(key);
    return m ? { name: m[1]!, sha256: m[2]! } : undefined;
  },
};
