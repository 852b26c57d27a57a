import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { findBinDir, freePort, type PgCluster } from '../harness/pg.js';
import { archiveThroughLifeboat, psqlAt, switchAndWaitArchived } from '../helpers/archiving.js';
import { giveToServer, lifeboatAsServer, serverCanRunLifeboat, workspace, type Workspace } from '../helpers/cli.js';

// In-place recovery of a Debian-managed cluster (pg_createcluster), with the
// server stopped and started through pg_ctlcluster as configured, and a verify
// query. Needs root (pg_createcluster writes /etc/postgresql) and
// postgresql-common; skipped otherwise.
const IS_ROOT = process.getuid?.() === 0;
const HAVE = IS_ROOT && serverCanRunLifeboat && existsSync('/usr/bin/pg_createcluster');
const VERSION = /postgresql\/(\d+)\//.exec(findBinDir())?.[1] ?? '15';
const NAME = `lbtest${process.pid}`;
const DATA = `/var/lib/postgresql/${VERSION}/${NAME}`;
const TS = `/var/lib/postgresql/${NAME}-ts`;

let ws: Workspace;
let port = 0;
const lb = (args: string[]) => lifeboatAsServer(ws.config, args);
const psql = (sql: string) => psqlAt(port, sql);

async function dropCluster(): Promise<void> {
  await execa('pg_dropcluster', ['--stop', VERSION, NAME], { reject: false });
  for (const d of [DATA, TS, `/etc/postgresql/${VERSION}/${NAME}`]) await rm(d, { recursive: true, force: true });
  for (const e of (await import('node:fs')).readdirSync('/var/lib/postgresql')) {
    if (e.startsWith(`${NAME}-ts.lifeboat-`)) await rm(path.join('/var/lib/postgresql', e), { recursive: true, force: true });
  }
  const parent = path.dirname(DATA);
  for (const e of existsSync(parent) ? (await import('node:fs')).readdirSync(parent) : []) {
    if (e.startsWith(`${NAME}.lifeboat-`)) await rm(path.join(parent, e), { recursive: true, force: true });
  }
}

beforeAll(async () => {
  if (!HAVE) return;
  await dropCluster();
  port = await freePort();
  await execa('pg_createcluster', [VERSION, NAME, '-p', String(port), '--start', '-o', 'archive_mode=on', '-o', 'wal_level=replica', '--', '--auth=trust']);
  ws = await workspace({ host: '127.0.0.1', port, user: 'postgres' } as PgCluster, {
    connection: { dataDirectory: DATA, serverControl: { method: 'pg_ctlcluster', version: VERSION, cluster: NAME } },
  });
  await giveToServer(ws);
  await archiveThroughLifeboat(psql, ws.config);
  await psql('CREATE TABLE markers (name text PRIMARY KEY)');
  await execa('install', ['-d', '-o', 'postgres', '-g', 'postgres', '-m', '700', TS]);
  await psql(`CREATE TABLESPACE side LOCATION '${TS}'`);
  await psql('CREATE TABLE far (i int) TABLESPACE side; INSERT INTO far SELECT generate_series(1, 3000)');
}, 120_000);

afterAll(async () => {
  if (!HAVE) return;
  await dropCluster();
  await ws?.cleanup();
});

test.skipIf(!HAVE)('in-place recovery through pg_ctlcluster, with a tablespace, checked by a verify query', async () => {
  const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  await psql("INSERT INTO markers VALUES ('a')");
  expect((await lb(['restore-point', 'p1', '-c', 'pg'])).code).toBe(0);
  await psql("INSERT INTO markers VALUES ('b'); DELETE FROM far WHERE i > 1000");
  await switchAndWaitArchived(psql);

  const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--name', 'p1', '--verify-query', 'SELECT name FROM markers ORDER BY 1']);
  expect(plan.code, plan.stderr).toBe(0);
  expect(plan.json.plan.mode).toBe('in-place');
  const steps = plan.json.plan.steps;
  expect(steps[0].description).toContain(`pg_ctlcluster ${VERSION} ${NAME}`);
  expect(steps.at(-1).description).toMatch(/verify query/);

  const apply = await lb(['--json', 'pitr', 'apply', plan.json.plan.id, '--yes']);
  expect(apply.code, apply.stderr + apply.stdout).toBe(0);
  const done = apply.json.plan.steps;
  expect(done.every((s: any) => s.status === 'done')).toBe(true);
  expect(done[0].detail).toContain('pg_ctlcluster');
  expect(done.at(-1).detail).toMatch(/postgres 2 tables\/3001 rows/);
  expect(done.at(-1).detail).toMatch(/verify query returned 1 row: a/);
  // the cluster is back under pg_ctlcluster's control, at the restore point
  expect((await execa('pg_ctlcluster', [VERSION, NAME, 'status'], { reject: false })).exitCode).toBe(0);
  expect(await psql("SELECT string_agg(name, ',' ORDER BY name) FROM markers")).toBe('a');
  expect(existsSync(`${DATA}.lifeboat-${plan.json.plan.id}`)).toBe(true); // moved aside, never deleted
  // the tablespace is back in its own place with the rows of the restore point; the old one moved aside
  expect(await psql('SELECT count(*) FROM far')).toBe('3000');
  expect(await psql("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'side'")).toBe(TS);
  expect(existsSync(`${TS}.lifeboat-${plan.json.plan.id}`)).toBe(true);
});
