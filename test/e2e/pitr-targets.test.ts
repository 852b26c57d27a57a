/**
 * The target finder against a real cluster archiving through lifeboat: damage
 * is done (a mass DELETE, a DROP TABLE of a table the backup knew, a DROP of one
 * created after it), `pitr targets` must find each with the transaction id the
 * test recorded, and recovering side by side to its suggested target must bring
 * the data back (row counts and checksums compared with the state before).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, type PgCluster } from '../harness/pg.js';
import { startArchivingCluster, psqlAt, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { lifeboat, lifeboatAsServer, serverCanRunLifeboat, workspace, type Workspace } from '../helpers/cli.js';

let pg: PgCluster;
let ws: Workspace;
const restored: string[] = [];
const m: Record<string, string> = {};

const lb = (args: string[]) => lifeboatAsServer(ws.config, args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ORDERS_SUM = "SELECT count(*) || ' ' || md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM app.orders";
const GONE_SUM = "SELECT count(*) || ' ' || md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM app.gone";

async function utcNow(): Promise<string> {
  return pg.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
}

/** Run a candidate's suggested `lifeboat pitr plan ...` side by side, apply it, return the port of the recovered server. */
async function recoverWith(command: string): Promise<number> {
  expect(command).toMatch(/^lifeboat pitr plan /);
  const args = command.split(' ').slice(1);
  const port = await freePort();
  const dir = path.join(ws.dir, `restored-${restored.length}`);
  restored.push(dir);
  const plan = await lb(['--json', ...args, '--to-datadir', dir, '--port', String(port)]);
  expect(plan.code, plan.stderr).toBe(0);
  const apply = await lb(['--json', 'pitr', 'apply', plan.json.plan.id, '--yes']);
  expect(apply.code, apply.stderr).toBe(0);
  return port;
}

beforeAll(async () => {
  if (!serverCanRunLifeboat) return;
  ({ pg, ws } = await startArchivingCluster('pitr-targets'));
  await pg.psql(`CREATE SCHEMA app;
    CREATE TABLE app.orders (id int PRIMARY KEY, v text);
    INSERT INTO app.orders SELECT g, md5(g::text) FROM generate_series(1, 6000) g;
    CREATE TABLE app.gone (id int PRIMARY KEY, v text);
    INSERT INTO app.gone SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 300) g;`);
  const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  m.backup = b.json.backup.id;
  // created after the backup: its name is in no backup's map
  await pg.psql('CREATE TABLE app.late (id int); INSERT INTO app.late SELECT generate_series(1, 10)');
  m.orders = await pg.psql(ORDERS_SUM);
  m.gone = await pg.psql(GONE_SUM);
  const rp = await lb(['--json', 'restore-point', '-c', 'pg', 'before-damage']);
  expect(rp.code, rp.stderr).toBe(0);
  await sleep(1100);
  m.t1 = await utcNow();
  await sleep(1100);
  m.xidDelete = await pg.psql('BEGIN; DELETE FROM app.orders WHERE id <= 5000; SELECT txid_current(); COMMIT;');
  await sleep(1100);
  m.t2 = await utcNow();
  await sleep(1100);
  m.xidDrop = await pg.psql('BEGIN; DROP TABLE app.gone; SELECT txid_current(); COMMIT;');
  m.xidLate = await pg.psql('BEGIN; DROP TABLE app.late; SELECT txid_current(); COMMIT;');
  await switchAndWaitArchived(pg.psql);
  expect(await pg.psql('SELECT failed_count FROM pg_stat_archiver')).toBe('0');
}, 180_000);

afterAll(async () => {
  for (const d of restored) await stopDataDir(d);
  await pg?.stop();
  await ws?.cleanup();
});

describe.skipIf(!serverCanRunLifeboat)('lifeboat pitr targets', () => {
  let found: any;

  test('the physical backup recorded the names of the tables it saw', async () => {
    const show = await lb(['--json', 'show', m.backup!, '-c', 'pg']);
    expect(show.code, show.stderr).toBe(0);
    const map = show.json.manifest.physical.relationMap;
    const db = map.databases.find((d: any) => d.name === 'postgres');
    const names = db.relations.filter((r: string[]) => r[3] === 'r').map((r: string[]) => `${r[4]}.${r[5]}`);
    expect(names).toEqual(expect.arrayContaining(['app.orders', 'app.gone']));
    expect(names).not.toContain('app.late');
  });

  test('finds the restore point, the DELETE of 5000 rows and both DROPs, with the recorded xids, oldest first', async () => {
    const r = await lb(['--json', 'pitr', 'targets', '-c', 'pg']);
    expect(r.code, r.stderr).toBe(0);
    found = r.json;
    expect(found.range).toMatchObject({ timeline: 1, startedAt: 'backup', backup: m.backup, limited: false });
    const kinds = found.candidates.map((c: any) => `${c.kind}:${c.xid ?? c.name}`);
    expect(kinds).toEqual(['restore-point:before-damage', `delete-burst:${m.xidDelete}`, `drop:${m.xidDrop}`, `drop:${m.xidLate}`]);
    const [rp, del, drop, late] = found.candidates;
    expect(rp.suggested).toEqual({ kind: 'name', value: 'before-damage', inclusive: true });
    expect(del).toMatchObject({ rows: 5000, destructive: true, suggested: { kind: 'xid', value: m.xidDelete, inclusive: false }, baseBackup: m.backup });
    expect(del.relations).toEqual([expect.objectContaining({ name: 'app.orders', database: 'postgres', relkind: 'table', rows: 5000 })]);
    expect(del.command).toBe(`lifeboat pitr plan -c pg --xid ${m.xidDelete} --exclusive --backup ${m.backup}`);
    expect(drop.relations).toEqual([expect.objectContaining({ name: 'app.gone', relkind: 'table', nameFrom: `backup ${m.backup}` })]);
    expect(drop.summary).toMatch(/^DROP TABLE app\.gone/);
    expect(drop.command).toBe(`lifeboat pitr plan -c pg --xid ${m.xidDrop} --exclusive --backup ${m.backup}`);
    // created after the backup and dropped since: shown by storage id, saying so
    expect(late.relations[0].name).toBeUndefined();
    expect(late.relations[0].id).toMatch(/^1663\/\d+\/\d+$/);
    expect(late.summary).toMatch(/name unknown/);
    for (const c of found.candidates) expect(Date.parse(c.time)).toBeGreaterThan(Date.parse(m.t1!) - 60_000);
  });

  test('human output: a table within 80 columns, with the command for each candidate', async () => {
    const r = await lb(['pitr', 'targets', '-c', 'pg']);
    expect(r.code, r.stderr).toBe(0);
    for (const line of r.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(r.stdout).toContain('delete-burst');
    expect(r.stdout).toContain('deleted 5000 rows from app.orders');
    expect(r.stdout).toContain(`--xid ${m.xidDelete} --exclusive`);
    expect(r.stdout).toContain('DROP TABLE app.gone');
    expect(r.stdout).not.toMatch(/\x1b\[/); // NO_COLOR
  });

  test('recovering to just before the DELETE brings every row back', async () => {
    const del = found.candidates.find((c: any) => c.kind === 'delete-burst');
    const port = await recoverWith(del.command);
    expect(await psqlAt(port, ORDERS_SUM)).toBe(m.orders);
    expect(await psqlAt(port, GONE_SUM)).toBe(m.gone);
    expect(await pg.psql('SELECT count(*) FROM app.orders')).toBe('1000'); // the original is untouched
  });

  test('recovering to just before the DROP brings the table back with its data (and keeps the DELETE before it)', async () => {
    const drop = found.candidates.find((c: any) => c.kind === 'drop' && c.xid === m.xidDrop);
    const port = await recoverWith(drop.command);
    expect(await psqlAt(port, GONE_SUM)).toBe(m.gone);
    expect(await psqlAt(port, 'SELECT count(*) FROM app.orders')).toBe('1000');
  });

  test('--relation keeps only what touched that table', async () => {
    const gone = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--relation', 'app.gone']);
    expect(gone.code, gone.stderr).toBe(0);
    expect(gone.json.candidates.map((c: any) => `${c.kind}:${c.xid}`)).toEqual([`drop:${m.xidDrop}`]);
    const orders = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--relation', 'orders']);
    expect(orders.json.candidates.map((c: any) => `${c.kind}:${c.xid}`)).toEqual([`delete-burst:${m.xidDelete}`]);
    const none = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--relation', 'app.nothing']);
    expect(none.code).toBe(0);
    expect(none.json.candidates).toEqual([]);
    expect(none.json.warnings).toContain("relation app.nothing is in neither the live catalog nor any backup's relation map: check the name (schema.table)");
    expect(gone.json.warnings).toEqual([]); // dropped, but the backup's map knows it
  });

  test('--from/--to bound the candidates by time', async () => {
    const after = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--from', m.t2!]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.json.candidates.map((c: any) => c.xid)).toEqual([m.xidDrop, m.xidLate]);
    const before = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--to', m.t2!]);
    expect(before.json.candidates.map((c: any) => c.kind)).toEqual(['restore-point', 'delete-burst']);
    const between = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--from', m.t1!, '--to', m.t2!]);
    expect(between.json.candidates.map((c: any) => c.xid)).toEqual([m.xidDelete]);
  });

  test('--kinds and --min-rows: commits on request, a higher threshold hides the burst', async () => {
    const commits = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--kinds', 'commit', '--relation', 'app.orders']);
    expect(commits.code, commits.stderr).toBe(0);
    expect(commits.json.candidates).toEqual([expect.objectContaining({ kind: 'commit', xid: m.xidDelete, rows: 5000, suggested: { kind: 'xid', value: m.xidDelete, inclusive: true } })]);
    const high = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--min-rows', '6000', '--kinds', 'delete-burst']);
    expect(high.json.candidates).toEqual([]);
  });

  test('an empty range is an empty list and exit 0', async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    const r = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--from', future]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.candidates).toEqual([]);
    expect(r.json.range.segments).toBe(0);
    const text = await lb(['pitr', 'targets', '-c', 'pg', '--from', future]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/no archived WAL in this range/);
    for (const line of text.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    const help = await lb(['pitr', 'targets', '--help']);
    for (const line of help.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  test('a cluster with no archived WAL is a clear error; bad options are usage errors', async () => {
    const other = await workspace(pg, { clusterName: 'quiet' });
    try {
      const r = await lifeboat(['--json', 'pitr', 'targets', '-c', 'quiet'], { config: other.config });
      expect(r.code).toBe(1);
      expect(r.json.error).toMatchObject({ code: 'NOT_FOUND', message: 'no archived WAL for cluster quiet in repository main' });
      expect(r.json.error.hint).toMatch(/setup-archiving/);
    } finally {
      await other.cleanup();
    }
    const bad = await lb(['pitr', 'targets', '-c', 'pg', '--kinds', 'drop,explosion']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown kind explosion/);
    const when = await lb(['pitr', 'targets', '-c', 'pg', '--from', 'yesterday-ish']);
    expect(when.code).toBe(2);
    expect(when.stderr).toMatch(/--from yesterday-ish is not a time/);
  });
});

describe.skipIf(!serverCanRunLifeboat)('lifeboat pitr targets over many segments', () => {
  test('a DELETE spanning segments and pg_waldump batches is counted once per row', async () => {
    await pg.psql('CREATE TABLE app.big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g; CREATE TABLE app.tick (n int)');
    // start the DELETE in the last segment of a pg_waldump batch (8 segments from the backup's
    // first one), so its 300000 records run across the batch boundary
    const show = await lb(['--json', 'show', m.backup!, '-c', 'pg']);
    const segno = (name: string) => parseInt(name.slice(8, 16), 16) * 256 + parseInt(name.slice(16, 24), 16);
    const first = segno(show.json.manifest.physical.walStart);
    const index = async () => segno(await pg.psql('SELECT pg_walfile_name(pg_current_wal_insert_lsn())')) - first;
    const goal = Math.max(15, (await index()) + 8 - ((await index()) % 8) - 1);
    for (let i = 0; (await index()) < goal; i++) await pg.psql(`INSERT INTO app.tick VALUES (${i}); SELECT pg_switch_wal();`);
    expect(await index()).toBe(goal);
    m.xidBig = await pg.psql('BEGIN; DELETE FROM app.big; SELECT txid_current(); COMMIT;');
    await switchAndWaitArchived(pg.psql, 300);
    const started = Date.now();
    const r = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--kinds', 'delete-burst']);
    const took = Date.now() - started;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.range.segments).toBeGreaterThan(goal + 1); // the DELETE ran past the batch's last segment
    const big = r.json.candidates.find((c: any) => c.xid === m.xidBig);
    expect(big, JSON.stringify(r.json.candidates)).toMatchObject({ kind: 'delete-burst', rows: 300000, relations: [expect.objectContaining({ name: 'app.big', rows: 300000 })] });
    expect(r.json.candidates.find((c: any) => c.xid === m.xidDelete)).toMatchObject({ rows: 5000 });
    console.log(`pitr targets read ${r.json.range.segments} segments (${r.json.records} records) in ${took} ms`);
  }, 240_000);

  test('--max-segments reads only the newest segments, and says so', async () => {
    const r = await lb(['--json', 'pitr', 'targets', '-c', 'pg', '--max-segments', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.range).toMatchObject({ segments: 2, limited: true, startedAt: 'backup' });
    expect(r.json.warnings).toContain('only the newest 2 segments of the range were read; narrow it with --from/--to or raise --max-segments');
    expect(r.json.candidates.some((c: any) => c.xid === m.xidDelete)).toBe(false);
  });
});

describe.skipIf(!serverCanRunLifeboat)('lifeboat pitr targets when something is wrong', () => {
  test('pg_waldump missing: one clear error naming it', async () => {
    const config = JSON.parse(await readFile(ws.config, 'utf8'));
    config.clusters.pg.connection.bindir = '/nonexistent/bin';
    const other = path.join(ws.dir, 'no-waldump.json');
    await writeFile(other, JSON.stringify(config), { mode: 0o644 });
    const r = await lifeboatAsServer(other, ['--json', 'pitr', 'targets', '-c', 'pg']);
    expect(r.code).toBe(1);
    expect(r.json.error).toMatchObject({ code: 'BINARY_MISSING', message: 'pg_waldump not found in /nonexistent/bin' });
    expect(r.json.error.hint).toMatch(/bindir/);
  });

  test('a damaged archived segment stops the read with VERIFY_FAILED, naming it', async () => {
    const walDir = path.join(ws.repo, 'pg', 'wal');
    const files = (await readdir(walDir, { recursive: true })).filter((f) => /\/[0-9A-F]{24}-[0-9a-f]{64}\.zst$/.test(f)).sort();
    const victim = path.join(walDir, files.at(-1)!);
    // valid zstd, wrong content: only the sha256 in the key can tell
    await execa('sh', ['-c', `head -c 4096 /dev/urandom | zstd -q -c > '${victim}.tmp' && cat '${victim}.tmp' > '${victim}' && rm '${victim}.tmp'`]);
    const r = await lb(['--json', 'pitr', 'targets', '-c', 'pg']);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('VERIFY_FAILED');
    expect(r.json.error.message).toContain(`archived WAL file ${path.basename(victim).slice(0, 24)} is damaged`);
  });
});
