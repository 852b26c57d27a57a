/**
 * The pg_waldump parser of the target finder, fed real pg_waldump 15 output
 * (captured from a throwaway cluster; TZ=UTC). Bursts repeat one real DELETE
 * or UPDATE line with consecutive LSNs, exactly as pg_waldump prints them.
 */
import { describe, expect, test } from 'vitest';
import type { PitrCandidate, RelationMap } from '../../src/core/pitr.js';
import { selectWalRange } from '../../src/agent/units/pitr-targets.js';
import { CandidateCollector, candidatesOf, fileId, parseWaldumpLine, RelationNames, touchesRelation, WalScanner, waldumpTime, type ScanEvent } from '../../plugins/postgres/targets.js';

// --- real lines --------------------------------------------------------------
const RESTORE_POINT = 'rmgr: XLOG        len (rec/tot):     98/    98, tx:          0, lsn: 0/020AD170, prev 0/020AD148, desc: RESTORE_POINT before-damage';
const COMMIT_731 = 'rmgr: Transaction len (rec/tot):     34/    34, tx:        731, lsn: 0/020AD148, prev 0/020AD0E8, desc: COMMIT 2026-11-21 10:03:44.282529 UTC';
/** DELETE FROM app.keep WHERE id <= 2500 (xid 732): one record per row */
const DELETE_732 = 'rmgr: Heap        len (rec/tot):     54/    54, tx:        732, lsn: 0/020AD1D8, prev 0/020AD170, desc: DELETE off 1 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16385 blk 0';
const COMMIT_732 = 'rmgr: Transaction len (rec/tot):     34/    34, tx:        732, lsn: 0/020CF650, prev 0/020CF618, desc: COMMIT 2026-11-21 10:03:44.284215 UTC';
/** DROP TABLE app.gone (xid 733): heap 16392, TOAST 16395, TOAST index 16396 */
const DROP_733 = [
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        733, lsn: 0/020CF678, prev 0/020CF650, desc: LOCK xid 733 db 5 rel 16392 ',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        733, lsn: 0/020CF6A8, prev 0/020CF678, desc: LOCK xid 733 db 5 rel 16395 ',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        733, lsn: 0/020CF6D8, prev 0/020CF6A8, desc: LOCK xid 733 db 5 rel 16396 ',
  'rmgr: Heap        len (rec/tot):     54/    54, tx:        733, lsn: 0/020CF708, prev 0/020CF6D8, desc: DELETE off 2 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/2610 blk 1',
  'rmgr: Heap        len (rec/tot):     54/    54, tx:        733, lsn: 0/020CF740, prev 0/020CF708, desc: DELETE off 16 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/1249 blk 56',
  'rmgr: Heap        len (rec/tot):     54/    54, tx:        733, lsn: 0/020CF7B0, prev 0/020CF778, desc: DELETE off 9 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/1259 blk 0',
  'rmgr: Transaction len (rec/tot):   1061/  1061, tx:        733, lsn: 0/020CFDD0, prev 0/020CFD98, desc: COMMIT 2026-11-21 10:03:44.284942 UTC; rels: base/5/16392 base/5/16395 base/5/16396; dropped stats: 2/5/16396 2/5/16395 2/5/16392; inval msgs: catcache 32 catcache 7 catcache 6 relcache 16396 relcache 16395 snapshot 2608 relcache 16392 snapshot 2608',
];
/** TRUNCATE app.trunc at wal_level=replica (xid 734): new files, nothing written into them but an index metapage */
const TRUNCATE_734 = [
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        734, lsn: 0/020D0210, prev 0/020CFDD0, desc: LOCK xid 734 db 5 rel 16397 ',
  'rmgr: Storage     len (rec/tot):     42/    42, tx:        734, lsn: 0/020D0240, prev 0/020D0210, desc: CREATE base/5/16405',
  'rmgr: Heap        len (rec/tot):    123/   123, tx:        734, lsn: 0/020D0270, prev 0/020D0240, desc: UPDATE off 14 xmax 734 flags 0x60 ; new off 16 xmax 0, blkref #0: rel 1663/5/1259 blk 0',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        734, lsn: 0/020D03B8, prev 0/020D0378, desc: LOCK xid 734 db 5 rel 16400 ',
  'rmgr: Storage     len (rec/tot):     42/    42, tx:        734, lsn: 0/020D03E8, prev 0/020D03B8, desc: CREATE base/5/16406',
  'rmgr: Heap2       len (rec/tot):     56/    56, tx:        734, lsn: 0/020D0568, prev 0/020D0528, desc: PRUNE latestRemovedXid 733 nredirected 0 ndead 1, blkref #0: rel 1663/5/2610 blk 1',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        734, lsn: 0/020D05A0, prev 0/020D0568, desc: LOCK xid 734 db 5 rel 16401 ',
  'rmgr: Storage     len (rec/tot):     42/    42, tx:        734, lsn: 0/020D05D0, prev 0/020D05A0, desc: CREATE base/5/16407',
  'rmgr: XLOG        len (rec/tot):     49/   137, tx:        734, lsn: 0/020D0738, prev 0/020D06F8, desc: FPI , blkref #0: rel 1663/5/16407 blk 0 FPW',
  'rmgr: Transaction len (rec/tot):    266/   266, tx:        734, lsn: 0/020D07C8, prev 0/020D0738, desc: COMMIT 2026-11-21 10:03:44.285987 UTC; rels: base/5/16401 base/5/16400 base/5/16397; inval msgs: catcache 55 catcache 54 catcache 55 catcache 54 catcache 55 catcache 54 relcache 16397 relcache 16400 relcache 16401 relcache 16400 relcache 16401',
];
/** BEGIN; DELETE FROM app.keep WHERE id = 2900; ROLLBACK (xid 735) */
const ABORTED_735 = [
  'rmgr: Heap        len (rec/tot):     54/    54, tx:        735, lsn: 0/020D08D8, prev 0/020D07C8, desc: DELETE off 20 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16385 blk 24',
  'rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/020D0910, prev 0/020D08D8, desc: ABORT 2026-11-21 10:03:44.286413 UTC',
];
const DROP_DATABASE_737 = [
  'rmgr: Database    len (rec/tot):     38/    38, tx:        737, lsn: 0/0341F6D8, prev 0/0341F660, desc: DROP dir 1663/16408',
  'rmgr: Transaction len (rec/tot):     98/    98, tx:        737, lsn: 0/0341F700, prev 0/0341F6D8, desc: COMMIT 2026-11-21 10:04:03.315389 UTC; dropped stats: 1/16408/0; inval msgs: catcache 21 catcache 21; sync',
];
/** SAVEPOINT a; DELETE 100 rows; RELEASE a; SAVEPOINT b; DELETE 100 rows; ROLLBACK TO b; COMMIT (top 738, subxacts 739 kept, 740 rolled back) */
const DELETE_739 = 'rmgr: Heap        len (rec/tot):     54/    54, tx:        739, lsn: 0/03421DB8, prev 0/03421680, desc: DELETE off 101 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16385 blk 20';
const DELETE_740 = 'rmgr: Heap        len (rec/tot):     54/    54, tx:        740, lsn: 0/034253C8, prev 0/03425390, desc: DELETE off 81 flags 0x00 KEYS_UPDATED , blkref #0: rel 1663/5/16385 blk 21';
const ABORT_740 = 'rmgr: Transaction len (rec/tot):     34/    34, tx:        740, lsn: 0/034289D8, prev 0/034289A0, desc: ABORT 2026-11-21 10:04:03.316352 UTC';
const COMMIT_738 = 'rmgr: Transaction len (rec/tot):     46/    46, tx:        738, lsn: 0/03428A00, prev 0/034289D8, desc: COMMIT 2026-11-21 10:04:03.316460 UTC; subxacts: 739';
/** UPDATE app.keep SET v = 'x' WHERE id > 2600 (xid 741) */
const UPDATE_741 = 'rmgr: Heap        len (rec/tot):     80/    80, tx:        741, lsn: 0/03441160, prev 0/03441128, desc: UPDATE off 96 xmax 741 flags 0x00 ; new off 110 xmax 0, blkref #0: rel 1663/5/16385 blk 26, blkref #1: rel 1663/5/16385 blk 24';
const COMMIT_741 = 'rmgr: Transaction len (rec/tot):     34/    34, tx:        741, lsn: 0/034424C8, prev 0/03442488, desc: COMMIT 2026-11-21 10:04:03.317677 UTC';
/** TRUNCATE app.trunc, app.keep at wal_level=logical (xid 755): a Heap TRUNCATE record names the oids */
const TRUNCATE_LOGICAL_755 = [
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        755, lsn: 0/04053F00, prev 0/04053ED0, desc: LOCK xid 755 db 5 rel 16397 ',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        755, lsn: 0/04053F30, prev 0/04053F00, desc: LOCK xid 755 db 5 rel 16385 ',
  'rmgr: Storage     len (rec/tot):     42/    42, tx:        755, lsn: 0/04053F80, prev 0/04053F60, desc: CREATE base/5/16413',
  'rmgr: Storage     len (rec/tot):     42/    42, tx:        755, lsn: 0/0405A698, prev 0/0405A658, desc: CREATE base/5/16416',
  'rmgr: Heap        len (rec/tot):     46/    46, tx:        755, lsn: 0/0405C848, prev 0/0405C808, desc: TRUNCATE nrelids 2 relids 16397 16385',
  'rmgr: Transaction len (rec/tot):    573/   573, tx:        755, lsn: 0/0405C878, prev 0/0405C848, desc: COMMIT 2026-11-21 10:05:28.954457 UTC; rels: base/5/16389 base/5/16390 base/5/16388 base/5/16385 base/5/16407 base/5/16406 base/5/16405; inval msgs: catcache 55 catcache 54 catcache 55 catcache 54',
];
/** ALTER TABLE app.trunc ALTER COLUMN v TYPE varchar(100) with one row (xid 758): the transient table 16429 receives the row */
const REWRITE_758 = [
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        758, lsn: 0/04083278, prev 0/04083238, desc: LOCK xid 758 db 5 rel 16397 ',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        758, lsn: 0/04083418, prev 0/040833C8, desc: LOCK xid 758 db 5 rel 16429 ',
  'rmgr: Storage     len (rec/tot):     42/    42, tx:        758, lsn: 0/04083448, prev 0/04083418, desc: CREATE base/5/16429',
  'rmgr: Heap        len (rec/tot):     61/    61, tx:        758, lsn: 0/040863D8, prev 0/04086230, desc: INSERT+INIT off 1 flags 0x08, blkref #0: rel 1663/5/16429 blk 0',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        758, lsn: 0/040869C8, prev 0/04086938, desc: LOCK xid 758 db 5 rel 16400 ',
  'rmgr: Standby     len (rec/tot):     42/    42, tx:        758, lsn: 0/040869F8, prev 0/040869C8, desc: LOCK xid 758 db 5 rel 16401 ',
  'rmgr: Transaction len (rec/tot):   1605/  1605, tx:        758, lsn: 0/04089C60, prev 0/04089AF8, desc: COMMIT 2026-11-21 10:05:29.048158 UTC; rels: base/5/16420 base/5/16423 base/5/16424; dropped stats: 2/5/16401 2/5/16400 2/5/16429; inval msgs: catcache 7 catcache 6 catcache 80 catcache 79',
];

/** `n` copies of a real record line with consecutive LSNs after its own. */
function repeat(line: string, n: number): string[] {
  const m = / lsn: ([0-9A-F]+)\/([0-9A-F]+),/.exec(line)!;
  const at = BigInt(`0x${m[2]}`);
  return Array.from({ length: n }, (_, i) => line.replace(m[0], ` lsn: ${m[1]}/${(at + BigInt(i) * 0x38n).toString(16).toUpperCase().padStart(8, '0')},`));
}

/** The map a backup taken before the damage recorded (app.keep 16385 with TOAST 16388, app.gone 16392/16395, app.trunc 16397/16400). */
const BACKUP_MAP: RelationMap = {
  takenAt: '2026-11-21T10:03:40.000Z',
  databases: [
    {
      oid: '5',
      name: 'postgres',
      tablespace: '1663',
      relations: [
        ['16385', '16385', '', 'r', 'app', 'keep'],
        ['16388', '16388', '', 't', 'app', 'keep'],
        ['16392', '16392', '', 'r', 'app', 'gone'],
        ['16395', '16395', '', 't', 'app', 'gone'],
        ['16397', '16397', '', 'r', 'app', 'trunc'],
        ['16400', '16400', '', 't', 'app', 'trunc'],
        ['16402', '16402', '', 'r', 'public', 'Weird Name'],
      ],
    },
    { oid: '16408', name: 'other', tablespace: '1663', relations: [] },
  ],
};
/** The live catalog afterwards: app.gone is gone, app.trunc has new files. */
const LIVE_MAP: RelationMap = {
  takenAt: '2026-11-21T10:05:00.000Z',
  databases: [
    {
      oid: '5',
      name: 'postgres',
      tablespace: '1663',
      relations: [
        ['1259', '1259', '', 'r', 'pg_catalog', 'pg_class'],
        ['16385', '16385', '', 'r', 'app', 'keep'],
        ['16390', '16390', '', 'i', 'app', 'keep'],
        ['16397', '16405', '', 'r', 'app', 'trunc'],
        ['16400', '16406', '', 't', 'app', 'trunc'],
      ],
    },
  ],
};

function scan(lines: string[]): ScanEvent[] {
  const events: ScanEvent[] = [];
  const s = new WalScanner((e) => events.push(e));
  for (const l of lines) s.feed(l);
  return events;
}

function candidates(lines: string[], opts: { minRows?: number; commits?: boolean; maps?: RelationMap[]; live?: RelationMap } = {}): PitrCandidate[] {
  const names = new RelationNames();
  for (const m of opts.maps ?? [BACKUP_MAP]) names.add(m, 'backup B1', false);
  if (opts.live) names.add(opts.live, 'live catalog', true);
  return scan(lines).flatMap((e) => candidatesOf(e, names, { minRows: opts.minRows ?? 1000, commits: opts.commits ?? false, defaultDb: 'postgres' }));
}

describe('pg_waldump lines', () => {
  test('a record line splits into rmgr, xid, LSN and description', () => {
    expect(parseWaldumpLine(DELETE_732)).toEqual({ rmgr: 'Heap', xid: '732', lsn: '0/020AD1D8', op: 'DELETE', desc: expect.stringContaining('blkref #0: rel 1663/5/16385 blk 0') });
    expect(parseWaldumpLine(RESTORE_POINT)).toMatchObject({ rmgr: 'XLOG', xid: '0', op: 'RESTORE_POINT' });
    expect(parseWaldumpLine('first record is after 0/3420000, at 0/3421680, skipping over 5760 bytes')).toBeUndefined();
    expect(parseWaldumpLine('pg_waldump: error: could not find file "000000010000000000000004"')).toBeUndefined();
  });

  test('file paths of commit and Storage records become tablespace/database/file ids', () => {
    expect(fileId('base/5/16392')).toBe('1663/5/16392');
    expect(fileId('pg_tblspc/16384/PG_15_202209061/5/16392')).toBe('16384/5/16392');
    expect(fileId('global/1262')).toBe('1664/0/1262');
    expect(fileId('base/16408/2619_fsm')).toBeUndefined();
  });

  test('commit times are UTC with microseconds', () => {
    expect(waldumpTime('2026-11-21 10:03:44.284942', 'UTC')).toBe('2026-11-21T10:03:44.284942Z');
    expect(waldumpTime('2026-11-21 10:03:44', 'EST')).toBe('2026-11-21T15:03:44.000Z');
  });
});

describe('what the scanner makes of real WAL', () => {
  test('a restore point carries its name and the time of the last commit before it', () => {
    const [rp] = candidates([COMMIT_731, RESTORE_POINT]);
    expect(rp).toMatchObject({ kind: 'restore-point', name: 'before-damage', lsn: '0/020AD170', time: '2026-11-21T10:03:44.282529Z', timeApprox: true, destructive: false });
    expect(rp!.suggested).toEqual({ kind: 'name', value: 'before-damage', inclusive: true });
  });

  test('2500 DELETE records of one transaction are a delete burst on app.keep; stop just before xid 732', () => {
    const [c, ...rest] = candidates([...repeat(DELETE_732, 2500), COMMIT_732]);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ kind: 'delete-burst', xid: '732', lsn: '0/020CF650', rows: 2500, time: '2026-11-21T10:03:44.284215Z', destructive: true });
    expect(c!.relations).toEqual([{ id: '1663/5/16385', name: 'app.keep', database: 'postgres', relkind: 'table', nameFrom: 'backup B1', rows: 2500 }]);
    expect(c!.suggested).toEqual({ kind: 'xid', value: '732', inclusive: false });
    expect(c!.summary).toBe('deleted 2500 rows from app.keep');
  });

  test('below the threshold there is no burst; the threshold is an option', () => {
    expect(candidates([...repeat(DELETE_732, 999), COMMIT_732])).toEqual([]);
    expect(candidates([...repeat(DELETE_732, 999), COMMIT_732], { minRows: 500 })).toHaveLength(1);
  });

  test('DROP TABLE: the commit drops the files and the statistics of app.gone; catalog deletes are no burst', () => {
    const [c, ...rest] = candidates(DROP_733, { minRows: 1 });
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ kind: 'drop', xid: '733', lsn: '0/020CFDD0', destructive: true, summary: 'DROP TABLE app.gone (+2 index/TOAST/other)' });
    expect(c!.relations).toEqual([expect.objectContaining({ id: '1663/5/16392', name: 'app.gone', relkind: 'table' })]);
  });

  test('a table in no map is dropped under its storage id, saying so', () => {
    const [c] = candidates(DROP_733, { maps: [] });
    expect(c).toMatchObject({ kind: 'drop', summary: 'DROP TABLE (name unknown, file 1663/5/16392) (+2 index/TOAST/other)' });
    expect(c!.note).toMatch(/neither the live catalog nor any backup/);
  });

  test('TRUNCATE at wal_level=replica: files replaced by empty ones, named by the backup map', () => {
    const [c, ...rest] = candidates(TRUNCATE_734);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ kind: 'truncate', xid: '734', summary: 'TRUNCATE app.trunc' });
    expect(c!.note).toMatch(/empty ones/);
  });

  test('TRUNCATE at wal_level=logical is named by its own record', () => {
    const [c, ...rest] = candidates(TRUNCATE_LOGICAL_755);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ kind: 'truncate', xid: '755', summary: 'TRUNCATE app.trunc, app.keep' });
    expect(c!.note).toBeUndefined();
  });

  test('ALTER TABLE rewriting a table with rows is a rewrite, named through its exclusive lock', () => {
    const [c, ...rest] = candidates(REWRITE_758, { live: LIVE_MAP });
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ kind: 'rewrite', xid: '758' });
    expect(c!.summary).toMatch(/^rewrite of app\.trunc \(ALTER TABLE, VACUUM FULL or CLUSTER\)$/);
  });

  test('a rolled-back transaction and a rolled-back savepoint leave nothing', () => {
    expect(candidates([...repeat(ABORTED_735[0]!, 3000), ABORTED_735[1]!])).toEqual([]);
    const [c, ...rest] = candidates([...repeat(DELETE_739, 1200), ...repeat(DELETE_740, 1500), ABORT_740, COMMIT_738]);
    expect(rest).toEqual([]);
    expect(c).toMatchObject({ kind: 'delete-burst', xid: '738', rows: 1200 }); // the subtransaction's rows count for the top transaction
  });

  test('DROP DATABASE is named from the backup map', () => {
    expect(candidates(DROP_DATABASE_737)).toEqual([expect.objectContaining({ kind: 'drop-database', xid: '737', name: 'other', summary: 'DROP DATABASE other' })]);
  });

  test('an UPDATE of many rows is an update burst', () => {
    const [c] = candidates([...repeat(UPDATE_741, 1400), COMMIT_741]);
    expect(c).toMatchObject({ kind: 'update-burst', xid: '741', rows: 1400, summary: 'updated 1400 rows in app.keep' });
  });

  test('commits are listed only when asked, with the rows they changed', () => {
    expect(candidates([COMMIT_731])).toEqual([]);
    const [c] = candidates([...repeat(DELETE_732, 5), COMMIT_732], { commits: true });
    expect(c).toMatchObject({ kind: 'commit', xid: '732', rows: 5, destructive: false, suggested: { kind: 'xid', value: '732', inclusive: true } });
  });
});

describe('filters', () => {
  const all = candidates([COMMIT_731, RESTORE_POINT, ...repeat(DELETE_732, 2500), COMMIT_732, ...DROP_733, ...TRUNCATE_734]);

  test('relation names match qualified, bare, quoted, and case-insensitively', () => {
    const burst = all.find((c) => c.kind === 'delete-burst')!;
    for (const w of ['app.keep', 'keep', '"app"."keep"', 'APP.KEEP', '1663/5/16385']) expect(touchesRelation(burst, w)).toBe(true);
    for (const w of ['app.gone', 'other.keep', 'kee']) expect(touchesRelation(burst, w)).toBe(false);
  });

  test('the collector filters kinds, relation and time, and keeps the newest N', () => {
    const run = (o: Partial<ConstructorParameters<typeof CandidateCollector>[0]>) => {
      const col = new CandidateCollector({ kinds: ['restore-point', 'drop', 'truncate', 'delete-burst'], minRows: 1000, limit: 100, ...o });
      for (const c of all) col.add(c);
      return col.result();
    };
    expect(run({}).candidates.map((c) => c.kind)).toEqual(['restore-point', 'delete-burst', 'drop', 'truncate']);
    expect(run({ relation: 'app.gone' }).candidates.map((c) => c.kind)).toEqual(['drop']);
    expect(run({ kinds: ['truncate'] }).candidates.map((c) => c.kind)).toEqual(['truncate']);
    expect(run({ from: '2026-11-21T10:03:44.2849Z' }).candidates.map((c) => c.kind)).toEqual(['drop', 'truncate']);
    expect(run({ to: '2026-11-21T10:03:44.2843Z' }).candidates.map((c) => c.kind)).toEqual(['restore-point', 'delete-burst']);
    const limited = run({ limit: 2 });
    expect(limited.candidates.map((c) => c.kind)).toEqual(['drop', 'truncate']);
    expect(limited.omitted).toBe(2);
  });
});

describe('which archived WAL is read', () => {
  const SEG = 16 * 1024 * 1024;
  const name = (tl: number, n: number) => `${tl.toString(16).toUpperCase().padStart(8, '0')}00000000${n.toString(16).toUpperCase().padStart(8, '0')}`;
  /** Segments n..m of a timeline, archived at n*1000 ms (mtime). */
  const segs = (tl: number, n: number, m: number, times = true) => Array.from({ length: m - n + 1 }, (_, i) => ({ name: name(tl, n + i), ...(times ? { mtimeMs: (n + i) * 1000 } : {}) }));
  const backupAt = (n: number, tl = 1) => ({ id: 'B', timeline: tl, walStart: name(tl, n), startLsn: `0/${(n * 0x1000000 + 0x28).toString(16).toUpperCase()}` });
  const run = (o: Partial<Parameters<typeof selectWalRange>[0]> & { segments: ReturnType<typeof segs> }) => selectWalRange({ histories: new Map(), segSize: SEG, maxSegments: 256, ...o });
  const shape = (r: ReturnType<typeof selectWalRange>) => r.pieces.map((p) => `${p.timeline}:${parseInt(p.segments[0]!.slice(16), 16)}-${parseInt(p.segments.at(-1)!.slice(16), 16)}`);

  test('from the newest physical backup to the newest segment, starting at its start LSN', () => {
    const r = run({ segments: segs(1, 1, 10), newestBackup: backupAt(4) });
    expect(shape(r)).toEqual(['1:4-10']);
    expect(r.pieces[0]!.startLsn).toBe('0/4000028');
    expect(r.range).toMatchObject({ startedAt: 'backup', backup: 'B', segments: 7, limited: false });
    expect(r.warnings).toEqual([]);
  });

  test('without a backup: the newest maxSegments; a longer range is cut to its newest part, saying so', () => {
    expect(run({ segments: segs(1, 1, 10), maxSegments: 3 }).range).toMatchObject({ startedAt: 'newest-segments', segments: 3, from: name(1, 8), limited: false });
    const cut = run({ segments: segs(1, 1, 10), newestBackup: backupAt(2), maxSegments: 3 });
    expect(shape(cut)).toEqual(['1:8-10']);
    expect(cut.range.limited).toBe(true);
    expect(cut.range.backup).toBeUndefined();
    expect(cut.pieces[0]!.startLsn).toBeUndefined();
    expect(cut.warnings[0]).toMatch(/only the newest 3 segments/);
  });

  test('--from/--to pick segments by archive time; a range after the archive is empty', () => {
    expect(shape(run({ segments: segs(1, 1, 10), newestBackup: backupAt(2), from: new Date(4500).toISOString(), to: new Date(7500).toISOString() }))).toEqual(['1:5-8']);
    const late = run({ segments: segs(1, 1, 10), from: new Date(99_000).toISOString() });
    expect(late.range).toMatchObject({ segments: 0, startedAt: 'from' });
    expect(late.pieces).toEqual([]);
    const noTimes = run({ segments: segs(1, 1, 10, false), newestBackup: backupAt(3), from: new Date(4500).toISOString() });
    expect(shape(noTimes)).toEqual(['1:3-10']);
    expect(noTimes.warnings[0]).toMatch(/does not report archive times/);
  });

  test('a missing segment splits the read and is reported', () => {
    const r = run({ segments: [...segs(1, 1, 5), ...segs(1, 7, 9)] });
    expect(shape(r)).toEqual(['1:1-5', '1:7-9']);
    expect(r.warnings).toEqual([`WAL between ${name(1, 5)} and ${name(1, 7)} is missing from the archive: not read`]);
  });

  test('the newest timeline is followed through its history: the parent up to the switch, then the child', () => {
    const histories = new Map([[2, [{ parent: 1, switchLsn: '0/7000028', reason: 'no recovery target specified' }]]]);
    const segments = [...segs(1, 1, 8), ...segs(2, 7, 9)];
    const r = run({ segments, histories, newestBackup: backupAt(3) });
    expect(shape(r)).toEqual(['1:3-6', '2:7-9']);
    expect(r.warnings).toEqual([]);
    expect(r.range.timeline).toBe(2);
    expect(shape(run({ segments, histories, timeline: 1 }))).toEqual(['1:1-8']);
    expect(() => run({ segments, histories, timeline: 3 })).toThrow(/timeline 3 has no archived WAL/);
  });
});
