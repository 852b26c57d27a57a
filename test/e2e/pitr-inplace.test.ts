import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
  // the state file is a cache and may go (or be damaged) at the worst moment: the plan is its own file (issue 12 item 4)
  await rm(path.join(ws.state, 'state.json'), { force: true });
  const afterLoss = await lb(['--json', 'pitr', 'show', id]);
  expect(afterLoss.code, afterLoss.stderr).toBe(0);
  expect(afterLoss.json.plan.steps.map((s: any) => s.status)).toEqual(['done', 'done', 'pending', 'pending', 'pending', 'pending', 'pending']);
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
  // which of the two shows first is a race: the live server answering, or the restored one failing to bind
  expect(apply.stderr).toMatch(
    new RegExp(`port ${pg.port} is answered by (the server of \\S+|another server), not by the one started on ${stale}|the recovering server stopped .*could not create any TCP/IP sockets`),
  );
  expect(apply.stdout).not.toMatch(/follow done|verify done/);
  // the live server was neither stopped nor counted: same rows, not in recovery
  expect(await markers()).toBe(before);
  expect(await pg.psql('SELECT pg_is_in_recovery()')).toBe('f');
});

/** Flip one byte in the middle of physical backup `id`'s base.tar object; returns a function that puts it back. */
async function damageBase(id: string): Promise<{ restore: () => Promise<void> }> {
  const shown = await lb(['--json', 'show', id]);
  const obj = shown.json.manifest.objects.find((o: any) => o.name === 'base.tar');
  const file = path.join(ws.repo, obj.key);
  const original = await readFile(file);
  const bytes = Buffer.from(original);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
  await writeFile(file, bytes);
  return { restore: () => writeFile(file, original) };
}

test.skipIf(!canRun)('in place from a damaged base backup: refused before the server is stopped; damage found while extracting puts everything back and restarts the server (issue 10 item 3)', async () => {
  await pg.psql("INSERT INTO markers VALUES ('d')");
  await waitArchived();
  const before = await markers();
  const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest']);
  expect(plan.code, plan.stderr).toBe(0);
  const id: string = plan.json.plan.id;
  expect(plan.json.plan.dataDir).toBe(pg.dataDir);
  const aside = `${pg.dataDir}.lifeboat-${id}`;

  // damage the checksum catches up front: nothing is stopped or moved
  let damage = await damageBase(plan.json.plan.backupId);
  const refused = await lb(['pitr', 'apply', id, '--yes']);
  expect(refused.code, refused.stdout).toBe(1);
  expect(refused.stderr).toMatch(/object base\.tar of backup \S+ does not match its manifest .*the server was not stopped and nothing was moved/);
  expect(await markers()).toBe(before);
  expect(existsSync(aside)).toBe(false);
  await damage.restore();

  // damage that shows only while extracting (here: made after the server was stopped and moved aside)
  const first = await lb(['pitr', 'apply', id, '--yes', '--through', '2']);
  expect(first.code, first.stderr).toBe(0);
  expect(existsSync(aside)).toBe(true);
  damage = await damageBase(plan.json.plan.backupId);
  const failed = await lb(['--json', 'pitr', 'apply', id, '--yes']);
  expect(failed.code, failed.stdout).toBe(1);
  expect(failed.stderr).toContain(`restoring base backup ${plan.json.plan.backupId} failed`);
  expect(failed.stderr).toContain(`${pg.dataDir} was put back from ${aside}`);
  expect(failed.stderr).toMatch(/the server was started again/);
  expect(existsSync(aside)).toBe(false);
  expect(existsSync(path.join(pg.dataDir, `lifeboat-pitr-${id}`))).toBe(false);
  expect(await markers()).toBe(before); // the original server, back with all its rows
  expect(await pg.psql('SELECT pg_is_in_recovery()')).toBe('f');
  const shown = await lb(['--json', 'pitr', 'show', id]);
  expect(shown.json.plan.steps.map((s: any) => s.status).slice(0, 3)).toEqual(['pending', 'pending', 'failed']);
  await damage.restore();

  // with the backup whole again, the same plan runs from the start and recovers
  const retry = await lb(['--json', 'pitr', 'apply', id, '--yes']);
  expect(retry.code, retry.stderr).toBe(0);
  expect(await markers()).toBe(before);
  expect(existsSync(aside)).toBe(true);
});

test.skipIf(!canRun)('side by side from a damaged base backup: the partial copy is removed, an empty target directory given stays (issue 10 item 3)', async () => {
  const newest = (await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', path.join(ws.dir, 'never'), '--port', '1'])).json.plan.backupId;
  const damage = await damageBase(newest);
  try {
    for (const given of [false, true]) {
      const dir = path.join(ws.dir, `partial-${given}`);
      if (given) await mkdir(dir, { mode: 0o700 });
      await giveToServer(ws);
      copies.push(dir);
      const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(await freePort())]);
      expect(plan.code, plan.stderr).toBe(0);
      const apply = await lb(['pitr', 'apply', plan.json.plan.id, '--yes']);
      expect(apply.code, apply.stdout).toBe(1);
      expect(apply.stderr).toContain(`the partial copy in ${dir} was removed`);
      if (given) expect(await readdir(dir)).toEqual([]);
      else expect(existsSync(dir)).toBe(false);
    }
  } finally {
    await damage.restore();
  }
});
