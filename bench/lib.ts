// Shared by the benchmarks (bench/*.ts).

/** Median of a sample (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * pgbench's own filler is blanks (zstd shrinks it ~23x, so compression looks
 * free); md5 hex text compresses ~3x, like real data (STACK.md).
 */
export const HEX_FILLER_SQL = 'UPDATE pgbench_accounts SET filler = substr(md5(aid::text) || md5((aid * 7)::text) || md5((aid * 13)::text), 1, 84)';
