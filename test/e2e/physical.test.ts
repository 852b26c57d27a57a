import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { SAMPLE_DB, startCluster, tableFingerprints, type PgCluster } from '../harness/pg.js';
import { lifeboat, workspace, type Workspace } from '../helpers/cli.js';

let pg: PgCluster;
let ws: Workspace;

beforeAll(async () => {
  pg = await startCluster({ name: 'physical', sampleData: true });
  ws = await workspace(pg);
});

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
});

test('physical backup: pg_basebackup tar stream with WAL, LSNs in the manifest, verified with pg_verifybackup', async () => {
  const before = await pg.psql('SELECT pg_current_wal_lsn()');
  const b = await lifeboat(['--json', 'backup', '-c', 'pg', '--physical', '--tag', 'weekly'], { config: ws.config });
  expect(b.code, b.stderr).toBe(0);
  const id: string = b.json.backup.id;
  expect(id).toMatch(/P-[0-9a-f]{4}$/);
  expect(b.json.backup.kind).toBe('physical');

  const m = (await lifeboat(['--json', 'show', id], { config: ws.config })).json.manifest;
  expect(m.physical.timeline).toBe(1);
  const lsn = (s: string) => BigInt('0x' + s.split('/')[0]) * 2n ** 32n + BigInt('0x' + s.split('/')[1]);
  expect(lsn(m.physical.startLsn)).toBeGreaterThanOrEqual(lsn(before));
  expect(lsn(m.physical.stopLsn)).toBeGreaterThan(lsn(m.physical.startLsn));
  expect(m.physical.walStart).toMatch(/^00000001[0-9A-F]{16}$/);
  expect(m.server.systemIdentifier).toBe(await pg.psql('SELECT system_identifier FROM pg_control_system()'));
  expect(m.objects.map((o: any) => o.name)).toEqual(['base.tar']);

  for (const level of ['structure', 'restore']) {
    const v = await lifeboat(['--json', 'verify', id, '--level', level], { config: ws.config });
    expect(v.code, v.stderr).toBe(0);
  }
  // logical and physical backups share one catalog
  const l = await lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB], { config: ws.config });
  expect(l.code, l.stderr).toBe(0);
  const list = await lifeboat(['list'], { config: ws.config });
  expect(list.stdout).toMatch(new RegExp(`${id}\\s+phy`));
  expect(list.stdout).toMatch(new RegExp(`${l.json.backup.id}\\s+log`));
});

test('a physical backup whose tar lost a file fails structure verification', async () => {
  const b = await lifeboat(['--json', 'backup', '-c', 'pg', '--physical', '--compression', 'none'], { config: ws.config });
  expect(b.code, b.stderr).toBe(0);
  const id = b.json.backup.id;
  const m = (await lifeboat(['--json', 'show', id], { config: ws.config })).json.manifest;
  // rewrite the stored tar without backup_manifest and fix up the manifest's checksum,
  // as if the backup had been taken badly: only the structure check can tell
  const file = path.join(ws.repo, m.objects[0].key);
  const { execa } = await import('execa');
  const dir = path.join(ws.dir, 'untar');
  await execa('mkdir', ['-p', dir]);
  await execa('tar', ['-xf', file, '-C', dir]);
  await execa('tar', ['-cf', file, '-C', dir, '--exclude', './backup_manifest', '.']);
  const buf = await readFile(file);
  const { createHash } = await import('node:crypto');
  m.objects[0].sha256 = createHash('sha256').update(buf).digest('hex');
  m.objects[0].size = buf.length;
  m.storedSize = buf.length;
  await writeFile(path.join(ws.repo, 'pg', 'backup', id, 'manifest.json'), JSON.stringify(m));
  // this host recorded the manifest it wrote: the rewrite is caught by its digest first
  const changed = await lifeboat(['verify', id], { config: ws.config });
  expect(changed.code).toBe(1);
  expect(changed.stderr).toMatch(/manifest digest: manifest\.json changed/);
  // as if the backup had been taken (badly) by another host: only the structure check can tell
  const stateFile = path.join(ws.state, 'state.json');
  const st = JSON.parse(await readFile(stateFile, 'utf8'));
  delete st.manifestDigests[`pg/${id}`];
  await writeFile(stateFile, JSON.stringify(st));
  const v = await lifeboat(['verify', id, '--level', 'structure'], { config: ws.config });
  expect(v.code).toBe(1);
  expect(v.stderr).toMatch(/missing: backup_manifest/);
});

test('restore latest, when the newest backup is physical, restores the newest logical backup (issue 10 item 19)', async () => {
  const l = await lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB], { config: ws.config });
  expect(l.code, l.stderr).toBe(0);
  const p = await lifeboat(['--json', 'backup', '-c', 'pg', '--physical', '--compression', 'none'], { config: ws.config });
  expect(p.code, p.stderr).toBe(0);
  const r = await lifeboat(['--json', 'restore', 'latest', '-c', 'pg', '--to-database', 'latest_copy', '--yes'], { config: ws.config });
  expect(r.code, r.stderr).toBe(0);
  expect(JSON.stringify(r.json)).toContain(l.json.backup.id);
  expect(await tableFingerprints(pg, 'latest_copy')).toEqual(await tableFingerprints(pg, SAMPLE_DB));
  // asked for a database no logical backup holds: says so, names what latest looked for
  const none = await lifeboat(['restore', 'latest', '-c', 'pg', '--database', 'nosuchdb', '--to-database', 'x', '--yes'], { config: ws.config });
  expect(none.code).not.toBe(0);
  expect(none.stderr).toMatch(/no logical backup of database nosuchdb/);
});
