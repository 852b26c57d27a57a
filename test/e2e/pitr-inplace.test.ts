import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort, type PgCluster } from '../harness/pg.js';
import { startArchivingCluster, psqlAt, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { giveToServer, lifeboatAsServer, serverCanRunLifeboat, type Workspace } from '../helpers/cli.js';

// In-place recovery of a running cluster, resumed step by step, then a second
// recovery that follows the new timeline through the archived history file.
const canRun = serverCanRunLifeboat;

let pg: PgCluster;
let ws: Workspace;
const copies: string[] = [];

const lb = (args: string[]) => lifeboatAsServer(ws.config, args);

async function waitArchived(): Promise<void> {
  if (!(await switchAndWaitArchived(pg.psql))) throw new Error('the current segment was not archived');
}

const markers = (port = pg.port) => psqlAt(port, "SELECT coalesce(string_agg(name, ',' ORDER BY name), '') FROM markers");

beforeAll(async () => {
  if (!canRun) return;
  ({ pg, ws } = await startArchivingCluster('pitr-inplace'));
  await pg.psql('CREATE TABLE markers (name text PRIMARY KEY)');
}, 120_000);

afterAll(async () => {
  for (const d of copies) await stopDataDir(d);
  await pg?.stop();
  await ws?.cleanup();
});

test.skipIf(!canRun)('in-place recovery, interrupted and resumed; then a second recovery on the new timeline', async () => {
  const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  await pg.psql("INSERT INTO markers VALUES ('a')");
  const rp = await lb(['--json', 'restore-point', 'p1', '-c', 'pg']);
  expect(rp.code, rp.stderr).toBe(0);
  expect(rp.json.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  await pg.psql("INSERT INTO markers VALUES ('b')");
  await waitArchived();

  const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--name', 'p1']);
  expect(plan.code, plan.stderr).toBe(0);
  const id: string = plan.json.plan.id;
  expect(plan.json.plan.mode).toBe('in-place');
  expect(plan.json.plan.dataDir).toBe(pg.dataDir);
  expect(plan.json.plan.steps.map((s: any) => s.name)).toEqual(['stop-server', 'move-aside', 'restore-base', 'write-recovery', 'start', 'follow', 'verify']);

  // without a TTY and without --yes nothing happens
  const refused = await lb(['pitr', 'apply', id]);
  expect(refused.code).toBe(2);
  expect(await markers()).toBe('a,b');

  // step by step, then interrupted: the rest resumes from the recorded step
  expect((await lb(['pitr', 'apply', id, '--step', '1', '--yes'])).code).toBe(0);
  const early = await lb(['pitr', 'apply', id, '--step', '4', '--yes']);
  expect(early.code).toBe(2);
  expect(early.stderr).toMatch(/needs step 2 \(move-aside\) done first/);
  expect((await lb(['pitr', 'apply', id, '--step', '2', '--yes'])).code).toBe(0);
  const shown = await lb(['--json', 'pitr', 'show', id]);
  expect(shown.json.plan.steps.map((s: any) => s.status)).toEqual(['done', 'done', 'pending', 'pending', 'pending', 'pending', 'pending']);
  const rest = await lb(['--json', 'pitr', 'apply', id, '--yes']);
  expect(rest.code, rest.stderr).toBe(0);
  expect(rest.json.plan.steps.every((s: any) => s.status === 'done')).toBe(true);
  expect(await markers()).toBe('a');
  expect((await stat(`${pg.dataDir}.lifeboat-${id}`)).isDirectory()).toBe(true); // moved aside, never deleted
  expect(await pg.psql('SELECT timeline_id FROM pg_control_checkpoint()')).not.toBe('1');

  // the recovered cluster goes on archiving on its new timeline
  await pg.psql("INSERT INTO markers VALUES ('c')");
  await waitArchived();
  const port = await freePort();
  const dir = path.join(ws.dir, 'second');
  copies.push(dir);
  const second = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(port)]);
  expect(second.code, second.stderr).toBe(0);
  expect(second.json.plan.wal.timeline).toBeGreaterThan(1);
  const applied = await lb(['pitr', 'apply', second.json.plan.id, '--yes']);
  expect(applied.code, applied.stderr).toBe(0);
  expect(await markers(port)).toBe('a,c');
});

test.skipIf(!canRun)('a stale dataDirectory in the config: the restored server cannot take the port, and no step takes the live server for it (issue 10 item 4)', async () => {
  const before = await markers();
  // an old copy the config still names; the live server runs elsewhere, on the configured port
  const stale = path.join(ws.dir, 'stale-datadir');
  await mkdir(stale);
  await writeFile(path.join(stale, 'PG_VERSION'), '15\n');
  const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
  cfg.clusters.pg.connection.dataDirectory = stale;
  const staleConfig = path.join(ws.dir, 'stale-config.json');
  await writeFile(staleConfig, JSON.stringify(cfg));
  await giveToServer(ws);
  copies.push(stale);
  const plan = await lifeboatAsServer(staleConfig, ['--json', 'pitr', 'plan', '-c', 'pg', '--latest']);
  expect(plan.code, plan.stderr).toBe(0);
  expect(plan.json.plan.dataDir).toBe(stale);
  expect(plan.json.plan.port).toBe(pg.port);
  const apply = await lifeboatAsServer(staleConfig, ['pitr', 'apply', plan.json.plan.id, '--yes']);
  expect(apply.code, apply.stdout).toBe(1);
  expect(apply.stderr).toMatch(new RegExp(`port ${pg.port} is answered by (the server of \\S+|another server), not by the one started on ${stale}`));
  expect(apply.stdout).not.toMatch(/follow done|verify done/);
  // the live server was neither stopped nor counted: same rows, not in recovery
  expect(await markers()).toBe(before);
  expect(await pg.psql('SELECT pg_is_in_recovery()')).toBe('f');
});
