import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { largeObjectFingerprint, SAMPLE_DB, startCluster, tableFingerprints, type PgCluster } from '../harness/pg.js';
import { lifeboat, workspace, type Workspace } from '../helpers/cli.js';

// Backup → verify (all three levels) → restore into a new database gives identical
// content: per table row count and md5 over the rows in a stable order, plus
// large objects, for every format and compression.
let pg: PgCluster;
let ws: Workspace;
let original: Awaited<ReturnType<typeof tableFingerprints>>;
let originalLo: Awaited<ReturnType<typeof largeObjectFingerprint>>;

beforeAll(async () => {
  pg = await startCluster({ name: 'roundtrip', sampleData: true });
  ws = await workspace(pg);
  original = await tableFingerprints(pg, SAMPLE_DB);
  originalLo = await largeObjectFingerprint(pg, SAMPLE_DB);
});

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
});

const formats = ['custom', 'directory', 'plain'] as const;
const compressions = ['zstd', 'gzip', 'none'] as const;

describe.each(formats)('%s format', (format) => {
  test.each(compressions)('%s compression: backup, verify at every level, restore identical', async (compression) => {
    const b = await lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB, '--format', format, '--compression', compression, '--tag', 'daily', '--label', `${format}-${compression}`], { config: ws.config });
    expect(b.code, b.stderr).toBe(0);
    const id: string = b.json.backup.id;
    expect(b.json.backup.format).toBe(format);
    expect(b.json.backup.rawSize).toBeGreaterThan(1_000_000);
    if (compression !== 'none') expect(b.json.backup.storedSize).toBeLessThan(b.json.backup.rawSize);

    // the manifest records per-table row counts from the dump's snapshot
    const show = await lifeboat(['--json', 'show', id], { config: ws.config });
    expect(show.code, show.stderr).toBe(0);
    const db = show.json.manifest.logical.databases[0];
    expect(db.countsInSnapshot).toBe(true);
    for (const [table, fp] of Object.entries(original)) expect(db.rowCounts[table], table).toBe(fp.rows);
    expect(db.largeObjects).toBe(originalLo.count);
    const ext = compression === 'zstd' ? /\.zst$/ : compression === 'gzip' ? /\.gz$/ : /(\.dump|\.sql|\.dat|\.toc)$|\/[0-9]+\.dat$|toc\.dat$/;
    for (const o of show.json.manifest.objects) expect(o.key).toMatch(ext);

    for (const level of ['checksum', 'structure', 'restore']) {
      const v = await lifeboat(['--json', 'verify', id, '--level', level], { config: ws.config });
      expect(v.code, `${level}: ${v.stderr}`).toBe(0);
      expect(v.json.verification.ok).toBe(true);
      expect(v.json.verification.checks.length).toBeGreaterThan(0);
    }
    // the scratch database of the restore-level verification is gone
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_verify_%'")).toBe('0');

    const target = `restored_${format}_${compression}`;
    const r = await lifeboat(['--json', 'restore', id, '--to-database', target, '--yes'], { config: ws.config });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.restore.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(await tableFingerprints(pg, target)).toEqual(original);
    expect(await largeObjectFingerprint(pg, target)).toEqual(originalLo);

    const list = await lifeboat(['--json', 'list'], { config: ws.config });
    const row = list.json.backups.find((x: { id: string }) => x.id === id);
    expect(row.verification).toMatchObject({ level: 'restore', ok: true });
    expect(row.label).toBe(`${format}-${compression}`);
    await pg.psql(`DROP DATABASE "${target}"`);
  });
});

test('two restore-level verifications of one backup at once both pass: each has its own scratch database (issue 10 item 9)', async () => {
  const b = await lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB], { config: ws.config });
  expect(b.code, b.stderr).toBe(0);
  const id: string = b.json.backup.id;
  const runs = await Promise.all([0, 1].map(() => lifeboat(['--json', 'verify', id, '--level', 'restore'], { config: ws.config })));
  for (const v of runs) {
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.verification.ok).toBe(true);
  }
  const show = await lifeboat(['--json', 'show', id], { config: ws.config });
  expect(show.json.verifications.map((v: { ok: boolean }) => v.ok)).toEqual([true, true]); // no false FAILED stored
  expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_verify_%'")).toBe('0');
});
