/** WAL arithmetic: LSNs and segment file names. */

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

/** pg_basebackup -v lines: start point (with timeline) and end point. */
export function parseBasebackupLog(stderr: string): { startLsn: string; timeline: number; stopLsn: string } | undefined {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/.exec(stderr);
  const stop = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/.exec(stderr);
  if (!start || !stop) return undefined;
  return { startLsn: start[1]!, timeline: Number(start[2]), stopLsn: stop[1]! };
}
