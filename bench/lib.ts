// Shared by the benchmarks (bench/*.ts).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

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

/** An agent config for one cluster named `bench` in `dir` (state and a local repository `repo`). */
export async function writeBenchConfig(file: string, dir: string, repo: string, pg: { host: string; port: number; user: string }, database: string): Promise<void> {
  await writeFile(
    file,
    JSON.stringify({
      stateDir: path.join(dir, 'state'),
      repositories: { bench: { type: 'local', path: repo } },
      clusters: { bench: { repository: 'bench', connection: { host: pg.host, port: pg.port, user: pg.user, database } } },
    }),
  );
}
