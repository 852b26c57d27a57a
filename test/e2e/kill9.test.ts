import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, largeObjectFingerprint, loadSampleData, SAMPLE_DB, startCluster, tableFingerprints, type PgCluster } from '../harness/pg.js';
import { psqlAt, startArchivingCluster, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { BIN, lifeboat, lifeboatAsServer, serverCanRunLifeboat, toResult, workspace, type CliResult, type Workspace } from '../helpers/cli.js';
import { prng } from '../helpers/prng.js';

// kill -9 at random points of a logical backup, a physical backup, a logical
// restore and a side-by-side `pitr apply`. What a kill leaves must never look
// like a backup (the manifest is written last), and the next run of the same
// operation must succeed: stale locks are cleared, a restore can be run again
// with --clean, a recovery plan resumes where it stopped.
//
// Most kills take the whole tree at once: the CLI (and runuser in front of
// it), the local agent (its own process group), the detached job runner (its
// own session) and whatever they started (pg_dump, zstd, pg_basebackup,
// pg_restore, tar, psql, pg_ctl). Every process whose command line names the
// workspace's config is a root; PostgreSQL servers (also a copy started by
// pitr apply) and everything below them are spared, and so are `wal push` and
// `wal fetch` (archive_command and restore_command name the config too). The
// tree is frozen with SIGSTOP until no new process appears, then SIGKILLed, so
// nothing reacts in between. Every third trial kills only the processes naming
// the config (`pkill -9 -f CONFIG`): their children are orphaned and end when
// their pipes close, perhaps while the next run starts.
//
// Kill delays come from a seeded PRNG (the seed is printed; KILL9_SEED=N
// repeats the placement), within what an uninterrupted run took here (see
// killDelay). A summary of every trial is printed at the end.

const IS_ROOT = process.getuid?.() === 0;
const skip = !existsSync('/proc/self/stat')
  ? 'no /proc to find and kill the processes of a run'
  : !serverCanRunLifeboat
    ? `the postgres OS user cannot read ${BIN} (the archiving cluster runs lifeboat as its archive_command)`
    : undefined;
const canRun = !skip;
if (skip) {
  console.warn(`skipping the kill -9 tests: ${skip}`);
  if (process.env.CI) console.warn(`::warning::kill -9 tests skipped: ${skip}`);
}

const SEED = process.env.KILL9_SEED ? Number(process.env.KILL9_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
console.log(`kill9: seed ${SEED} (repeat with KILL9_SEED=${SEED})`);

const TRIALS = { logicalBackup: 6, physicalBackup: 5, restore: 5, pitrApply: 4 };

/** One stream per test, so a test's delays do not depend on the ones before it. */
function rngFor(name: string): () => number {
  let h = SEED;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return prng(h);
}
const delayIn = (rnd: () => number, min: number, max: number) => Math.round(min + rnd() * Math.max(0, max - min));
/**
 * Where trial `i` kills, from an uninterrupted run that took `ms` and whose job
 * started `jobAt` ms after the spawn: the first trial of a kind kills the CLI
 * and agent before or while they start the job (100 ms .. jobAt), the others
 * while the job runs (jobAt .. 95% of the fastest uninterrupted run seen; with
 * the spread of timings on a busy machine that still catches the manifest being
 * written, and now and then a run that has just finished).
 */
const killDelay = (rnd: () => number, i: number, cal: { ms: number; jobAt: number }) =>
  i === 1 ? delayIn(rnd, 100, Math.max(150, cal.jobAt)) : delayIn(rnd, cal.jobAt, Math.max(cal.jobAt, cal.ms * 0.95));
/** Every third trial kills only the processes naming the config; the others the whole tree. */
const modeOf = (i: number): KillMode => (i % 3 === 0 ? 'named' : 'tree');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// processes

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  cmdline: string;
}

function processTable(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.set(Number(name), { pid: Number(name), ppid: Number(ppid), comm: stat.slice(stat.indexOf('(') + 1, close), state: state!, cmdline });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const isPostgres = (p: Proc) => p.comm === 'postgres' || p.comm === 'postmaster';
const isWalHook = (p: Proc) => / wal (push|fetch)( |$)/.test(p.cmdline) || p.cmdline.includes('lifeboat-archive');

function underPostgres(pid: number, table: Map<number, Proc>): boolean {
  for (let p = table.get(pid), hops = 0; p && hops < 64; p = table.get(p.ppid), hops++) if (isPostgres(p)) return true;
  return false;
}

/**
 * `tree`: every process of a lifeboat run using `config` and everything they
 * started (an OOM kill of the cgroup, a container stopped); `named`: only the
 * processes naming the config (`pkill -9 -f CONFIG`), so pg_dump, pg_restore,
 * tar ... are orphaned and end on their own (their pipes close) while the next
 * run may already be starting.
 */
type KillMode = 'tree' | 'named';

/** The processes to kill (see {@link KillMode}); never PostgreSQL, what runs below it, or WAL hooks. */
function victims(config: string, table: Map<number, Proc>, mode: KillMode): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of table.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const spared = (p: Proc) => p.pid === process.pid || p.state === 'Z' || isPostgres(p) || isWalHook(p);
  const out = new Map<number, Proc>();
  const walk = (p: Proc) => {
    if (spared(p) || out.has(p.pid)) return;
    out.set(p.pid, p);
    if (mode === 'tree') for (const c of children.get(p.pid) ?? []) walk(c);
  };
  for (const p of table.values()) if (p.cmdline.includes(config) && !underPostgres(p.pid, table)) walk(p);
  return [...out.values()];
}

/** SIGSTOP the victims until no new one appears, then SIGKILL all of them; wait until they are gone. */
async function killTree(config: string, mode: KillMode): Promise<{ killed: string[]; orphaned: string[] }> {
  const stopped = new Map<number, Proc>();
  const tree = new Map<number, Proc>();
  for (let round = 0; round < 50; round++) {
    const table = processTable();
    for (const p of victims(config, table, 'tree')) tree.set(p.pid, p);
    const fresh = victims(config, table, mode).filter((p) => !stopped.has(p.pid));
    if (!fresh.length) break;
    for (const p of fresh) {
      try {
        process.kill(p.pid, 'SIGSTOP');
        stopped.set(p.pid, p);
      } catch {
        // already gone
      }
    }
  }
  for (const pid of stopped.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const deadline = Date.now() + 10_000;
  for (;;) {
    const table = processTable();
    const left = [...stopped.keys()].filter((pid) => table.get(pid) && table.get(pid)!.state !== 'Z');
    if (!left.length) break;
    if (Date.now() > deadline) throw new Error(`still alive after SIGKILL: ${left.join(' ')}`);
    await sleep(20);
  }
  const now = processTable();
  const orphaned = mode === 'named' ? [...tree.values()].filter((p) => !stopped.has(p.pid) && now.get(p.pid)?.comm === p.comm) : [];
  return { killed: [...stopped.values()].map((p) => p.comm), orphaned: orphaned.map((p) => p.comm) };
}

// ---------------------------------------------------------------------------
// workspaces and the CLI

interface Site {
  name: string;
  pg: PgCluster;
  ws: Workspace;
  /** Run lifeboat as the server's OS user (the archiving cluster's workspace is its). */
  asServer: boolean;
}

const run = (s: Site, args: string[]): Promise<CliResult> => (s.asServer ? lifeboatAsServer(s.ws.config, args) : lifeboat(args, { config: s.ws.config }));


interface KillOutcome {
  delayMs: number;
  mode: KillMode;
  /** The run ended on its own before the kill was due. */
  finishedFirst: boolean;
  killed: string[];
  /** What a `named` kill left running (its children, orphaned). */
  orphaned: string[];
  result: CliResult & { signal?: string };
}

/** Start `lifeboat ARGS` (its own process group), SIGKILL its whole tree after `delayMs`. */
async function runAndKill(s: Site, args: string[], delayMs: number, mode: KillMode): Promise<KillOutcome> {
  const argv = [BIN, '--config', s.ws.config, ...args];
  const [cmd, pre] = s.asServer && IS_ROOT ? ['runuser', ['-u', 'postgres', '--', process.execPath]] : [process.execPath, []];
  const child = execa(cmd, [...pre, ...argv], { detached: true, reject: false, stdin: 'ignore', env: { NO_COLOR: '1', LIFEBOAT_CONFIG: '' }, timeout: 300_000 });
  let ended = false;
  const done = child.then((r) => {
    ended = true;
    return r;
  });
  await Promise.race([sleep(delayMs), done]);
  const finishedFirst = ended;
  const { killed, orphaned } = await killTree(s.ws.config, mode);
  const result = toResult(await done);
  return { delayMs, mode, finishedFirst, killed, orphaned, result };
}

const lockFile = (s: Site) => path.join(s.ws.state, 'locks', 'pg.lock');

async function listed(s: Site): Promise<{ ids: string[]; invalid: unknown[] }> {
  const l = await run(s, ['--json', 'list', '-c', 'pg']);
  expect(l.code, `list: ${l.stderr}`).toBe(0);
  return { ids: l.json.backups.map((b: any) => b.id), invalid: l.json.invalid };
}

/** Backup directories in the repository: complete ones (manifest.json) and leftovers. */
async function backupDirs(s: Site): Promise<{ withManifest: string[]; leftovers: string[] }> {
  const root = path.join(s.ws.repo, 'pg', 'backup');
  const withManifest: string[] = [];
  const leftovers: string[] = [];
  for (const d of await readdir(root).catch(() => [] as string[])) {
    (existsSync(path.join(root, d, 'manifest.json')) ? withManifest : leftovers).push(d);
  }
  return { withManifest: withManifest.sort(), leftovers: leftovers.sort() };
}

/**
 * What a kill may leave: the backups listed before, plus at most `maxNew`
 * complete new ones that verify (checksum level); no damaged manifest; every
 * directory holding a manifest.json is a listed backup; no job still running.
 */
async function checkAfterKill(s: Site, before: Set<string>, maxNew: number, what: string, since: string): Promise<{ fresh: string[]; leftovers: number; staleLock: boolean; jobStatus: string }> {
  const jobs = await run(s, ['--json', 'jobs', 'list']);
  expect(jobs.code, jobs.stderr).toBe(0);
  const procState = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').trim();
    } catch {
      return 'gone';
    }
  };
  expect(jobs.json.running, `${what}: jobs still running after the kill; runners: ${jobs.json.running.map((j: any) => procState(j.runner?.pid)).join(' | ')}`).toEqual([]);
  // the killed run's job (none when the kill came before its runner started): crashed, or succeeded when it had finished
  const mine = jobs.json.recent.filter((j: any) => j.startedAt >= since);
  for (const j of mine) expect(['crashed', 'succeeded'], `${what}: job ${j.id} is ${j.status}`).toContain(j.status);
  const { ids, invalid } = await listed(s);
  expect(invalid, `${what}: damaged manifests listed`).toEqual([]);
  for (const id of before) expect(ids, `${what}: backup ${id} vanished`).toContain(id);
  const fresh = ids.filter((id) => !before.has(id));
  expect(fresh.length, `${what}: new backups listed: ${fresh.join(', ')}`).toBeLessThanOrEqual(maxNew);
  for (const id of fresh) {
    const v = await run(s, ['--json', 'verify', id]);
    expect(v.code, `${what}: new backup ${id} listed after the kill fails verification: ${v.stderr}`).toBe(0);
  }
  const dirs = await backupDirs(s);
  expect(dirs.withManifest, `${what}: a backup directory with a manifest.json that is not listed`).toEqual([...ids].sort());
  return { fresh, leftovers: dirs.leftovers.length, staleLock: existsSync(lockFile(s)), jobStatus: mine.map((j: any) => `${j.type} ${j.status}`).join(', ') || 'none started' };
}

// ---------------------------------------------------------------------------
// setup

let plain: Site; // logical backup and restore: no archiving, lifeboat runs as the caller
let arch: Site; // physical backup and PITR: archives through lifeboat, which runs as postgres
let firstLogical: string | undefined; // an uninterrupted logical backup, restored by the restore trials
const report: string[] = [];
const recovered: string[] = [];
const note = (line: string) => {
  report.push(line);
  console.log(`kill9: ${line}`);
};

beforeAll(async () => {
  if (!canRun) return;
  const [p, a] = await Promise.all([
    (async () => {
      const pg = await startCluster({ name: 'kill9-logical' });
      await pg.createDatabase(SAMPLE_DB);
      await loadSampleData(pg, SAMPLE_DB, { pgbenchScale: 5 });
      const ws = await workspace(pg, { database: SAMPLE_DB });
      return { name: 'logical', pg, ws, asServer: false };
    })(),
    (async () => {
      const { pg, ws } = await startArchivingCluster('kill9-archiving');
      await execa('pgbench', ['-i', '-s', '5', '-q', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', 'postgres']);
      await pg.psql('CREATE TABLE markers (name text PRIMARY KEY)');
      return { name: 'archiving', pg, ws, asServer: true };
    })(),
  ]);
  plain = p;
  arch = a;
}, 300_000);

afterAll(async () => {
  for (const d of recovered) await stopDataDir(d);
  await plain?.pg.stop();
  await arch?.pg.stop();
  await plain?.ws.cleanup();
  await arch?.ws.cleanup();
  if (report.length) console.log(`kill9 summary (seed ${SEED}):\n  ${report.join('\n  ')}`);
});

/** An uninterrupted run, timed (and when its job started): it sets the range kills are placed in. */
async function timed(s: Site, args: string[]): Promise<{ r: CliResult; ms: number; jobAt: number }> {
  const t0 = Date.now();
  const r = await run(s, args);
  const ms = Date.now() - t0;
  const jobs = await run(s, ['--json', 'jobs', 'list']);
  const job = jobs.json?.recent?.find((j: any) => Date.parse(j.startedAt) >= t0);
  return { r, ms, jobAt: job ? Date.parse(job.startedAt) - t0 : ms / 3 };
}

/** The next run after a kill: must succeed, and must not be blocked by the killed run's lock. */
async function nextRun(s: Site, args: string[], what: string, o: { locks: boolean; cal?: { ms: number } }): Promise<CliResult & { ms?: number }> {
  const t0 = Date.now();
  const r = await run(s, args);
  // the first run here is often the slowest (cold caches): kills aim at the fastest run seen
  if (o.cal && r.code === 0) o.cal.ms = Math.min(o.cal.ms, Date.now() - t0);
  (r as { ms?: number }).ms = Date.now() - t0;
  expect(r.code, `${what}: the next run failed (seed ${SEED}): ${r.stderr}`).toBe(0);
  if (o.locks) expect(existsSync(lockFile(s)), `${what}: the lock is still there after the next run`).toBe(false);
  return r;
}

// ---------------------------------------------------------------------------

describe.skipIf(!canRun)('kill -9 at random points', () => {
  test(`logical backup: ${TRIALS.logicalBackup} kills`, async () => {
    const rnd = rngFor('logical backup');
    const args = ['--json', 'backup', '-c', 'pg'];
    const cal = await timed(plain, args);
    expect(cal.r.code, cal.r.stderr).toBe(0);
    firstLogical = cal.r.json.backup.id;
    note(`logical backup: an uninterrupted run takes ${cal.ms} ms, its job starts at ${cal.jobAt} ms (${cal.r.json.backup.rawSize} bytes raw)`);
    for (let i = 1; i <= TRIALS.logicalBackup; i++) {
      const what = `logical backup #${i} (seed ${SEED})`;
      const before = new Set((await listed(plain)).ids);
      const since = new Date().toISOString();
      const k = await runAndKill(plain, args, killDelay(rnd, i, cal), modeOf(i));
      const after = await checkAfterKill(plain, before, 1, what, since);
      const next = await nextRun(plain, args, what, { locks: true, cal });
      const v = await run(plain, ['verify', next.json.backup.id]);
      expect(v.code, `${what}: the next backup does not verify: ${v.stderr}`).toBe(0);
      note(`${what}: ${k.mode} kill at ${k.delayMs} ms${k.finishedFirst ? ' (had finished)' : ''}, killed [${k.killed.join(' ')}]${k.orphaned.length ? ` orphaned [${k.orphaned.join(' ')}]` : ''}; listed new ${after.fresh.length}, leftover dirs ${after.leftovers}, stale lock ${after.staleLock}, job ${after.jobStatus}; next run ok in ${next.ms} ms`);
    }
  }, 300_000);

  test('a lock whose holder was killed but not yet reaped (a zombie, as a killed runner is until PID 1 reaps it) does not block the next backup', async () => {
    // sh forks `sleep 0` and becomes `sleep 30`, which never reaps it: a zombie for 30 s
    const holder = execa('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { reject: false });
    try {
      const zombie = await new Promise<number>((resolve) => holder.stdout!.once('data', (d) => resolve(Number(String(d).trim()))));
      await expect.poll(() => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.[0]).toBe('Z');
      await mkdir(path.dirname(lockFile(plain)), { recursive: true });
      await writeFile(lockFile(plain), JSON.stringify({ pid: zombie, host: os.hostname(), job: '20260101000000-000000', startedAt: new Date().toISOString() }));
      const r = await run(plain, ['backup', '-c', 'pg']);
      expect(r.code, `a zombie's lock blocked the backup: ${r.stderr}`).toBe(0);
      expect(r.stderr).toMatch(/cleared a stale lock of cluster pg left by pid \d+/);
      expect(existsSync(lockFile(plain))).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await holder;
    }
  });

  test(`physical backup: ${TRIALS.physicalBackup} kills`, async () => {
    const rnd = rngFor('physical backup');
    const args = ['--json', 'backup', '-c', 'pg', '--physical'];
    const cal = await timed(arch, args);
    expect(cal.r.code, cal.r.stderr).toBe(0);
    note(`physical backup: an uninterrupted run takes ${cal.ms} ms, its job starts at ${cal.jobAt} ms (${cal.r.json.backup.rawSize} bytes raw)`);
    for (let i = 1; i <= TRIALS.physicalBackup; i++) {
      const what = `physical backup #${i} (seed ${SEED})`;
      const before = new Set((await listed(arch)).ids);
      const since = new Date().toISOString();
      const k = await runAndKill(arch, args, killDelay(rnd, i, cal), modeOf(i));
      const after = await checkAfterKill(arch, before, 1, what, since);
      const next = await nextRun(arch, args, what, { locks: true, cal });
      const v = await run(arch, ['verify', next.json.backup.id]);
      expect(v.code, `${what}: the next backup does not verify: ${v.stderr}`).toBe(0);
      note(`${what}: ${k.mode} kill at ${k.delayMs} ms${k.finishedFirst ? ' (had finished)' : ''}, killed [${k.killed.join(' ')}]${k.orphaned.length ? ` orphaned [${k.orphaned.join(' ')}]` : ''}; listed new ${after.fresh.length}, leftover dirs ${after.leftovers}, stale lock ${after.staleLock}, job ${after.jobStatus}; next run ok in ${next.ms} ms`);
    }
    // the server is fine: no backup left running on it, archiving goes on
    await expect.poll(() => arch.pg.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'"), { timeout: 20_000 }).toBe('0');
    expect(await switchAndWaitArchived(arch.pg.psql)).toBe(true);
  }, 300_000);

  test(`logical restore: ${TRIALS.restore} kills, each followed by a restore that matches the original`, async () => {
    const rnd = rngFor('restore');
    let id = firstLogical;
    if (!id) {
      const b = await run(plain, ['--json', 'backup', '-c', 'pg']);
      expect(b.code, b.stderr).toBe(0);
      id = b.json.backup.id as string;
    }
    const target = 'kill9_restored';
    const original = await tableFingerprints(plain.pg, SAMPLE_DB);
    const originalLo = await largeObjectFingerprint(plain.pg, SAMPLE_DB);
    const accounts = `SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY aid)) FROM pgbench_accounts t`;
    const originalAccounts = await plain.pg.psql(accounts, SAMPLE_DB);
    const same = async (what: string) => {
      expect(await plain.pg.psql(accounts, target), `${what}: pgbench_accounts`).toBe(originalAccounts);
      expect(await tableFingerprints(plain.pg, target), `${what}: table fingerprints`).toEqual(original);
      expect(await largeObjectFingerprint(plain.pg, target), `${what}: large objects`).toEqual(originalLo);
    };
    // --clean: a killed restore may leave the target half made; the next run replaces it
    const argsFor = (i: number) => ['--json', 'restore', id, '--to-database', target, '--clean', '--yes', ...(i % 2 ? [] : ['--no-safety-backup'])];
    const cal = await timed(plain, argsFor(0));
    expect(cal.r.code, cal.r.stderr).toBe(0);
    await same('uninterrupted restore');
    const withSafety = await timed(plain, argsFor(1)); // the target exists now: a safety backup first
    expect(withSafety.r.code, withSafety.r.stderr).toBe(0);
    note(`restore: an uninterrupted run takes ${cal.ms} ms (job at ${cal.jobAt} ms), ${withSafety.ms} ms with a safety backup of the existing target (job at ${withSafety.jobAt} ms)`);
    for (let i = 1; i <= TRIALS.restore; i++) {
      const what = `restore #${i}${i % 2 ? ' (safety backup)' : ''} (seed ${SEED})`;
      const before = new Set((await listed(plain)).ids);
      const since = new Date().toISOString();
      const k = await runAndKill(plain, argsFor(i), killDelay(rnd, i, i % 2 ? withSafety : cal), modeOf(i));
      // a killed restore lists at most its complete safety backup
      const after = await checkAfterKill(plain, before, i % 2 ? 1 : 0, what, since);
      const exists = (await plain.pg.psql(`SELECT count(*) FROM pg_database WHERE datname = '${target}'`)) === '1';
      // a safety backup of a half-restored target is quicker: only runs without one tell how fast a restore is
      const next = await nextRun(plain, argsFor(i), what, { locks: true, ...(i % 2 ? {} : { cal }) });
      await same(what);
      note(`${what}: ${k.mode} kill at ${k.delayMs} ms${k.finishedFirst ? ' (had finished)' : ''}, killed [${k.killed.join(' ')}]${k.orphaned.length ? ` orphaned [${k.orphaned.join(' ')}]` : ''}; target ${exists ? 'existed' : 'absent'} after the kill, listed new ${after.fresh.length}, stale lock ${after.staleLock}, job ${after.jobStatus}; next run ok in ${next.ms} ms, data identical`);
    }
  }, 300_000);

  test(`pitr apply side by side: ${TRIALS.pitrApply} kills, each plan resumed to the expected rows`, async () => {
    const rnd = rngFor('pitr apply');
    const { pg } = arch;
    await pg.psql("INSERT INTO markers VALUES ('before')");
    await pg.psql("SELECT pg_create_restore_point('kill9')");
    await pg.psql("INSERT INTO markers VALUES ('after')");
    expect(await switchAndWaitArchived(pg.psql)).toBe(true);
    const accounts = `SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY aid)) FROM pgbench_accounts t`;
    const expectedAccounts = await pg.psql(accounts);
    const backupsBefore = new Set((await listed(arch)).ids);

    const plan = async (n: number) => {
      const port = await freePort();
      const dir = path.join(arch.ws.dir, `pitr-${n}`);
      recovered.push(dir);
      const p = await run(arch, ['--json', 'pitr', 'plan', '-c', 'pg', '--name', 'kill9', '--to-datadir', dir, '--port', String(port)]);
      expect(p.code, p.stderr).toBe(0);
      return { id: p.json.plan.id as string, port, dir };
    };
    const check = async (p: { id: string; port: number; dir: string }, what: string) => {
      expect(await psqlAt(p.port, 'SELECT string_agg(name, \',\' ORDER BY name) FROM markers'), what).toBe('before');
      expect(await psqlAt(p.port, accounts), what).toBe(expectedAccounts);
      expect(await psqlAt(p.port, 'SELECT pg_is_in_recovery()'), what).toBe('f');
      await stopDataDir(p.dir);
      await rm(p.dir, { recursive: true, force: true });
    };

    const p0 = await plan(0);
    const cal = await timed(arch, ['--json', 'pitr', 'apply', p0.id, '--yes']);
    expect(cal.r.code, cal.r.stderr).toBe(0);
    await check(p0, 'uninterrupted pitr apply');
    note(`pitr apply: an uninterrupted run takes ${cal.ms} ms, its job starts at ${cal.jobAt} ms`);
    for (let i = 1; i <= TRIALS.pitrApply; i++) {
      const what = `pitr apply #${i} (seed ${SEED})`;
      const p = await plan(i);
      const since = new Date().toISOString();
      const k = await runAndKill(arch, ['--json', 'pitr', 'apply', p.id, '--yes'], killDelay(rnd, i, cal), modeOf(i));
      const shown = await run(arch, ['--json', 'pitr', 'show', p.id]);
      expect(shown.code, shown.stderr).toBe(0);
      const steps = shown.json.plan.steps.map((s: any) => `${s.name}:${s.status}`).join(' ');
      const after = await checkAfterKill(arch, backupsBefore, 0, what, since);
      const r = await nextRun(arch, ['--json', 'pitr', 'apply', p.id, '--yes'], what, { locks: false });
      expect(r.json.plan.steps.every((s: any) => s.status === 'done'), `${what}: ${JSON.stringify(r.json.plan.steps)}`).toBe(true);
      await check(p, what);
      note(`${what}: ${k.mode} kill at ${k.delayMs} ms${k.finishedFirst ? ' (had finished)' : ''}, killed [${k.killed.join(' ')}]${k.orphaned.length ? ` orphaned [${k.orphaned.join(' ')}]` : ''}; steps then: ${steps}; job ${after.jobStatus}; resumed ok, rows as expected`);
    }
  }, 300_000);

  test('after all that: repo gc removes what the kills left and nothing a manifest references', async () => {
    for (const s of [plain, arch]) {
      const referenced = new Set<string>();
      for (const id of (await backupDirs(s)).withManifest) {
        const m = JSON.parse(await readFile(path.join(s.ws.repo, 'pg', 'backup', id, 'manifest.json'), 'utf8'));
        for (const o of m.objects) referenced.add(o.key);
      }
      const gc = await run(s, ['--json', 'repo', 'gc', '-c', 'pg']);
      expect(gc.code, gc.stderr).toBe(0);
      const removed: string[] = gc.json.removed.map((r: any) => r.key);
      expect(removed.filter((k) => referenced.has(k)), `${s.name}: gc removed referenced objects`).toEqual([]);
      for (const k of referenced) expect(existsSync(path.join(s.ws.repo, k)), `${s.name}: ${k} is gone`).toBe(true);
      const dirs = await backupDirs(s);
      const leftFiles = (await Promise.all(dirs.leftovers.map((d) => readdir(path.join(s.ws.repo, 'pg', 'backup', d), { recursive: true })))).flat();
      expect(leftFiles, `${s.name}: files left under backup directories without a manifest after gc`).toEqual([]);
      const tmp = (await readdir(path.join(s.ws.repo, 'pg', 'backup'), { recursive: true })).filter((f) => path.basename(String(f)).startsWith('.lifeboat-tmp-'));
      expect(tmp, `${s.name}: unfinished uploads after gc`).toEqual([]);
      const { ids, invalid } = await listed(s);
      expect(invalid).toEqual([]);
      expect([...ids].sort()).toEqual(dirs.withManifest);
      // every backup was verified when it appeared; after gc, every object they reference is still there (above), and the newest reads back whole
      const newest = [...ids].sort().at(-1)!;
      const v = await run(s, ['verify', newest]);
      expect(v.code, `${s.name}: ${newest} after gc: ${v.stderr}`).toBe(0);
      const jobsDir = path.join(s.ws.state, 'jobs');
      const specs = (await readdir(jobsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.spec.json'));
      const unrecorded = specs.filter((f) => !existsSync(path.join(jobsDir, f.replace('.spec.json', '.json'))));
      if (unrecorded.length) note(`${s.name}: ${unrecorded.length} job spec(s) of runners killed before they recorded themselves stay in ${jobsDir} (never listed, never pruned)`);
      note(`${s.name}: gc removed ${removed.length} object(s) (${dirs.leftovers.length} emptied backup directories stay); ${ids.length} backups listed, their ${referenced.size} objects all there`);
    }
  }, 300_000);
});
