/**
 * npm run bench: logical backup speed, side by side, interleaved (A B A B ...).
 *
 *   A  lifeboat backup --logical (custom format, zstd level 1), through the CLI
 *      and the agent, written to a local repository (fsync + rename)
 *   B  pg_dump -Fc -Z0 | zstd -1 -T0 > file; sync file
 *
 * Data: pgbench scale 50 with pgbench_accounts.filler rewritten as md5 hex text
 * (pgbench's own filler is blanks and compresses ~23x; real data is ~3x).
 * Reports medians, the ratio A/B (target <= 1.10) and the agent's peak RSS
 * (target < 150 MB). Environment: BENCH_SCALE (default 50), BENCH_RUNS (default 5).
 */
import { execa } from 'execa';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, SAMPLE_DB } from '../test/harness/pg.js';
import { median, HEX_FILLER_SQL, writeBenchConfig } from './lib.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const scale = Number(process.env.BENCH_SCALE ?? 50);
const runs = Number(process.env.BENCH_RUNS ?? 5);

console.log(`bench: pgbench scale ${scale}, ${runs} interleaved runs each (this machine: ${os.cpus().length} cores)`);
const t0 = Date.now();
const pg = await startCluster({ name: 'bench', pgbenchScale: scale });
try {
  await pg.psql(
    `${HEX_FILLER_SQL};
     VACUUM FULL ANALYZE pgbench_accounts;`,
    SAMPLE_DB,
  );
  const size = await pg.psql(`SELECT pg_size_pretty(pg_database_size('${SAMPLE_DB}'))`);
  console.log(`bench: data ready in ${((Date.now() - t0) / 1000).toFixed(0)} s (database ${size})`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-'));
  const config = path.join(dir, 'config.json');
  const repo = path.join(dir, 'repo');
  await writeBenchConfig(config, dir, repo, pg, SAMPLE_DB);
  const out = path.join(dir, 'pipeline.dump.zst');
  const env = { ...process.env, ...pg.env, NO_COLOR: '1' };

  const lifeboatRun = async () => {
    await rm(repo, { recursive: true, force: true });
    const start = process.hrtime.bigint();
    const r = await execa(process.execPath, [path.join(root, 'bin', 'lifeboat.js'), '--config', config, '--json', 'backup', '-c', 'bench', '--format', 'custom', '--compression', 'zstd', '--level', '1'], { env });
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    const res = JSON.parse(r.stdout).backup;
    return { secs, rss: res.peakRssBytes as number, stored: res.storedSize as number, raw: res.rawSize as number };
  };
  const shellRun = async () => {
    await rm(out, { force: true });
    const start = process.hrtime.bigint();
    await execa('bash', ['-o', 'pipefail', '-c', `pg_dump -Fc -Z0 -d ${SAMPLE_DB} | zstd -1 -T0 -q > "${out}" && sync "${out}"`], { env });
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    return { secs, stored: (await stat(out)).size };
  };

  // warm-up (page cache, binaries), not measured
  await shellRun();
  await lifeboatRun();
  const a: number[] = [];
  const b: number[] = [];
  const rss: number[] = [];
  let last: { stored: number; raw: number } | undefined;
  let shellStored = 0;
  for (let i = 0; i < runs; i++) {
    const first = i % 2 === 0;
    for (const which of first ? ['A', 'B'] : ['B', 'A']) {
      if (which === 'A') {
        const r = await lifeboatRun();
        a.push(r.secs);
        rss.push(r.rss);
        last = r;
      } else {
        const r = await shellRun();
        b.push(r.secs);
        shellStored = r.stored;
      }
    }
    console.log(`run ${i + 1}: lifeboat ${a.at(-1)!.toFixed(2)} s, pipeline ${b.at(-1)!.toFixed(2)} s`);
  }
  const ratio = median(a) / median(b);
  const peak = Math.max(...rss) / 1024 / 1024;
  console.log('');
  console.log(`dump: ${(last!.raw / 1e6).toFixed(0)} MB raw; lifeboat stored ${(last!.stored / 1e6).toFixed(0)} MB, pipeline ${(shellStored / 1e6).toFixed(0)} MB`);
  console.log(`lifeboat backup --logical (custom, zstd-1)   median ${median(a).toFixed(2)} s`);
  console.log(`pg_dump -Fc -Z0 | zstd -1 -T0 > file         median ${median(b).toFixed(2)} s`);
  console.log(`ratio lifeboat / pipeline                   ${ratio.toFixed(3)}  (target <= 1.10: ${ratio <= 1.1 ? 'met' : 'NOT met'})`);
  console.log(`agent peak RSS                              ${peak.toFixed(0)} MB (target < 150 MB: ${peak < 150 ? 'met' : 'NOT met'})`);
  await rm(dir, { recursive: true, force: true });
} finally {
  await pg.stop();
}
