import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort, type PgCluster } from '../harness/pg.js';
import { startArchivingCluster, psqlAt, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { lifeboatAsServer, serverCanRunLifeboat, type Workspace } from '../helpers/cli.js';

// A cluster with a tablespace outside its data directory: physical backup
// (one tar per tablespace), pg_verifybackup over all of them, and a side-by-side
// recovery whose tablespace lands next to the new data directory.
const IS_ROOT = process.getuid?.() === 0;
let pg: PgCluster;
let ws: Workspace;
let copy = '';
const lb = (args: string[]) => lifeboatAsServer(ws.config, args);
const FP = "SELECT count(*) || ':' || md5(string_agg(i::text || v, ',' ORDER BY i)) FROM";


beforeAll(async () => {
  if (!serverCanRunLifeboat) return;
  ({ pg, ws } = await startArchivingCluster('tblspc'));
  const loc = path.join(pg.dir, 'ts-fast');
  await mkdir(loc);
  if (IS_ROOT) await execa('chown', [`${pg.osUser}:`, loc]);
  await pg.psql(`CREATE TABLESPACE fast LOCATION '${loc}'`);
  await pg.psql("CREATE TABLE hot (i int PRIMARY KEY, v text) TABLESPACE fast; INSERT INTO hot SELECT g, md5(g::text) FROM generate_series(1, 20000) g");
  await pg.psql("CREATE TABLE cold (i int, v text); INSERT INTO cold SELECT g, 'x' || g FROM generate_series(1, 500) g");
}, 120_000);

afterAll(async () => {
  if (copy) {
    await stopDataDir(copy);
    await rm(`${copy}-tablespaces`, { recursive: true, force: true });
  }
  await pg?.stop();
  await ws?.cleanup();
});

test.skipIf(!serverCanRunLifeboat)('a tablespace is backed up, verified and recovered side by side to a new location', async () => {
  const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  const id = b.json.backup.id;
  const show = await lb(['--json', 'show', id]);
  const m = show.json.manifest;
  expect(m.physical.tablespaces).toHaveLength(1);
  const oid = m.physical.tablespaces[0].oid;
  expect(m.objects.map((o: any) => o.name).sort()).toEqual(['backup_manifest', 'base.tar', `tablespace-${oid}.tar`]);
  for (const level of ['structure', 'restore']) {
    const v = await lb(['--json', 'verify', id, '--level', level]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.json.verification.checks.every((c: any) => c.ok)).toBe(true);
  }

  // rows written after the backup come back through the archived WAL
  await pg.psql("INSERT INTO hot SELECT g, md5(g::text) FROM generate_series(20001, 25000) g");
  const want = { hot: await pg.psql(`${FP} hot`), cold: await pg.psql(`${FP} cold`) };
  await switchAndWaitArchived(pg.psql);

  const port = await freePort();
  copy = path.join(ws.dir, 'copy');
  const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', copy, '--port', String(port)]);
  expect(plan.code, plan.stderr).toBe(0);
  // restore first, look, then go on (--through)
  const first = await lb(['--json', 'pitr', 'apply', plan.json.plan.id, '--through', '2', '--yes']);
  expect(first.code, first.stderr).toBe(0);
  expect(first.json.plan.steps.map((s: any) => s.status)).toEqual(['done', 'done', 'pending', 'pending', 'pending', 'pending']);
  expect(existsSync(path.join(copy, 'PG_VERSION'))).toBe(true);
  const apply = await lb(['--json', 'pitr', 'apply', plan.json.plan.id, '--yes']);
  expect(apply.code, apply.stderr + apply.stdout).toBe(0);
  expect(await psqlAt(port, `${FP} hot`)).toBe(want.hot);
  expect(await psqlAt(port, `${FP} cold`)).toBe(want.cold);
  expect(await psqlAt(port, "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'fast'")).toBe(path.join(`${copy}-tablespaces`, oid));
  // the original keeps its own tablespace, untouched
  expect(await pg.psql("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'fast'")).toBe(path.join(pg.dir, 'ts-fast'));
  expect(await pg.psql(`${FP} hot`)).toBe(want.hot);
  expect(existsSync(path.join(`${copy}-tablespaces`, oid))).toBe(true);
});
