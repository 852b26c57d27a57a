import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PgCluster } from '../harness/pg.js';
import { startArchivingCluster, switchAndWaitArchived } from '../helpers/archiving.js';
import { lifeboatAsServer, serverCanRunLifeboat, unwrap, type Workspace } from '../helpers/cli.js';

// Retention that respects PITR, on a real cluster archiving through lifeboat:
// three physical backups with WAL between them, plus logical ones.
let pg: PgCluster;
let ws: Workspace;
const physical: { id: string; walStart: string }[] = [];
const logical: string[] = [];

const lb = (args: string[]) => lifeboatAsServer(ws.config, args);

/** Every object key in the repository, relative to it. */
async function repoKeys(): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(ws.repo, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(path.relative(ws.repo, path.join(e.parentPath ?? (e as any).path, e.name)));
  }
  return out.sort();
}
const walNames = (keys: string[]) => keys.filter((k) => k.startsWith('pg/wal/')).map((k) => path.basename(k).slice(0, -69)).sort();

beforeAll(async () => {
  if (!serverCanRunLifeboat) return;
  ({ pg, ws } = await startArchivingCluster('retention'));
  await pg.psql('CREATE TABLE t (i int)');
  for (let n = 0; n < 3; n++) {
    await pg.psql(`INSERT INTO t SELECT generate_series(1, 1000); SELECT pg_switch_wal();`);
    const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
    expect(b.code, b.stderr).toBe(0);
    const show = await lb(['--json', 'show', b.json.backup.id]);
    physical.push({ id: b.json.backup.id, walStart: show.json.manifest.physical.walStart });
    const l = await lb(['--json', 'backup', '-c', 'pg', '--logical']);
    expect(l.code, l.stderr).toBe(0);
    logical.push(l.json.backup.id);
    await pg.psql(`INSERT INTO t SELECT generate_series(1, 1000); SELECT pg_switch_wal();`);
  }
  await switchAndWaitArchived(pg.psql);
  expect(await pg.psql('SELECT failed_count FROM pg_stat_archiver')).toBe('0');
}, 180_000);

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
});

describe.skipIf(!serverCanRunLifeboat)('retention that respects PITR', () => {
  test('without a policy, expire refuses and says how to give one', async () => {
    const r = await lb(['expire', '-c', 'pg', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no retention policy for cluster pg/);
    expect(r.stderr).toMatch(/--keep-physical/);
  });

  test('--dry-run lists exactly the oldest backups and the WAL before the oldest kept base backup, and changes nothing', async () => {
    const before = await repoKeys();
    const r = await lb(['--json', 'expire', '-c', 'pg', '--keep-physical', '2', '--keep-logical', '1', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    const plan = r.json.plan;
    expect(plan.remove.map((b: any) => b.id).sort()).toEqual([physical[0]!.id, logical[0]!, logical[1]!].sort());
    expect(plan.wal.keepFrom).toBe(physical[1]!.walStart);
    const walBefore = walNames(before);
    const expected = walBefore.filter((n) => !n.endsWith('.history') && n.slice(8) < physical[1]!.walStart.slice(8));
    expect(expected.length).toBeGreaterThan(2);
    expect(plan.wal.files.map((f: any) => f.name).sort()).toEqual(expected);
    // everything the plan names exists; nothing was touched
    for (const b of plan.remove) for (const k of b.objects) expect(before).toContain(k);
    expect(await repoKeys()).toEqual(before);
    const human = await lb(['expire', '-c', 'pg', '--keep-physical', '2', '--keep-logical', '1', '--dry-run']);
    expect(human.stdout).toMatch(/dry run: nothing was changed/);
    expect(unwrap(human.stdout)).toContain(`kept from ${physical[1]!.walStart}`); // the line folds at 80 columns
  });

  test('without --yes and without a TTY, nothing is removed', async () => {
    const before = await repoKeys();
    const r = await lb(['expire', '-c', 'pg', '--keep-physical', '2', '--keep-logical', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs confirmation/);
    expect(await repoKeys()).toEqual(before);
  });

  test('deleting the middle physical backup keeps the WAL the oldest one still needs', async () => {
    const walBefore = walNames(await repoKeys());
    const r = await lb(['--json', 'delete', physical[1]!.id, '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.plan.wal.keepFrom).toBe(physical[0]!.walStart);
    // only WAL from before the oldest base backup (which no backup needs) may go
    const needed = walBefore.filter((n) => n.endsWith('.history') || n.slice(8) >= physical[0]!.walStart.slice(8));
    const keys = await repoKeys();
    expect(keys.some((k) => k.includes(physical[1]!.id))).toBe(false);
    expect(walNames(keys)).toEqual(needed);
    expect(r.json.plan.wal.files.every((f: any) => f.name.slice(8) < physical[0]!.walStart.slice(8))).toBe(true);
    const list = await lb(['--json', 'list', '-c', 'pg']);
    expect(list.json.backups.map((b: any) => b.id)).not.toContain(physical[1]!.id);
  });

  test('a pinned backup stays; expire removes the rest and the WAL only the removed one needed; PITR still works', async () => {
    const pin = await lb(['pin', logical[0]!]);
    expect(pin.code, pin.stderr).toBe(0);
    // the dry run shows the plan: kept, and why (issue 11 item 17: it used to refuse to show one)
    const dry = await lb(['delete', logical[0]!, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(unwrap(dry.stdout)).toMatch(new RegExp(`note: backup ${logical[0]} is pinned: delete refuses it \\(lifeboat (--config \\S+ )?unpin ${logical[0]} first, or --force\\)`));
    const del = await lb(['delete', logical[0]!, '--yes']);
    expect(del.code).toBe(2);
    expect(del.stderr).toMatch(/is pinned/);

    const r = await lb(['--json', 'expire', '-c', 'pg', '--keep-physical', '1', '--keep-logical', '1', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.plan.remove.map((b: any) => b.id).sort()).toEqual([physical[0]!.id, logical[1]!].sort());
    const keys = await repoKeys();
    const left = walNames(keys);
    expect(left.filter((n) => !n.endsWith('.history') && n.slice(8) < physical[2]!.walStart.slice(8))).toEqual([]);
    expect(left.some((n) => n.startsWith(physical[2]!.walStart))).toBe(true);
    const list = await lb(['--json', 'list', '-c', 'pg']);
    const ids = list.json.backups.map((b: any) => b.id).sort();
    expect(ids).toEqual([physical[2]!.id, logical[0]!, logical[2]!].sort());
    expect(list.json.backups.find((b: any) => b.id === logical[0]).pinned).toBe(true);
    // the kept base backup still has a whole WAL range: wal verify is clean and a PITR plan is made
    const wv = await lb(['--json', 'wal', 'verify', '-c', 'pg']);
    expect(wv.code, wv.stdout + wv.stderr).toBe(0);
    const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', path.join(ws.dir, 'never'), '--port', '1']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.json.plan.backupId).toBe(physical[2]!.id);
    // nothing orphaned
    const gc = await lb(['--json', 'repo', 'gc', '--dry-run']);
    expect(gc.json.removed).toEqual([]);
  });
});
