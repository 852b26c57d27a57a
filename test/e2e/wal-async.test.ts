/**
 * Async WAL archiving: bin/lifeboat-archive as archive_command, a background
 * pusher storing ready segments ahead (src/wal/pusher.ts), the spool's
 * acknowledgements, its bound (walArchive.maxQueue) and the pusher's lock.
 *
 * Real clusters archive through the script; content is checked by fetching
 * every segment back and comparing sha256 with the server's own pg_wal copy.
 * The last group drives the script and the pusher on a pg_wal-like directory
 * (no server) where a test needs a file PostgreSQL would never hand over: a
 * 256 MiB segment to kill the pusher in the middle of, or a conflicting one.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type PgCluster } from '../harness/pg.js';
import { BIN, giveToServer, lifeboat, lifeboatAsServer, ROOT, serverCanRunLifeboat, unwrap, workspace, type Workspace } from '../helpers/cli.js';

const IS_ROOT = process.getuid?.() === 0;
const SCRIPT = path.join(ROOT, 'bin', 'lifeboat-archive');
const canRun = serverCanRunLifeboat && (!IS_ROOT || (await execa('runuser', ['-u', 'postgres', '--', 'test', '-x', SCRIPT], { reject: false })).exitCode === 0);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Add a walArchive section to the workspace's cluster "pg". */
async function setWalArchive(ws: Workspace, walArchive: Record<string, unknown>): Promise<void> {
  const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
  cfg.clusters.pg.walArchive = walArchive;
  await writeFile(ws.config, JSON.stringify(cfg, null, 2));
}

/** Keys of WAL objects in the repository (visible ones: no temporary files). */
async function walKeys(repo: string): Promise<string[]> {
  const dir = path.join(repo, 'pg', 'wal');
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile() && !e.name.startsWith('.lifeboat-tmp-')) out.push(e.name);
  }
  return out.sort();
}

/** Insert some rows and switch: returns the name of each finished segment. */
async function workload(pg: PgCluster, rounds: number): Promise<string[]> {
  const segs: string[] = [];
  await pg.psql('CREATE TABLE IF NOT EXISTS t (id int, payload text)');
  for (let i = 0; i < rounds; i++) {
    await pg.psql(`INSERT INTO t SELECT g, md5(g::text) || md5((g * ${i + 7})::text) FROM generate_series(1, 30000) g`);
    segs.push(await pg.psql('SELECT pg_walfile_name(pg_switch_wal())'));
  }
  return segs;
}

async function archivedUpTo(pg: PgCluster, seg: string): Promise<boolean> {
  return (await pg.psql(`SELECT coalesce(last_archived_wal >= '${seg}', false) FROM pg_stat_archiver`)) === 't';
}

/** Every segment fetched back through lifeboat equals the server's pg_wal copy. */
async function expectArchivedIntact(pg: PgCluster, ws: Workspace, segs: string[]): Promise<void> {
  for (const seg of segs) {
    const original = await readFile(path.join(pg.dataDir, 'pg_wal', seg));
    const dest = path.join(ws.dir, `fetched-${seg}`);
    const f = await lifeboat(['wal', 'fetch', '--cluster', 'pg', seg, dest], { config: ws.config });
    expect(f.code, `${seg}: ${f.stderr}`).toBe(0);
    expect(sha(await readFile(dest)), seg).toBe(sha(original));
    await rm(dest);
  }
}

/** The async archive_command as lifeboat setup-archiving installs it (`force`: although check says it would fail). */
async function setupAsync(ws: Workspace, pg: PgCluster, o: { force?: boolean } = {}): Promise<string> {
  const r = await lifeboatAsServer(ws.config, ['--json', 'setup-archiving', '-c', 'pg', '--yes', ...(o.force ? ['--force'] : [])]);
  expect(r.code, r.stderr).toBe(0);
  const cmd = await pg.psql('SHOW archive_command');
  expect(cmd).toContain('lifeboat-archive');
  expect(cmd).toContain(`--spool '${path.join(ws.dir, 'spool')}'`);
  return cmd;
}

const serverLog = (pg: PgCluster) => readFile(pg.logFile, 'utf8');

/** archive_command '' (archive_mode on): PostgreSQL keeps ready segments until a command is set. */
async function pauseArchiving(pg: PgCluster): Promise<void> {
  await pg.psql(`ALTER SYSTEM SET archive_command = ''`);
  await pg.psql('SELECT pg_reload_conf()');
}

describe.skipIf(!canRun)('async archiving with a real cluster', () => {
  let pg: PgCluster;
  let ws: Workspace;
  let spool: string;

  beforeAll(async () => {
    // wal_keep_size: the server keeps archived segments, so they can be compared
    pg = await startCluster({ name: 'walasync', settings: { archive_mode: 'on', archive_timeout: '0', wal_level: 'replica', wal_keep_size: '1GB' } });
    ws = await workspace(pg);
    spool = path.join(ws.dir, 'spool');
    await setWalArchive(ws, { async: true, spoolDir: 'spool', idleSeconds: 3, parallel: 2 });
    await giveToServer(ws);
  });

  afterAll(async () => {
    await pg?.stop();
    await ws?.cleanup();
  });

  test('setup-archiving installs the async command; a backlog and a workload archive intact, without a failure', async () => {
    // a backlog first (no archive_command yet): the first call starts the pusher for it
    const backlog = await workload(pg, 6);
    await setupAsync(ws, pg);
    const more = await workload(pg, 4);
    const segs = [...backlog, ...more];
    await expect.poll(() => archivedUpTo(pg, segs.at(-1)!), { timeout: 60_000, interval: 200 }).toBe(true);
    const check = await lifeboatAsServer(ws.config, ['--json', 'check', '-c', 'pg', '--probe-seconds', '30']);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.json.findings.find((f: any) => f.name === 'archive_command')).toMatchObject({ ok: true, detail: expect.stringContaining('(async)') });
    expect(await pg.psql('SELECT failed_count FROM pg_stat_archiver')).toBe('0');
    await expectArchivedIntact(pg, ws, segs);
    const log = await readFile(path.join(spool, 'pg', 'pusher.log'), 'utf8');
    expect(log).toMatch(/pusher started/);
    for (const seg of segs) expect(log).toMatch(new RegExp(`(stored|already archived) ${seg}`));
    // PostgreSQL took every acknowledgement (or the pusher swept the ones it no longer needs)
    await expect.poll(async () => (await readdir(path.join(spool, 'pg', 'ok'))).filter((n) => !n.startsWith('.')), { timeout: 15_000 }).toEqual([]);
  });

  test('the pusher leaves when idle; then a lone segment is stored at once, without starting one', async () => {
    const pidFile = path.join(spool, 'pg', 'pusher.pid');
    await expect.poll(() => existsSync(pidFile), { timeout: 20_000, interval: 200 }).toBe(false);
    expect(await readFile(path.join(spool, 'pg', 'pusher.log'), 'utf8')).toMatch(/pusher leaving \(idle/);

    const logFile = path.join(spool, 'pg', 'pusher.log');
    const logBefore = (await readFile(logFile, 'utf8')).length;
    const [seg] = await workload(pg, 1);
    await expect.poll(() => archivedUpTo(pg, seg!), { timeout: 60_000, interval: 200 }).toBe(true);
    const since = (await readFile(logFile, 'utf8')).slice(logBefore);
    expect(since).toMatch(new RegExp(`stored ${seg} directly`));
    expect(since).not.toMatch(/pusher started/);
    expect(await pg.psql('SELECT failed_count FROM pg_stat_archiver')).toBe('0');
    await expectArchivedIntact(pg, ws, [seg!]);
  });

  test('a failing repository: the pusher\'s error reaches the server log, archive_command exits 1; archiving recovers once fixed', async () => {
    const before = Number(await pg.psql('SELECT failed_count FROM pg_stat_archiver'));
    await pauseArchiving(pg);
    const segs = await workload(pg, 3); // a backlog, so a pusher works on it
    await execa('chmod', ['-R', 'a-w', ws.repo]);
    try {
      // setup-archiving sees the repository the server may not write, and applies only with --force
      const refused = await lifeboatAsServer(ws.config, ['setup-archiving', '-c', 'pg', '--yes']);
      expect(refused.code).toBe(1);
      expect(unwrap(refused.stderr)).toMatch(/FAIL pg: repository access: postgres .*may not write WAL into .*\(postgres may not write in it\)/);
      await setupAsync(ws, pg, { force: true });
      await expect.poll(async () => Number(await pg.psql('SELECT failed_count FROM pg_stat_archiver')), { timeout: 60_000, interval: 250 }).toBeGreaterThan(before + 1);
      expect(await pg.psql('SELECT last_failed_wal FROM pg_stat_archiver')).toBe(segs[0]);
      await expect.poll(async () => /lifeboat: wal push: .*(permission denied|EACCES)/i.test(await serverLog(pg)), { timeout: 30_000 }).toBe(true);
      expect(await serverLog(pg)).toMatch(/archive command failed with exit code 1/);
      // the pusher failed too (not only the call's own attempt): that is what error/<segment> carries
      await expect
        .poll(async () => (await readFile(path.join(spool, 'pg', 'pusher.log'), 'utf8')).split('\n').some((l) => l.includes(`FAILED ${segs[0]}: `) && /permission denied|EACCES/i.test(l) && !l.endsWith('(directly)')), { timeout: 30_000 })
        .toBe(true);
      expect(await archivedUpTo(pg, segs[0]!)).toBe(false);
      expect((await walKeys(ws.repo)).filter((k) => segs.some((seg) => k.startsWith(seg)))).toEqual([]);
    } finally {
      await execa('chmod', ['-R', 'u+w', ws.repo]);
    }
    segs.push(...(await workload(pg, 1))); // new WAL wakes the archiver (it sleeps after three failures)
    await expect.poll(() => archivedUpTo(pg, segs.at(-1)!), { timeout: 90_000, interval: 250 }).toBe(true);
    await expectArchivedIntact(pg, ws, segs);
  });
});

describe.skipIf(!canRun)('the spool bound (walArchive.maxQueue)', () => {
  let pg: PgCluster;
  let ws: Workspace;

  beforeAll(async () => {
    // archive_mode on without a command: PostgreSQL keeps the ready segments
    pg = await startCluster({ name: 'walqueue', settings: { archive_mode: 'on', archive_timeout: '0', wal_level: 'replica', wal_keep_size: '1GB' } });
    ws = await workspace(pg);
    await setWalArchive(ws, { async: true, spoolDir: 'spool', idleSeconds: 3, maxQueue: 2 });
    await giveToServer(ws);
  });

  afterAll(async () => {
    await pg?.stop();
    await ws?.cleanup();
  });

  test('more ready segments than maxQueue: the call fails naming the setting, nothing is dropped, all arrive', async () => {
    const segs = await workload(pg, 5);
    const ready = (await readdir(path.join(pg.dataDir, 'pg_wal', 'archive_status'))).filter((n) => n.endsWith('.ready'));
    expect(ready.length).toBeGreaterThanOrEqual(5);
    const oldest = ready.map((n) => n.slice(0, -6)).sort()[0]!;

    // archive_command exactly as PostgreSQL runs it: its OS user, in the data directory
    const args = ['--node', process.execPath, '--config', ws.config, '--cluster', 'pg', '--spool', path.join(ws.dir, 'spool'), `pg_wal/${oldest}`];
    const argv = IS_ROOT ? ['runuser', '-u', 'postgres', '--', SCRIPT, ...args] : [SCRIPT, ...args];
    const r = await execa(argv[0]!, argv.slice(1), { cwd: pg.dataDir, reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`lifeboat: wal push: \\d+ WAL segments wait to be archived, more than walArchive.maxQueue \\(2\\) of cluster pg allows; none was dropped`));
    expect(r.stderr).toMatch(/hint: .*raise clusters\.pg\.walArchive\.maxQueue/);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);

    // the pusher keeps draining meanwhile; PostgreSQL then collects every acknowledgement
    await setupAsync(ws, pg);
    await expect.poll(() => archivedUpTo(pg, segs.at(-1)!), { timeout: 90_000, interval: 250 }).toBe(true);
    expect(Number(await pg.psql('SELECT archived_count FROM pg_stat_archiver'))).toBeGreaterThanOrEqual(ready.length);
    await expectArchivedIntact(pg, ws, segs);
  });
});

describe('the script and the pusher on a pg_wal-like directory', () => {
  let ws: Workspace;
  let data: string;
  const spoolDir = () => path.join(ws.dir, 'spool');

  beforeAll(async () => {
    ws = await workspace({ host: '127.0.0.1', port: 1, user: 'postgres' } as PgCluster);
    await setWalArchive(ws, { async: true, spoolDir: 'spool', idleSeconds: 2 });
    data = path.join(ws.dir, 'data');
    await mkdir(path.join(data, 'pg_wal', 'archive_status'), { recursive: true });
  });

  afterAll(async () => {
    await ws?.cleanup();
  });

  const archive = (name: string) =>
    execa(SCRIPT, ['--node', process.execPath, '--config', ws.config, '--cluster', 'pg', '--spool', spoolDir(), `pg_wal/${name}`], { cwd: data, reject: false, timeout: 120_000 });

  async function segment(name: string, content: Buffer, queued = true): Promise<void> {
    await writeFile(path.join(data, 'pg_wal', name), content);
    if (queued) await writeFile(path.join(data, 'pg_wal', 'archive_status', `${name}.ready`), '');
  }

  async function fetched(name: string): Promise<Buffer> {
    const dest = path.join(ws.dir, `fetched-${name}`);
    const f = await lifeboat(['wal', 'fetch', name, dest], { config: ws.config });
    expect(f.code, f.stderr).toBe(0);
    return readFile(dest);
  }

  test('SIGKILL of the pusher mid-push leaves no visible partial segment; the next push succeeds', async () => {
    const small = '000000010000000000000049';
    const name = '000000010000000000000050';
    const content = randomBytes(256 * 1024 * 1024); // incompressible and large: the push is still running when killed
    await segment(small, Buffer.alloc(16 * 1024 * 1024, 9));
    await segment(name, content);
    // the call for the first one stores it and starts a pusher for the one behind it
    const first = await archive(small);
    expect(first.exitCode, first.stderr).toBe(0);
    await rm(path.join(data, 'pg_wal', 'archive_status', `${small}.ready`)); // as PostgreSQL marks it done
    const pidFile = path.join(spoolDir(), 'pg', 'pusher.pid');
    await expect.poll(() => existsSync(pidFile), { timeout: 20_000, interval: 20 }).toBe(true);
    const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    // kill it while the object is being written: its temporary file is there
    const walDir = path.join(ws.repo, 'pg', 'wal', '0000000100000000');
    await expect.poll(async () => (await readdir(walDir).catch(() => [])).some((n) => n.startsWith('.lifeboat-tmp-')), { timeout: 30_000, interval: 2 }).toBe(true);
    process.kill(pid, 'SIGKILL');
    expect(await readFile(path.join(spoolDir(), 'pg', 'pusher.log'), 'utf8')).not.toMatch(new RegExp(`stored ${name}`)); // it was mid-push
    expect((await walKeys(ws.repo)).filter((k) => k.startsWith(name))).toEqual([]);
    const r = await archive(name); // no pusher alive (a stale lock): stored by the call itself
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await walKeys(ws.repo)).filter((k) => k.startsWith(name))).toHaveLength(1);
    expect(sha(await fetched(name))).toBe(sha(content));
    await rm(path.join(data, 'pg_wal', name));
    await rm(path.join(data, 'pg_wal', 'archive_status', `${name}.ready`));
  });

  test('a stale lock of a killed pusher is taken over by the next pusher', async () => {
    const pidFile = path.join(spoolDir(), 'pg', 'pusher.pid');
    const dead = spawn('true');
    await new Promise((r) => dead.on('close', r));
    await writeFile(pidFile, `${dead.pid}\n-\n${path.join(data, 'pg_wal')}\n`);
    const names = ['000000010000000000000056', '000000010000000000000057', '000000010000000000000058'];
    for (const [i, n] of names.entries()) await segment(n, Buffer.alloc(16 * 1024 * 1024, 20 + i));
    const logFile = path.join(spoolDir(), 'pg', 'pusher.log');
    const logBefore = (await readFile(logFile, 'utf8')).length;
    for (const n of names) {
      const r = await archive(n);
      expect(r.exitCode, `${n}: ${r.stderr}`).toBe(0);
      await rm(path.join(data, 'pg_wal', 'archive_status', `${n}.ready`));
    }
    const since = (await readFile(logFile, 'utf8')).slice(logBefore);
    expect(since).toMatch(/pusher started/);
    expect(since).toMatch(new RegExp(`\\] stored (${names[1]}|${names[2]}) \\(`)); // by the pusher, not "directly"
    const holder = (await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0];
    expect(holder).not.toBe(String(dead.pid));
    for (const [i, n] of names.entries()) expect(sha(await fetched(n))).toBe(sha(Buffer.alloc(16 * 1024 * 1024, 20 + i)));
  });

  test('conflicting content is refused with both checksums; the archived copy is kept', async () => {
    const name = '000000010000000000000051';
    const first = Buffer.alloc(16 * 1024 * 1024, 1);
    const other = path.join(ws.dir, name);
    await writeFile(other, first);
    expect((await lifeboat(['wal', 'push', other], { config: ws.config })).code).toBe(0);
    const second = Buffer.alloc(16 * 1024 * 1024, 2);
    await segment(name, second);
    const r = await archive(name);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`already archived with different content (archived sha256 ${sha(first)}, new ${sha(second)}); the archived copy is kept`);
    expect(sha(await fetched(name))).toBe(sha(first));
    await rm(path.join(data, 'pg_wal', 'archive_status', `${name}.ready`));
  });

  test('an acknowledgement older than the segment is not taken: the segment is stored for real', async () => {
    const name = '000000010000000000000052';
    const content = Buffer.alloc(16 * 1024 * 1024, 3);
    await mkdir(path.join(spoolDir(), 'pg', 'ok'), { recursive: true });
    const ack = path.join(spoolDir(), 'pg', 'ok', name);
    await writeFile(ack, 'left by another cluster with the same segment names\n');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(ack, hourAgo, hourAgo);
    await segment(name, content);
    const r = await archive(name);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(sha(await fetched(name))).toBe(sha(content));
  });

  test('a ready file whose segment is gone does not hold up the pusher', async () => {
    await writeFile(path.join(data, 'pg_wal', 'archive_status', '000000010000000000000054.ready'), '');
    const names = ['000000010000000000000055', '000000010000000000000059'];
    for (const [i, n] of names.entries()) await segment(n, Buffer.alloc(16 * 1024 * 1024, 5 + i));
    const started = Date.now();
    for (const n of names) {
      const r = await archive(n); // the first starts a pusher; the second waits for it
      expect(r.exitCode, r.stderr).toBe(0);
      await rm(path.join(data, 'pg_wal', 'archive_status', `${n}.ready`));
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await readFile(path.join(spoolDir(), 'pg', 'pusher.log'), 'utf8')).toMatch(/skipped 000000010000000000000054: the file is gone/);
    for (const [i, n] of names.entries()) expect(sha(await fetched(n))).toBe(sha(Buffer.alloc(16 * 1024 * 1024, 5 + i)));
    await rm(path.join(data, 'pg_wal', 'archive_status', '000000010000000000000054.ready'));
  });

  test('a file PostgreSQL did not queue (a call by hand) is stored directly', async () => {
    const name = '000000010000000000000053';
    const content = Buffer.alloc(16 * 1024 * 1024, 4);
    await segment(name, content, false);
    const r = await archive(name);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(sha(await fetched(name))).toBe(sha(content));
  });

  test('a bad walArchive setting is one clear config error (the full loader words it)', async () => {
    const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
    const bad = path.join(ws.dir, 'bad.json');
    cfg.clusters.pg.walArchive = { async: true, parallel: 0 };
    await writeFile(bad, JSON.stringify(cfg));
    const r = await lifeboat(['wal', 'push', '--async', path.join(data, 'pg_wal', '000000010000000000000053')], { config: bad });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^lifeboat: wal push: config .*bad\.json: clusters\.pg\.walArchive\.parallel: /);
  });
});

test('a config the light reading does not cover (a third-party storage plugin) goes through the full loader', async () => {
  const ws = await workspace({ host: '127.0.0.1', port: 1, user: 'postgres' } as PgCluster);
  try {
    // a minimal storage plugin kept in a directory, written the way a third party would
    const sdk = pathToFileURL(path.join(ROOT, 'dist', 'plugin.js')).href;
    await writeFile(
      path.join(ws.dir, 'dirstore.mjs'),
      `import { definePlugin, z } from ${JSON.stringify(sdk)};
import fs from 'node:fs'; import fsp from 'node:fs/promises'; import path from 'node:path'; import { pipeline } from 'node:stream/promises';
export default definePlugin({ apiVersion: 1, meta: { name: 'dirstore', version: '1.0.0' }, storage: {
  configSchema: z.object({ dir: z.string() }).strict(),
  create: ({ dir }) => ({
    capabilities: { randomAccess: false, atomicReplace: true, connections: 1 }, description: 'dirstore:' + dir,
    async put(key, body, opts = {}) { const f = path.join(dir, key); await fsp.mkdir(path.dirname(f), { recursive: true });
      const tmp = f + '.part'; await pipeline(body, fs.createWriteStream(tmp));
      if (opts.ifNoneMatch && fs.existsSync(f)) { await fsp.rm(tmp); throw new Error('exists'); }
      await fsp.rename(tmp, f); return { key, size: (await fsp.stat(f)).size }; },
    async get(key) { return fs.createReadStream(path.join(dir, key)); },
    async stat(key) { try { return { key, size: (await fsp.stat(path.join(dir, key))).size }; } catch { return undefined; } },
    async *list(prefix) { for (const e of await fsp.readdir(dir, { recursive: true }).catch(() => [])) { const k = e.split(path.sep).join('/');
      if (k.startsWith(prefix) && !k.endsWith('.part') && (await fsp.stat(path.join(dir, e))).isFile()) yield { key: k, size: 0 }; } },
    async delete(key) { await fsp.rm(path.join(dir, key), { force: true }); },
  }) } });
`,
    );
    const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
    cfg.plugins = ['./dirstore.mjs'];
    cfg.repositories.main = { type: 'dirstore', dir: path.join(ws.dir, 'store') };
    await writeFile(ws.config, JSON.stringify(cfg));
    expect((await lifeboat(['repo', 'init'], { config: ws.config })).code).toBe(0);
    const name = '000000010000000000000070';
    const content = Buffer.alloc(16 * 1024 * 1024, 70);
    await writeFile(path.join(ws.dir, name), content);
    const r = await lifeboat(['wal', 'push', path.join(ws.dir, name)], { config: ws.config });
    expect(r.code, r.stderr).toBe(0);
    const stored = (await readdir(path.join(ws.dir, 'store', 'pg', 'wal', '0000000100000000'))).filter((n) => n.startsWith(name));
    expect(stored).toEqual([`${name}-${sha(content)}.zst`]);
    const again = await lifeboat(['wal', 'push', path.join(ws.dir, name)], { config: ws.config });
    expect(again.stderr).toMatch(/already archived with the same content/);
    const dest = path.join(ws.dir, 'back');
    const f = await lifeboat(['wal', 'fetch', name, dest], { config: ws.config });
    expect(f.code, f.stderr).toBe(0);
    expect(sha(await readFile(dest))).toBe(sha(content));
  } finally {
    await ws.cleanup();
  }
});

test('the archive hook loads no zod, execa, lowdb, commander or postgres plugin', async () => {
  // what dist/wal.js imports before it runs (dynamic imports are the full-config fallback)
  const dist = path.join(ROOT, 'dist');
  const seen = new Set<string>();
  const visit = async (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = await readFile(path.join(dist, file), 'utf8');
    for (const m of text.matchAll(/^import\s[^;]*?from\s*"\.\/([^"]+)";/gms)) await visit(m[1]!);
    for (const m of text.matchAll(/^import\s*"\.\/([^"]+)";/gm)) await visit(m[1]!);
  };
  await visit('wal.js');
  const sources = new Set<string>();
  for (const f of seen) for (const m of (await readFile(path.join(dist, f), 'utf8')).matchAll(/^\/\/ (\S+)$/gm)) sources.add(m[1]!);
  const heavy = [...sources].filter((s) => /node_modules\/(zod|execa|lowdb|commander)\/|plugins\/postgres\//.test(s));
  expect(heavy).toEqual([]);
  expect([...sources]).toContain('src/wal/push.ts');
  expect(BIN).toBeTruthy();
});
