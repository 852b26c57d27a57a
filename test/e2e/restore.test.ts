import { spawn } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { largeObjectFingerprint, SAMPLE_DB, startCluster, tableFingerprints, type PgCluster } from '../harness/pg.js';
import { readFile, writeFile } from 'node:fs/promises';
import { lifeboat, slowToolBinDir, unwrap, workspace, type Workspace } from '../helpers/cli.js';

let pg: PgCluster;
let ws: Workspace;
let fullId: string;
let original: Awaited<ReturnType<typeof tableFingerprints>>;

const run = (args: string[]) => lifeboat(['--json', ...args], { config: ws.config });

beforeAll(async () => {
  pg = await startCluster({ name: 'restore', sampleData: true });
  ws = await workspace(pg);
  original = await tableFingerprints(pg, SAMPLE_DB);
  const b = await run(['backup', '-c', 'pg', '-d', SAMPLE_DB]);
  expect(b.code, b.stderr).toBe(0);
  fullId = b.json.backup.id;
});

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
});

describe('partial restore', () => {
  test('one table restores exactly that table', async () => {
    const r = await run(['restore', fullId, '--to-database', 'one_table', '-t', 'public.pgbench_branches', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const got = await tableFingerprints(pg, 'one_table');
    expect(Object.keys(got)).toEqual(['public.pgbench_branches']);
    expect(got['public.pgbench_branches']).toEqual(original['public.pgbench_branches']);
    expect(r.json.restore.checks.every((c: any) => c.ok)).toBe(true);
  });

  test('a mixed-case quoted table in its own schema', async () => {
    const r = await run(['restore', fullId, '--to-database', 'quoted_table', '-t', '"Mixed Schema"."Quoted Table"', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const got = await tableFingerprints(pg, 'quoted_table');
    expect(got).toEqual({ 'Mixed Schema.Quoted Table': original['Mixed Schema.Quoted Table'] });
  });

  test('one schema restores that schema only', async () => {
    const r = await run(['restore', fullId, '--to-database', 'one_schema', '-n', 'Mixed Schema', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const got = await tableFingerprints(pg, 'one_schema');
    const want = Object.fromEntries(Object.entries(original).filter(([k]) => k.startsWith('Mixed Schema.')));
    expect(Object.keys(want).length).toBeGreaterThan(0);
    expect(got).toEqual(want);
  });

  test('an unknown table is a usage error before anything is created', async () => {
    const r = await run(['restore', fullId, '--to-database', 'nope', '-t', 'public.no_such_table', '--yes']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/table public\.no_such_table not found/);
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'nope'")).toBe('0');
  });
});

describe('replacing a database', () => {
  test('--dry-run shows the plan and changes nothing', async () => {
    await pg.psql('CREATE DATABASE victim');
    await pg.psql('CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES (1), (2)', 'victim');
    const r = await lifeboat(['restore', fullId, '--to-database', 'victim', '--clean', '--dry-run'], { config: ws.config });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/back up database victim first \(tag safety\)/);
    expect(r.stdout).toMatch(/drop database victim/);
    expect(r.stdout).toMatch(/Dry run: nothing was changed/);
    expect(await pg.psql('SELECT count(*) FROM keep_me', 'victim')).toBe('2');
  });

  test('--clean --yes takes a safety backup first, then replaces the database', async () => {
    const before = await tableFingerprints(pg, 'victim');
    // a session connected to the target is terminated by the restore
    const session = spawn('psql', ['-X', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', 'victim', '-c', 'SELECT pg_sleep(60)'], { stdio: 'ignore' });
    const sessionEnded = new Promise((r) => session.on('close', r));
    await expect.poll(() => pg.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'victim'"), { timeout: 10_000 }).toBe('1');
    const r = await run(['restore', fullId, '--to-database', 'victim', '--clean', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.restore.plan.connectedSessions).toBe(1);
    await sessionEnded;
    expect(await tableFingerprints(pg, 'victim')).toEqual(original);
    expect(await largeObjectFingerprint(pg, 'victim')).toEqual(await largeObjectFingerprint(pg, SAMPLE_DB));
    const safetyId = r.json.restore.safetyBackupId;
    expect(safetyId).toBeTruthy();
    const list = await run(['list']);
    const safety = list.json.backups.find((b: any) => b.id === safetyId);
    expect(safety).toMatchObject({ tag: 'safety', databases: ['victim'] });
    // the safety backup holds what was there before
    const back = await run(['restore', safetyId, '--to-database', 'victim_before', '--yes']);
    expect(back.code, back.stderr).toBe(0);
    expect(await tableFingerprints(pg, 'victim_before')).toEqual(before);
    // "latest" skips safety backups
    const latest = await run(['show', 'latest']);
    expect(latest.json.manifest.tag).not.toBe('safety');
  });
  test('the database lifeboat connects through can itself be replaced', async () => {
    await pg.psql('CREATE DATABASE appdb');
    await pg.psql('CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 100)', 'appdb');
    const w = await workspace(pg, { database: 'appdb' });
    try {
      const b = await lifeboat(['--json', 'backup', '-c', 'pg'], { config: w.config });
      expect(b.code, b.stderr).toBe(0);
      expect(b.json.backup.databases).toEqual(['appdb']);
      const snapshot = await tableFingerprints(pg, 'appdb');
      await pg.psql('DELETE FROM t WHERE x > 10', 'appdb');
      const r = await lifeboat(['--json', 'restore', 'latest', '--to-database', 'appdb', '--clean', '--yes'], { config: w.config });
      expect(r.code, r.stderr).toBe(0);
      expect(await tableFingerprints(pg, 'appdb')).toEqual(snapshot);
    } finally {
      await w.cleanup();
    }
  });
});

describe('a killed restore', () => {
  test('leaves a database marked incomplete: the next restore and lifeboat check say so, --clean replaces it and the mark goes (issue 10 item 14)', async () => {
    // pg_restore finishes, then holds on: the runner is killed before the row counts are compared
    const bindir = await slowToolBinDir(path.join(ws.dir, 'slow-restore-bin'), pg.binDir, 'pg_restore');
    const w = await workspace(pg, { connection: { bindir } });
    try {
      const b = await lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB], { config: w.config });
      expect(b.code, b.stderr).toBe(0);
      const id = b.json.backup.id;
      const job = await lifeboat(['--json', 'restore', id, '--to-database', 'killed_restore', '--yes', '--detach'], { config: w.config });
      expect(job.code, job.stderr).toBe(0);
      let runner: number | undefined;
      for (let i = 0; i < 100 && !runner; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const ps = await execa('pgrep', ['-f', `${bindir}/pg_restore`], { reject: false });
        if (ps.exitCode === 0) runner = (await lifeboat(['--json', 'jobs'], { config: w.config })).json.running[0]?.runner?.pid;
      }
      expect(runner, 'the restore job').toBeDefined();
      process.kill(runner!, 'SIGKILL');
      const comment = await pg.psql("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'killed_restore'");
      expect(comment).toMatch(new RegExp(`^lifeboat: incomplete restore of backup ${id}, started \\S+; it never finished`));

      const again = await run(['restore', fullId, '--to-database', 'killed_restore', '--yes']);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(`database killed_restore on cluster pg is incomplete restore of backup ${id}`);
      const check = await run(['check', '-c', 'pg']);
      const finding = check.json.findings.find((f: any) => f.name === 'incomplete restores');
      expect(finding, JSON.stringify(check.json.findings)).toMatchObject({ ok: false, level: 'warn' });
      expect(finding.detail).toContain(`database killed_restore is incomplete restore of backup ${id}`);

      const replaced = await run(['restore', fullId, '--to-database', 'killed_restore', '--clean', '--yes']);
      expect(replaced.code, replaced.stderr).toBe(0);
      expect(replaced.json.restore.plan.warnings.join(' ')).toMatch(/database killed_restore is incomplete restore of backup .*: it is replaced/);
      expect(await tableFingerprints(pg, 'killed_restore')).toEqual(original);
      expect(await pg.psql("SELECT coalesce(shobj_description(oid, 'pg_database'), 'none') FROM pg_database WHERE datname = 'killed_restore'")).toBe('none');
      const clean = await run(['check', '-c', 'pg']);
      expect(clean.json.findings.find((f: any) => f.name === 'incomplete restores')).toMatchObject({ ok: true, detail: 'none' });
    } finally {
      await w.cleanup();
    }
  }, 120_000);
});

describe('replacing keeps the database\'s own properties', () => {
  test('restore --clean keeps owner, encoding, locale, connection limit, grants, settings and comment (issue 11 item 4)', async () => {
    await pg.psql("DO $$ BEGIN CREATE ROLE app_owner; EXCEPTION WHEN duplicate_object THEN NULL; END $$; DO $$ BEGIN CREATE ROLE app_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    await pg.psql("CREATE DATABASE propsdb OWNER app_owner ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0 CONNECTION LIMIT 7");
    await pg.psql(
      "REVOKE ALL ON DATABASE propsdb FROM PUBLIC; GRANT CONNECT ON DATABASE propsdb TO app_reader; GRANT CREATE ON DATABASE propsdb TO app_reader WITH GRANT OPTION; ALTER DATABASE propsdb SET work_mem = '7MB'; ALTER DATABASE propsdb SET search_path TO app, public; COMMENT ON DATABASE propsdb IS 'payroll, do not drop'",
    );
    await pg.psql('CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 50)', 'propsdb');
    const props = () =>
      pg.psql(`SELECT pg_get_userbyid(datdba) || '|' || pg_encoding_to_char(encoding) || '|' || datcollate || '|' || datctype || '|' || datconnlimit || '|' || coalesce(datacl::text, '-') || '|' ||
        coalesce((SELECT array_to_string(setconfig, ';') FROM pg_db_role_setting WHERE setdatabase = d.oid AND setrole = 0), '-') || '|' || coalesce(shobj_description(oid, 'pg_database'), '-')
        FROM pg_database d WHERE datname = 'propsdb'`);
    const before = await props();
    expect(before).toContain('app_owner|LATIN1|C|C|7|');
    const b = await run(['backup', '-c', 'pg', '-d', 'propsdb']);
    expect(b.code, b.stderr).toBe(0);
    const snapshot = await tableFingerprints(pg, 'propsdb');
    await pg.psql('DELETE FROM t', 'propsdb');
    const r = await run(['restore', b.json.backup.id, '--to-database', 'propsdb', '--clean', '--yes', '--no-safety-backup']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.restore.plan.actions.map((a: any) => a.description).join('\n')).toMatch(/create database propsdb again, with its owner/);
    expect(await props()).toBe(before);
    expect(await tableFingerprints(pg, 'propsdb')).toEqual(snapshot);
  });
});

describe('a backup role that is not a superuser (pg_read_all_data)', () => {
  test('verify at restore level: without CREATEDB it is "could not verify", never FAILED; with it, owners are skipped and it passes; restore --no-owner works (issue 11 item 5)', async () => {
    await pg.psql("DO $$ BEGIN CREATE ROLE backup_ro LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; GRANT pg_read_all_data TO backup_ro; ALTER ROLE backup_ro NOCREATEDB");
    // pg_read_all_data does not cover large objects
    await pg.psql("DO $$ DECLARE o oid; BEGIN FOR o IN SELECT oid FROM pg_largeobject_metadata LOOP EXECUTE format('GRANT SELECT ON LARGE OBJECT %s TO backup_ro', o); END LOOP; END $$", SAMPLE_DB);
    const w = await workspace(pg, { connection: { user: 'backup_ro', database: SAMPLE_DB } });
    try {
      const lbw = (args: string[]) => lifeboat(['--json', ...args], { config: w.config });
      const b = await lbw(['backup', '-c', 'pg']);
      expect(b.code, b.stderr).toBe(0);
      const id = b.json.backup.id;
      expect((await lbw(['verify', id])).code).toBe(0);
      const cannot = await lifeboat(['verify', id, '--level', 'restore'], { config: w.config });
      expect(cannot.code, cannot.stderr).toBe(2);
      expect(cannot.stderr).toMatch(/could not verify backup \S+ \(restore\): backup_ro may not create databases.*this says nothing about the backup/);
      expect(cannot.stderr).toMatch(/hint: ALTER ROLE backup_ro CREATEDB/);
      const listed = (await lbw(['list'])).json.backups.find((x: any) => x.id === id);
      expect(listed.verification).toMatchObject({ ok: true, level: 'checksum' }); // not turned into FAILED
      const shown = await lifeboat(['show', id], { config: w.config });
      expect(unwrap(shown.stdout)).toMatch(/restore\s+could not verify\s+backup_ro may not create databases/);

      await pg.psql('ALTER ROLE backup_ro CREATEDB');
      const v = await lbw(['verify', id, '--level', 'restore']);
      expect(v.code, v.stderr).toBe(0);
      expect(v.json.verification.ok).toBe(true);
      const r = await lbw(['restore', id, '--to-database', 'restored_by_ro', '--no-owner', '--no-privileges', '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.restore.plan.actions.map((a: any) => a.description).join(' ')).toMatch(/without owners and grants/);
      expect(await tableFingerprints(pg, 'restored_by_ro')).toEqual(original);
      expect(await pg.psql("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND relkind = 'r'", 'restored_by_ro')).toBe('backup_ro');
    } finally {
      await w.cleanup();
    }
  });
});

describe('data only (issue 11 item 3)', () => {
  const fp = async (db: string, table: string) => pg.psql(`SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM ${table} t`, db);
  test('backup --data-only -t a -t b; restore it into the live database with --clean replaces exactly those tables\' rows', async () => {
    const b = await run(['backup', '-c', 'pg', '-d', SAMPLE_DB, '--data-only', '-t', 'public.pgbench_branches', '-t', 'public.pgbench_tellers']);
    expect(b.code, b.stderr).toBe(0);
    const id = b.json.backup.id;
    const shown = await run(['show', id]);
    expect(shown.json.manifest.logical.scope).toEqual({ kind: 'tables', tables: ['public.pgbench_branches', 'public.pgbench_tellers'], only: 'data' });
    const r0 = await run(['restore', fullId, '--to-database', 'live_app', '--yes']);
    expect(r0.code, r0.stderr).toBe(0);
    const want = { b: await fp('live_app', 'pgbench_branches'), t: await fp('live_app', 'pgbench_tellers'), a: await fp('live_app', 'pgbench_accounts') };
    await pg.psql('DELETE FROM pgbench_tellers WHERE tid % 2 = 0; UPDATE pgbench_branches SET bbalance = bbalance + 1; DELETE FROM pgbench_accounts WHERE aid < 10', 'live_app');
    const accountsAfterDamage = await fp('live_app', 'pgbench_accounts');
    const dry = await lifeboat(['restore', id, '--to-database', 'live_app', '--clean', '--dry-run'], { config: ws.config });
    expect(dry.code, dry.stderr).toBe(0);
    expect(unwrap(dry.stdout)).toMatch(/empty tables public\.pgbench_branches, public\.pgbench_tellers in live_app: their rows are replaced/);
    const r = await run(['restore', id, '--to-database', 'live_app', '--clean', '--yes', '--no-safety-backup']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.restore.plan.dataOnly).toBe(true);
    expect(await fp('live_app', 'pgbench_branches')).toBe(want.b);
    expect(await fp('live_app', 'pgbench_tellers')).toBe(want.t);
    expect(await fp('live_app', 'pgbench_accounts')).toBe(accountsAfterDamage); // not in the restore: untouched
    expect(want.a).not.toBe(accountsAfterDamage);
  });

  test('one table\'s rows from a whole-database backup, appended (pg_restore --table --data-only); a duplicate key fails it', async () => {
    await pg.psql('TRUNCATE pgbench_history', 'live_app');
    const dry = await lifeboat(['restore', fullId, '--to-database', 'live_app', '--data-only', '-t', 'public.pgbench_history', '--dry-run'], { config: ws.config });
    expect(unwrap(dry.stdout)).toMatch(/append \d+ rows of 1 table .*existing rows are kept/);
    const r = await run(['restore', fullId, '--to-database', 'live_app', '--data-only', '-t', 'public.pgbench_history', '--yes', '--no-safety-backup']);
    expect(r.code, r.stderr).toBe(0);
    expect(await fp('live_app', 'pgbench_history')).toBe(await fp(SAMPLE_DB, 'pgbench_history'));
    const dup = await run(['restore', fullId, '--to-database', 'live_app', '--data-only', '-t', 'public.pgbench_branches', '--yes', '--no-safety-backup']);
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/data-only restore into live_app failed: .*duplicate key/);
    const missing = await run(['restore', fullId, '--to-database', 'no_such_db', '--data-only', '--yes']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/loads rows into existing tables, and database no_such_db does not exist/);
  });
});

describe('onto another server (issue 11 item 7)', () => {
  test('restore --to-cluster --with-globals: the roles come along, objects keep their owner, the safety backup lands in the target\'s catalog', async () => {
    const other = await startCluster({ name: 'restore-other' });
    try {
      await pg.psql("DO $$ BEGIN CREATE ROLE shop_owner LOGIN CONNECTION LIMIT 9; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
      await pg.psql('CREATE DATABASE shop OWNER shop_owner');
      await pg.psql('SET ROLE shop_owner; CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 300) g', 'shop');
      // one config, two clusters in one repository: the source and another server
      const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
      cfg.clusters.other = { repository: cfg.clusters.pg.repository, connection: { host: other.host, port: other.port, user: other.user, database: 'postgres' } };
      const two = path.join(ws.dir, 'two-clusters.json');
      await writeFile(two, JSON.stringify(cfg));
      const lb2 = (args: string[]) => lifeboat(['--json', ...args], { config: two });
      const b = await lb2(['backup', '-c', 'pg', '-d', 'shop']);
      expect(b.code, b.stderr).toBe(0);
      expect((await lb2(['show', b.json.backup.id])).json.manifest.logical.globals).toBe('globals.sql');
      const snapshot = await tableFingerprints(pg, 'shop');

      const without = await lb2(['restore', b.json.backup.id, '--to-cluster', 'other', '--to-database', 'shop', '--dry-run']);
      expect(without.code, without.stderr).toBe(0);
      expect(without.json.targetCluster).toBe('other');
      const dry = await lifeboat(['restore', b.json.backup.id, '--to-cluster', 'other', '--to-database', 'shop', '--with-globals', '--dry-run'], { config: two });
      expect(unwrap(dry.stdout)).toMatch(/into cluster other/);
      expect(unwrap(dry.stdout)).toMatch(/create the roles and tablespaces of the backup's globals\.sql that cluster other lacks/);
      const r = await lb2(['restore', b.json.backup.id, '--to-cluster', 'other', '--to-database', 'shop', '--with-globals', '--yes']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.restore.checks[0]).toMatchObject({ name: 'roles and tablespaces', ok: true });
      expect(r.json.restore.checks[0].detail).toMatch(/created .*shop_owner.*; left as they are: .*postgres/);
      expect(await other.psql("SELECT rolcanlogin || ' ' || rolconnlimit FROM pg_roles WHERE rolname = 'shop_owner'")).toBe('true 9');
      expect(await other.psql("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'orders'", 'shop')).toBe('shop_owner');
      expect(await tableFingerprints(other, 'shop')).toEqual(snapshot);
      expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'shop'")).toBe('1'); // the source is untouched

      // replacing it there: the safety backup is of the target, in the target cluster's catalog
      const again = await lb2(['restore', b.json.backup.id, '--to-cluster', 'other', '--to-database', 'shop', '--clean', '--with-globals', '--yes']);
      expect(again.code, again.stderr).toBe(0);
      const safety = again.json.restore.safetyBackupId;
      expect((await lb2(['list', '-c', 'other'])).json.backups.map((x: any) => x.id)).toContain(safety);
      expect((await lb2(['list', '-c', 'pg'])).json.backups.map((x: any) => x.id)).not.toContain(safety);
      expect(again.json.restore.checks[0].detail).toMatch(/no role created; left as they are: .*shop_owner/);
    } finally {
      await other.stop();
    }
  });
});

describe('backup scopes', () => {
  test('schema-only restores every table, empty', async () => {
    const b = await run(['backup', '-c', 'pg', '-d', SAMPLE_DB, '--schema-only']);
    expect(b.code, b.stderr).toBe(0);
    const v = await run(['verify', b.json.backup.id, '--level', 'restore']);
    expect(v.code, v.stderr).toBe(0);
    const r = await run(['restore', b.json.backup.id, '--to-database', 'schema_only', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    const got = await tableFingerprints(pg, 'schema_only');
    expect(Object.keys(got).sort()).toEqual(Object.keys(original).sort());
    expect(Object.values(got).every((t) => t.rows === 0)).toBe(true);
  });

  test('data-only records the row counts of the data it holds', async () => {
    const b = await run(['backup', '-c', 'pg', '-d', SAMPLE_DB, '--data-only', '--compression', 'gzip']);
    expect(b.code, b.stderr).toBe(0);
    const show = await run(['show', b.json.backup.id]);
    expect(show.json.manifest.logical.scope.kind).toBe('data-only');
    expect(show.json.manifest.logical.databases[0].rowCounts['public.pgbench_accounts']).toBe(original['public.pgbench_accounts']!.rows);
  });

  test('selected tables only', async () => {
    const b = await run(['backup', '-c', 'pg', '-d', SAMPLE_DB, '-t', 'public.pgbench_tellers', '-t', '"Mixed Schema"."Quoted Table"']);
    expect(b.code, b.stderr).toBe(0);
    const db = (await run(['show', b.json.backup.id])).json.manifest.logical.databases[0];
    expect(Object.keys(db.rowCounts).sort()).toEqual(['Mixed Schema.Quoted Table', 'public.pgbench_tellers']);
    const v = await run(['verify', b.json.backup.id, '--level', 'restore']);
    expect(v.code, v.stderr).toBe(0);
  });

  test('all databases with globals; restore one of them', async () => {
    await pg.psql("DO $$ BEGIN CREATE ROLE lifeboat_test_role; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    const b = await run(['backup', '-c', 'pg', '--all-databases', '--format', 'plain']);
    expect(b.code, b.stderr).toBe(0);
    const m = (await run(['show', b.json.backup.id])).json.manifest;
    expect(m.logical.globals).toBe('globals.sql');
    expect(m.logical.databases.map((d: any) => d.name)).toEqual(expect.arrayContaining(['postgres', SAMPLE_DB, 'victim']));
    const v = await run(['verify', b.json.backup.id, '--level', 'structure']);
    expect(v.code, v.stderr).toBe(0);
    const amb = await run(['restore', b.json.backup.id, '--to-database', 'from_all', '--yes']);
    expect(amb.code).toBe(2);
    expect(amb.stderr).toMatch(/choose one with --database/);
    const r = await run(['restore', b.json.backup.id, '-d', SAMPLE_DB, '--to-database', 'from_all', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(await tableFingerprints(pg, 'from_all')).toEqual(original);
  });
});
