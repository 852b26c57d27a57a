/**
 * npm run bench (part 2): physical full backup and restore, side by side,
 * interleaved (A B C, then C B A, ...) in one run on one cluster.
 *
 *   lifeboat   backup --physical (zstd level 1) through the CLI and the agent into
 *              a local repository; restore = `pitr plan --immediate --to-datadir`
 *              + the check-target and restore-base steps (checksum-verified).
 *   pgbackrest 2.45 (when installed): backup --type=full, compress-type=zst,
 *              compress-level=1, process-max=2; restore into an empty directory.
 *   pipeline   pg_basebackup -Ft -X fetch -D - | zstd -1 -T0 > file; restore =
 *              zstd -dc file | tar -x.
 *
 * Every run ends with `sync` inside the clock, so page-cache write-back is paid
 * by the tool that caused it. The cluster archives WAL through lifeboat (the
 * PITR plan needs it); pgBackRest runs with archive-check=n, as its WAL is not
 * what is measured. Data: pgbench scale 50 with md5-hex filler (see STACK.md).
 * Targets (issue 3): backup <= 0.75x pgBackRest, restore <= 1.0x pgBackRest.
 * Environment: BENCH_SCALE (default 50), BENCH_RUNS (default 5).
 */
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCluster, SAMPLE_DB } from '../test/harness/pg.js';
import { median, HEX_FILLER_SQL, writeBenchConfig } from './lib.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(root, 'bin', 'lifeboat.js');
const scale = Number(process.env.BENCH_SCALE ?? 50);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const IS_ROOT = process.getuid?.() === 0;
const asServer = (cmd: string, args: string[]) => (IS_ROOT ? (['runuser', ['-u', 'postgres', '--', cmd, ...args]] as const) : ([cmd, args] as const));
const hasPgbackrest = (await execa('pgbackrest', ['version'], { reject: false })).exitCode === 0;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  await execa('sync');
  return Number(process.hrtime.bigint() - start) / 1e9;
}

console.log(`bench physical: pgbench scale ${scale}, ${runs} interleaved runs (${os.cpus().length} cores; pgBackRest ${hasPgbackrest ? 'installed' : 'not installed: skipped'})`);
const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-phys-'));
await execa('chmod', ['755', dir]);
const config = path.join(dir, 'config.json');
const repo = path.join(dir, 'repo');
const walPush = `${process.execPath} ${BIN} --config ${config} wal push %p`;
const pg = await startCluster({ name: 'benchphys', pgbenchScale: scale, settings: { archive_mode: 'on', archive_command: walPush, wal_level: 'replica' } });
try {
  await pg.psql(
    `${HEX_FILLER_SQL};
     VACUUM FULL ANALYZE pgbench_accounts; CHECKPOINT;`,
    SAMPLE_DB,
  );
  const size = await pg.psql(`SELECT pg_size_pretty(sum(pg_database_size(datname))) FROM pg_database`);
  console.log(`bench physical: cluster ready (${size})`);
  await writeBenchConfig(config, dir, repo, pg, SAMPLE_DB);
  const pgbrConf = path.join(dir, 'pgbackrest.conf');
  await writeFile(
    pgbrConf,
    [
      '[global]',
      `repo1-path=${path.join(dir, 'pgbr-repo')}`,
      `lock-path=${path.join(dir, 'pgbr-lock')}`,
      `log-path=${path.join(dir, 'pgbr-log')}`,
      `spool-path=${path.join(dir, 'pgbr-spool')}`,
      'compress-type=zst',
      'compress-level=1',
      'process-max=2',
      'start-fast=y',
      'archive-check=n',
      'log-level-console=warn',
      '[bench]',
      `pg1-path=${pg.dataDir}`,
      `pg1-port=${pg.port}`,
      `pg1-socket-path=${pg.socketDir}`,
      '',
    ].join('\n'),
  );
  if (IS_ROOT) await execa('chown', ['-R', 'postgres:', dir]);
  const lb = async (args: string[]) => {
    const [cmd, a] = asServer(process.execPath, [BIN, '--config', config, '--json', ...args]);
    const r = await execa(cmd, [...a], { env: { NO_COLOR: '1' } });
    return JSON.parse(String(r.stdout));
  };
  const br = async (args: string[]) => {
    const [cmd, a] = asServer('pgbackrest', [`--config=${pgbrConf}`, '--stanza=bench', ...args]);
    await execa(cmd, [...a]);
  };
  const sh = async (script: string) => {
    const [cmd, a] = asServer('bash', ['-o', 'pipefail', '-c', script]);
    await execa(cmd, [...a], { env: { ...pg.env } });
  };
  if (hasPgbackrest) await br(['stanza-create']);
  const tarFile = path.join(dir, 'base.tar.zst');
  const target = (tool: string) => path.join(dir, `restore-${tool}`);
  let port = pg.port + 1000;

  const tools: Record<string, { backup(): Promise<unknown>; restore(): Promise<unknown> }> = {
    lifeboat: {
      backup: () => lb(['backup', '-c', 'bench', '--physical', '--compression', 'zstd', '--level', '1']),
      restore: async () => {
        const plan = await lb(['pitr', 'plan', '-c', 'bench', '--immediate', '--to-datadir', target('lifeboat'), '--port', String(++port)]);
        await lb(['pitr', 'apply', plan.plan.id, '--through', '2', '--yes']); // check-target, restore-base
      },
    },
    pipeline: {
      backup: () => sh(`pg_basebackup -h ${pg.host} -p ${pg.port} -U ${pg.user} -Ft -X fetch -c fast -D - | zstd -1 -T0 -q > ${tarFile}`),
      restore: () => sh(`mkdir -m 700 ${target('pipeline')} && zstd -dc -q ${tarFile} | tar -x -C ${target('pipeline')}`),
    },
  };
  if (hasPgbackrest) tools.pgbackrest = { backup: () => br(['backup', '--type=full']), restore: () => br(['restore', `--pg1-path=${target('pgbackrest')}`]) };

  const names = Object.keys(tools);
  const times: Record<string, { backup: number[]; restore: number[] }> = Object.fromEntries(names.map((n) => [n, { backup: [], restore: [] }]));
  const clean = async (n: string) => {
    if (existsSync(target(n))) await rm(target(n), { recursive: true, force: true });
  };
  // warm-up: one of each, not measured
  for (const n of names) {
    await tools[n]!.backup();
    await clean(n);
    await tools[n]!.restore();
    await clean(n);
  }
  await mkdir(path.join(dir, 'x'), { recursive: true });
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const n of order) times[n]!.backup.push(await timed(() => tools[n]!.backup()));
    for (const n of order) {
      await clean(n);
      times[n]!.restore.push(await timed(() => tools[n]!.restore()));
      await clean(n);
    }
    console.log(`run ${i + 1}: ` + names.map((n) => `${n} ${times[n]!.backup.at(-1)!.toFixed(2)}/${times[n]!.restore.at(-1)!.toFixed(2)} s`).join(', ') + ' (backup/restore)');
  }
  console.log('');
  console.log('tool         backup median   restore median');
  for (const n of names) console.log(`${n.padEnd(12)} ${median(times[n]!.backup).toFixed(2).padStart(10)} s ${median(times[n]!.restore).toFixed(2).padStart(12)} s`);
  if (hasPgbackrest) {
    const b = median(times.lifeboat!.backup) / median(times.pgbackrest!.backup);
    const r = median(times.lifeboat!.restore) / median(times.pgbackrest!.restore);
    console.log(`ratio lifeboat / pgBackRest: backup ${b.toFixed(2)} (target <= 0.75: ${b <= 0.75 ? 'met' : 'NOT met'}), restore ${r.toFixed(2)} (target <= 1.00: ${r <= 1 ? 'met' : 'NOT met'})`);
  }
  const pb = median(times.lifeboat!.backup) / median(times.pipeline!.backup);
  console.log(`ratio lifeboat / pipeline:   backup ${pb.toFixed(2)}, restore ${(median(times.lifeboat!.restore) / median(times.pipeline!.restore)).toFixed(2)}`);
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
