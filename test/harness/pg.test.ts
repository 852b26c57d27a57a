import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgCluster,
  SAMPLE_DB,
  SAMPLE_LARGE_OBJECT_OIDS,
  largeObjectFingerprint,
  sequenceValues,
  startCluster,
  tableFingerprints,
} from './pg.js';

describe('test harness: throwaway PostgreSQL cluster', () => {
  let pg: PgCluster;

  beforeAll(async () => {
    pg = await startCluster({ name: 'harness', sampleData: true });
  }, 120_000);

  afterAll(async () => {
    await pg?.stop();
  }, 60_000);

  it('starts a reachable cluster on 127.0.0.1', async () => {
    expect(pg.host).toBe('127.0.0.1');
    expect(pg.port).toBeGreaterThan(0);
    expect(pg.env).toMatchObject({ PGHOST: '127.0.0.1', PGPORT: String(pg.port), PGUSER: 'postgres' });
    expect(pg.sampleDb).toBe(SAMPLE_DB);
    expect(await pg.psql("SELECT current_user || ' ' || current_setting('server_encoding')")).toBe('postgres UTF8');
    await expect(pg.psql('SELECT 1/0')).rejects.toThrow(/division by zero/);
  });

  it('fingerprints the sample data', async () => {
    const fp = await tableFingerprints(pg, SAMPLE_DB);
    expect(Object.keys(fp).length).toBeGreaterThanOrEqual(10);
    for (const [key, { rows, md5 }] of Object.entries(fp)) {
      expect(md5, key).toMatch(/^[0-9a-f]{32}$/);
      expect(rows, key).toBeGreaterThanOrEqual(0);
    }
    expect(fp['Mixed Schema.Quoted Table']?.rows).toBe(3);
    expect(fp['public.empty_table']).toEqual({ rows: 0, md5: 'd41d8cd98f00b204e9800998ecf8427e' });
    expect(fp['public.pgbench_accounts']?.rows).toBe(100_000);
    // partitions are fingerprinted, the partitioned parent is not
    expect(fp['public.measurements']).toBeUndefined();
    for (const part of ['measurements_2023', 'measurements_2024', 'measurements_default']) {
      expect(fp[`public.${part}`]?.rows, part).toBeGreaterThan(0);
    }
    // no system tables
    expect(Object.keys(fp).filter((k) => /^(pg_|information_schema\.)/.test(k))).toEqual([]);

    const lo = await largeObjectFingerprint(pg, SAMPLE_DB);
    expect(lo.count).toBeGreaterThanOrEqual(2);
    expect(lo.md5).toMatch(/^[0-9a-f]{32}$/);
    const bigLo = await pg.psql('SELECT max(octet_length(lo_get(oid))) FROM pg_largeobject_metadata', SAMPLE_DB);
    expect(Number(bigLo)).toBeGreaterThanOrEqual(1_000_000);

    expect(await sequenceValues(pg, SAMPLE_DB)).toMatchObject({ 'public.events_id_seq': '1000' });
  });

  it('gives identical fingerprints for a template copy and detects a one-row change', async () => {
    await pg.createDatabase('copy', { template: SAMPLE_DB });
    const [orig, copy] = [await tableFingerprints(pg, SAMPLE_DB), await tableFingerprints(pg, 'copy')];
    expect(copy).toEqual(orig);
    expect(await largeObjectFingerprint(pg, 'copy')).toEqual(await largeObjectFingerprint(pg, SAMPLE_DB));

    await pg.psql(`UPDATE "Mixed Schema"."Quoted Table" SET "Value Text" = 'changed' WHERE "Id" = 1`, 'copy');
    await pg.psql(`SELECT lo_put(${SAMPLE_LARGE_OBJECT_OIDS[1]}, 500000, '\\x00'::bytea)`, 'copy');
    const changed = await tableFingerprints(pg, 'copy');
    expect(changed['Mixed Schema.Quoted Table']?.rows).toBe(3);
    expect(changed['Mixed Schema.Quoted Table']?.md5).not.toBe(orig['Mixed Schema.Quoted Table']?.md5);
    const { ['Mixed Schema.Quoted Table']: _a, ...restChanged } = changed;
    const { ['Mixed Schema.Quoted Table']: _b, ...restOrig } = orig;
    expect(restChanged).toEqual(restOrig);
    expect((await largeObjectFingerprint(pg, 'copy')).md5).not.toBe((await largeObjectFingerprint(pg, SAMPLE_DB)).md5);
  });

  it('stop() shuts the server down, removes the directory and is idempotent', async () => {
    const { dir, dataDir } = pg;
    expect(existsSync(dataDir)).toBe(true);
    await pg.stop();
    expect(existsSync(dir)).toBe(false);
    await pg.stop();
    await expect(pg.psql('SELECT 1')).rejects.toThrow(/failed/);
  }, 60_000);
});
