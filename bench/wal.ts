/**
 * WAL archiving speed: archive_command per 16 MiB segment, sync and async, with
 * pgBackRest side by side when it is installed. Run: npx tsx bench/wal.ts
 *
 * Data: a real cluster (archive_mode on, archive_command empty, so PostgreSQL
 * keeps every ready segment) writes realistic WAL: pgbench with
 * pgbench_accounts.filler rewritten as md5 hex (~3x compressible, like real
 * data), full_page_writes on. Then the bench plays PostgreSQL's archiver: it
 * runs each archive_command line exactly as the server would (`/bin/sh -c`, the
 * server's OS user, the data directory as working directory, %p replaced by
 * pg_wal/<segment>), one call after the other, each tool into a fresh
 * repository. Tools run interleaved, in a rotating order, BENCH_ROUNDS times.
 *
 *   sync             one call stores one segment (lifeboat wal push; pgBackRest
 *                    archive-push). Per-call p50/p90.
 *   async drain      a backlog of BENCH_SEGMENTS ready segments, no pusher
 *                    running: calls as PostgreSQL makes them, in order (each
 *                    segment marked .done after its call, as the server does),
 *                    until all are archived. Segments/s over the whole backlog,
 *                    and the per-call times along the way.
 *   async ahead      the background process has stored the backlog already
 *                    (its own drain rate is measured as it does); then the
 *                    per-call cost of collecting each acknowledgement.
 *
 * pgBackRest: stanza in a temp dir, repo1-path a temp dir, compress-type=zst,
 * compress-level=1, process-max=2 (lifeboat: zstd level 1, walArchive.parallel 2).
 * Results: a table on stdout and bench/results/wal.json.
 * Environment: BENCH_SEGMENTS (default 48), BENCH_ROUNDS (default 3), BENCH_SCALE (default 10).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { SAMPLE_DB, startCluster, type PgCluster } from '../test/harness/pg.js';
import { median, HEX_FILLER_SQL } from './lib.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SEGMENTS = Number(process.env.BENCH_SEGMENTS ?? 48);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SCALE = Number(process.env.BENCH_SCALE ?? 10);
const IS_ROOT = process.getuid?.() === 0;

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : Number.NaN;
};
const shq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

async function ids(): Promise<{ uid: number; gid: number } | undefined> {
  if (!IS_ROOT) return undefined;
  const uid = Number((await execa('id', ['-u', 'postgres'])).stdout);
  const gid = Number((await execa('id', ['-g', 'postgres'])).stdout);
  return { uid, gid };
}

const t0 = Date.now();
console.log(`bench wal: ${SEGMENTS} segments, ${ROUNDS} interleaved rounds (this machine: ${os.cpus().length} cores)`);
const pg: PgCluster = await startCluster({
  name: 'benchwal',
  pgbenchScale: SCALE,
  settings: { archive_mode: 'on', archive_command: '', wal_level: 'replica', full_page_writes: 'on', max_wal_size: '4GB', checkpoint_timeout: '30min' },
});
const owner = await ids();
const work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-wal-'));
const results: Record<string, unknown> = {};
try {
  if (owner) await chown(work, owner.uid, owner.gid);
  const statusDir = path.join(pg.dataDir, 'pg_wal', 'archive_status');
  const readyNow = async () => (await readdir(statusDir)).filter((n) => n.endsWith('.ready')).map((n) => n.slice(0, -6)).sort();
  await pg.psql(HEX_FILLER_SQL, SAMPLE_DB);
  while ((await readyNow()).length < SEGMENTS) {
    await execa('pgbench', ['-n', '-T', '5', '-c', '2', SAMPLE_DB], { env: { ...process.env, ...pg.env } });
    await pg.psql('SELECT pg_switch_wal()');
  }
  const all = (await readyNow()).filter((n) => /^[0-9A-F]{24}$/.test(n));
  const segs = all.slice(0, SEGMENTS);
  // exactly this backlog: later segments are marked done (this throwaway server never archives)
  for (const extra of all.slice(SEGMENTS)) await rename(path.join(statusDir, `${extra}.ready`), path.join(statusDir, `${extra}.done`));
  console.log(`bench wal: ${segs.length} ready segments of realistic WAL in ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  // ---- tools --------------------------------------------------------------
  const dirOf = async (name: string) => {
    const d = path.join(work, name);
    await rm(d, { recursive: true, force: true });
    await mkdir(d, { recursive: true });
    if (owner) await chown(d, owner.uid, owner.gid);
    return d;
  };
  const serverEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: IS_ROOT ? '/var/lib/postgresql' : (process.env.HOME ?? '/'), PGDATA: pg.dataDir, LANG: 'C' };
  /** archive_command as the server runs it: /bin/sh -c, its user, cwd = data dir. Milliseconds. */
  const call = (cmd: string, seg: string) =>
    new Promise<{ ms: number; code: number; stderr: string }>((resolve, reject) => {
      const line = cmd.replaceAll('%p', `pg_wal/${seg}`);
      const start = process.hrtime.bigint();
      const child = spawn('/bin/sh', ['-c', line], { cwd: pg.dataDir, env: serverEnv, stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, code: code ?? -1, stderr }));
    });
  // what PostgreSQL does around each call: .ready before, renamed .done after success
  const markDone = (seg: string) => rename(path.join(statusDir, `${seg}.ready`), path.join(statusDir, `${seg}.done`));
  const requeueAll = async () => {
    for (const seg of segs) await rename(path.join(statusDir, `${seg}.done`), path.join(statusDir, `${seg}.ready`)).catch(() => undefined);
  };
  const must = async (cmd: string, seg: string) => {
    const r = await call(cmd, seg);
    if (r.code !== 0) throw new Error(`archive_command failed for ${seg} (exit ${r.code}): ${r.stderr.trim()}\n  ${cmd}`);
    await markDone(seg);
    return r.ms;
  };

  interface Tool {
    name: string;
    /** `acked`: the segments the background process has acknowledged so far. */
    prepare(mode: 'sync' | 'async'): Promise<{ cmd: string; acked: () => Promise<Set<string>> }>;
  }

  const lifeboatTool: Tool = {
    name: 'lifeboat',
    async prepare(mode) {
      const dir = await dirOf(`lifeboat-${mode}`);
      const config = path.join(dir, 'config.json');
      const spool = path.join(dir, 'spool');
      await writeFile(
        config,
        JSON.stringify({
          stateDir: path.join(dir, 'state'),
          repositories: { bench: { type: 'local', path: path.join(dir, 'repo') } },
          clusters: { pg: { repository: 'bench', walArchive: { async: mode === 'async', spoolDir: spool, parallel: 2, idleSeconds: 5 } } },
          defaults: { compression: { algorithm: 'zstd', level: 1 } },
        }),
      );
      if (owner) await chown(config, owner.uid, owner.gid);
      await execa(process.execPath, [path.join(root, 'bin', 'lifeboat.js'), '--config', config, 'repo', 'init', '--cluster', 'pg'], { cwd: dir, env: serverEnv, ...(owner ?? {}) });
      // the lines lifeboat check prints for this config
      const cmd =
        mode === 'sync'
          ? `${shq(process.execPath)} ${shq(path.join(root, 'bin', 'lifeboat.js'))} --config ${shq(config)} wal push --cluster 'pg' %p`
          : `${shq(path.join(root, 'bin', 'lifeboat-archive'))} --node ${shq(process.execPath)} --config ${shq(config)} --cluster 'pg' --spool ${shq(spool)} %p`;
      const okDir = path.join(spool, 'pg', 'ok');
      return { cmd, acked: async () => new Set((await readdir(okDir).catch(() => [])).filter((n) => !n.startsWith('.'))) };
    },
  };

  const pgbr = (await execa('pgbackrest', ['version'], { reject: false })).exitCode === 0;
  const pgbackrestTool: Tool = {
    name: 'pgBackRest',
    async prepare(mode) {
      const dir = await dirOf(`pgbackrest-${mode}`);
      const conf = path.join(dir, 'pgbackrest.conf');
      const spool = path.join(dir, 'spool');
      await writeFile(
        conf,
        [
          '[global]',
          `repo1-path=${path.join(dir, 'repo')}`,
          'compress-type=zst',
          'compress-level=1',
          'process-max=2',
          `spool-path=${spool}`,
          `lock-path=${path.join(dir, 'lock')}`,
          `log-path=${path.join(dir, 'log')}`,
          'log-level-console=warn',
          'log-level-file=off',
          `archive-async=${mode === 'async' ? 'y' : 'n'}`,
          '[bench]',
          `pg1-path=${pg.dataDir}`,
          `pg1-port=${pg.port}`,
          `pg1-socket-path=${pg.socketDir}`,
          'pg1-user=postgres',
          '',
        ].join('\n'),
      );
      if (owner) await chown(conf, owner.uid, owner.gid);
      const base = `pgbackrest --config=${shq(conf)} --stanza=bench`;
      const sc = await execa('/bin/sh', ['-c', `${base} stanza-create`], { cwd: pg.dataDir, env: serverEnv, reject: false, ...(owner ?? {}) });
      if (sc.exitCode !== 0) throw new Error(`pgbackrest stanza-create failed: ${sc.stderr}`);
      const okDir = path.join(spool, 'archive', 'bench', 'out');
      return { cmd: `${base} archive-push %p`, acked: async () => new Set((await readdir(okDir).catch(() => [])).filter((n) => n.endsWith('.ok')).map((n) => n.slice(0, -3))) };
    },
  };
  const tools = pgbr ? [lifeboatTool, pgbackrestTool] : [lifeboatTool];
  if (!pgbr) console.log('bench wal: pgbackrest is not installed (apt-get install -y pgbackrest): lifeboat only');

  const sample: Record<string, { sync: number[]; asyncDrainCalls: number[]; asyncAhead: number[]; drainRate: number[]; pusherRate: number[] }> = {};
  for (const t of tools) sample[t.name] = { sync: [], asyncDrainCalls: [], asyncAhead: [], drainRate: [], pusherRate: [] };

  const waitQuiet = async () => new Promise((r) => setTimeout(r, 300));

  // warm-up: page cache, binaries (not measured)
  for (const t of tools) {
    const { cmd } = await t.prepare('sync');
    await requeueAll();
    for (const seg of segs.slice(0, 3)) await must(cmd, seg);
  }

  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? tools : [...tools].reverse();
    for (const t of order) {
      const s = sample[t.name]!;
      // sync: every segment, one call each
      {
        const { cmd } = await t.prepare('sync');
        await requeueAll();
        for (const seg of segs) s.sync.push(await must(cmd, seg));
      }
      await waitQuiet();
      // async drain: calls in order over the whole backlog, nothing running before
      {
        const { cmd } = await t.prepare('async');
        await requeueAll();
        const start = process.hrtime.bigint();
        for (const seg of segs) s.asyncDrainCalls.push(await must(cmd, seg));
        s.drainRate.push(segs.length / (Number(process.hrtime.bigint() - start) / 1e9));
      }
      await new Promise((r) => setTimeout(r, 6000)); // let the pusher of the drain leave (idleSeconds 5)
      // async ahead: the first call starts the background process; it stores the backlog; then each call
      {
        const { cmd, acked } = await t.prepare('async');
        await requeueAll();
        const start = process.hrtime.bigint();
        await must(cmd, segs[0]!);
        const deadline = Date.now() + 300_000;
        const allAcked = async () => {
          const a = await acked();
          return segs.slice(1).every((x) => a.has(x));
        };
        while (!(await allAcked()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        s.pusherRate.push(segs.length / (Number(process.hrtime.bigint() - start) / 1e9));
        for (const seg of segs.slice(1)) s.asyncAhead.push(await must(cmd, seg));
      }
      await new Promise((r) => setTimeout(r, 6000));
    }
    const line = tools
      .map((t) => {
        const s = sample[t.name]!;
        return `${t.name} sync p50 ${median(s.sync.slice(-segs.length)).toFixed(0)} ms, drain ${s.drainRate.at(-1)!.toFixed(1)}/s, ahead p50 ${median(s.asyncAhead.slice(-(segs.length - 1))).toFixed(1)} ms`;
      })
      .join(' | ');
    console.log(`round ${round + 1}: ${line}`);
  }

  // ---- report -------------------------------------------------------------
  const row = (label: string, xs: number[], unit: string, digits = 0) => `${label.padEnd(34)} ${q(xs, 0.5).toFixed(digits).padStart(7)} ${q(xs, 0.9).toFixed(digits).padStart(7)} ${unit}`;
  console.log('');
  console.log(`${'per archive_command call'.padEnd(34)} ${'p50'.padStart(7)} ${'p90'.padStart(7)}`);
  for (const t of tools) {
    const s = sample[t.name]!;
    console.log(row(`${t.name} sync`, s.sync, 'ms'));
    console.log(row(`${t.name} async, while draining`, s.asyncDrainCalls, 'ms'));
    console.log(row(`${t.name} async, pusher ahead`, s.asyncAhead, 'ms', 1));
  }
  console.log('');
  console.log(`${'backlog of ' + segs.length + ' segments'.padEnd(22)} ${'median'.padStart(7)}`);
  for (const t of tools) {
    const s = sample[t.name]!;
    console.log(`${`${t.name} drain (calls in order)`.padEnd(34)} ${median(s.drainRate).toFixed(1).padStart(7)} segments/s`);
    console.log(`${`${t.name} background process alone`.padEnd(34)} ${median(s.pusherRate).toFixed(1).padStart(7)} segments/s`);
  }
  const lb = sample.lifeboat!;
  const targets = {
    syncP50Ms: { value: median(lb.sync), target: 100, met: median(lb.sync) <= 100 },
    asyncAheadP50Ms: { value: median(lb.asyncAhead), target: 15, met: median(lb.asyncAhead) <= 15 },
    drainSegmentsPerSecond: { value: median(lb.drainRate), target: 25, met: median(lb.drainRate) >= 25 },
  };
  console.log('');
  console.log(`targets: sync p50 <= 100 ms: ${targets.syncP50Ms.met ? 'met' : 'NOT met'}; async p50 <= 15 ms: ${targets.asyncAheadP50Ms.met ? 'met' : 'NOT met'}; drain >= 25 segments/s: ${targets.drainSegmentsPerSecond.met ? 'met' : 'NOT met'}`);
  let ratios: Record<string, number> | undefined;
  if (pgbr) {
    const b = sample.pgBackRest!;
    ratios = {
      syncP50: median(lb.sync) / median(b.sync),
      asyncAheadP50: median(lb.asyncAhead) / median(b.asyncAhead),
      drainRate: median(lb.drainRate) / median(b.drainRate),
    };
    console.log(`lifeboat / pgBackRest: sync p50 ${ratios.syncP50!.toFixed(2)}, async p50 ${ratios.asyncAheadP50!.toFixed(2)}, drain rate ${ratios.drainRate!.toFixed(2)} (higher is better)`);
  }
  const nodeBare: number[] = [];
  for (let i = 0; i < 10; i++) {
    const s0 = process.hrtime.bigint();
    await execa(process.execPath, ['-e', '0']);
    nodeBare.push(Number(process.hrtime.bigint() - s0) / 1e6);
  }
  console.log(`for scale: node -e 0 p50 ${median(nodeBare).toFixed(0)} ms on this machine now`);

  Object.assign(results, {
    date: new Date().toISOString(),
    machine: { cores: os.cpus().length, node: process.version },
    segments: segs.length,
    rounds: ROUNDS,
    nodeBareP50Ms: median(nodeBare),
    tools: Object.fromEntries(
      tools.map((t) => {
        const s = sample[t.name]!;
        return [
          t.name,
          {
            syncMs: { p50: q(s.sync, 0.5), p90: q(s.sync, 0.9) },
            asyncDrainCallMs: { p50: q(s.asyncDrainCalls, 0.5), p90: q(s.asyncDrainCalls, 0.9) },
            asyncAheadCallMs: { p50: q(s.asyncAhead, 0.5), p90: q(s.asyncAhead, 0.9) },
            drainSegmentsPerSecond: median(s.drainRate),
            backgroundSegmentsPerSecond: median(s.pusherRate),
          },
        ];
      }),
    ),
    targets,
    ...(ratios ? { ratiosLifeboatOverPgBackRest: ratios } : {}),
  });
  await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
  await writeFile(path.join(root, 'bench', 'results', 'wal.json'), JSON.stringify(results, null, 2) + '\n');
  console.log('results: bench/results/wal.json');
} finally {
  await pg.stop();
  await rm(work, { recursive: true, force: true });
  if (existsSync(work)) console.log(`left ${work}`);
}
