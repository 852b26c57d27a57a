import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { LifeboatError } from '../../src/core/errors.js';
import { assertSafeKey } from '../../src/core/storage.js';
import { ManifestSchema, newBackupId, parseManifest, type Manifest } from '../../src/core/manifest.js';
import { configCandidates, parseConfig } from '../../src/config/load.js';
import { parseQualifiedName } from '../../plugins/postgres/sql.js';
import { matchTable } from '../../plugins/postgres/catalog.js';
import { dbObjectBase, objectName } from '../../plugins/postgres/names.js';
import { compareCounts } from '../../plugins/postgres/verify.js';
import { carriesPassword, PostgresConfigSchema } from '../../plugins/postgres/config.js';

/** The LifeboatError thrown by `fn` (fails the test when nothing is thrown). */
function caught(fn: () => unknown): LifeboatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LifeboatError);
    return err as LifeboatError;
  }
  throw new Error('expected an error, nothing was thrown');
}

describe('assertSafeKey', () => {
  test.each([
    'lifeboat.json',
    'a',
    'pg/backup/20261121-084501L-3f2a/manifest.json',
    'pg/backup/20261121-084501L-3f2a/db-sample.dump.zst',
    'pg/backup/20261121-084501L-3f2a/db-my=20db.dir/toc.dat.zst',
    'pg/wal/0000000100000000/000000010000000000000001.zst.pgp',
    'pg/verify/20261121-084501L-3f2a/2026-11-21T08-50-00.000Z.json',
    'a/b/c.d_e+f@g=h,i-j',
    '..a/b..', // dots inside a segment are fine; only "." and ".." segments are not
    '.hidden',
    'x'.repeat(1024),
  ])('accepts %j', (key) => {
    expect(() => assertSafeKey(key)).not.toThrow();
  });

  test.each([
    ['', 'empty'],
    ['..', '".." segment'],
    ['../etc/passwd', '".." segment'],
    ['pg/../../etc/passwd', '".." segment'],
    ['pg/backup/..', '".." segment'],
    ['./a', '"." segment'],
    ['a/./b', '"." segment'],
    ['/etc/passwd', 'absolute path'],
    ['a//b', 'empty path segment'],
    ['a/', 'empty path segment'],
    ['a\\b', 'backslash'],
    ['..\\..\\windows', 'backslash'],
    ['a\0b', 'NUL'],
    ['pg/manifest.json\0.txt', 'NUL'],
    ['a b', 'characters outside'],
    ['a\nb', 'characters outside'],
    ['caf\u00e9', 'characters outside'],
    ['C:', 'characters outside'],
    ['a/*', 'characters outside'],
    ['$(reboot)', 'characters outside'],
    ['x'.repeat(1025), 'longer than 1024 bytes'],
  ])('rejects %j with KEY_INVALID (%s)', (key, why) => {
    const err = caught(() => assertSafeKey(key));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toContain(why);
    expect(err.message).toContain(JSON.stringify(key).slice(0, 40));
    expect(err.exitCode).toBe(1);
    expect(err.hint).toMatch(/relative paths/);
  });

  test.each([42, null, undefined, ['a'], { key: 'a' }])('rejects the non-string %j', (key) => {
    const err = caught(() => assertSafeKey(key));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toContain('not a string');
  });

  test('prefixes may be empty or end in a slash, but are still checked', () => {
    for (const ok of ['', 'pg/', 'pg/backup/', 'pg/backup/2026']) expect(() => assertSafeKey(ok, { allowPrefix: true }), ok).not.toThrow();
    for (const bad of ['/', '../', 'pg/../', 'pg//', '/pg/', 'pg/\0']) {
      expect(caught(() => assertSafeKey(bad, { allowPrefix: true })).code, bad).toBe('KEY_INVALID');
    }
    // without allowPrefix a trailing slash is an error
    expect(caught(() => assertSafeKey('pg/')).code).toBe('KEY_INVALID');
  });
});

/** A manifest that passes validation; tests damage copies of it. */
function validManifest(): Manifest {
  const sha = 'ab'.repeat(32);
  return {
    formatVersion: 1,
    id: '20261121-084501L-3f2a',
    cluster: 'main',
    kind: 'logical',
    plugin: { name: 'postgres', version: '0.1.0' },
    lifeboatVersion: '0.1.0',
    startedAt: '2026-11-21T08:45:01.123Z',
    finishedAt: '2026-11-21T08:45:09.456Z',
    durationMs: 8333,
    tag: 'daily',
    label: 'nightly',
    host: 'db1',
    server: { version: '17.2', versionNum: 170002, systemIdentifier: '7412345678901234567' },
    compression: { algorithm: 'zstd', level: 1 },
    encryption: { mode: 'none' },
    objects: [{ name: 'db-sample.dump', key: 'main/backup/20261121-084501L-3f2a/db-sample.dump.zst', size: 1000, sha256: sha, rawSize: 4000, compression: { algorithm: 'zstd', level: 1 } }],
    rawSize: 4000,
    storedSize: 1000,
    logical: {
      format: 'custom',
      scope: { kind: 'database' },
      databases: [{ name: 'sample', objects: ['db-sample.dump'], rowCounts: { 'public.pgbench_accounts': 100000, 'Mixed Schema.Quoted Table': 3 }, tableCount: 2, countsInSnapshot: true }],
      tool: 'pg_dump (PostgreSQL) 17.2',
    },
  };
}

describe('parseManifest', () => {
  const where = 'main/backup/20261121-084501L-3f2a/manifest.json';

  test('accepts a valid manifest and returns it', () => {
    const m = validManifest();
    expect(parseManifest(JSON.stringify(m), where)).toEqual(m);
  });

  test('rejects truncated JSON with MANIFEST_INVALID naming the manifest', () => {
    const text = JSON.stringify(validManifest(), null, 2);
    for (const cut of [0, 1, Math.floor(text.length / 2), text.length - 1]) {
      const err = caught(() => parseManifest(text.slice(0, cut), where));
      expect(err.code).toBe('MANIFEST_INVALID');
      expect(err.message).toContain(`${where}: not valid JSON`);
      expect(err.hint).toMatch(/cannot be trusted/);
    }
  });

  test.each<[string, (m: any) => void, RegExp]>([
    ['a bad checksum', (m) => (m.objects[0].sha256 = 'not-a-checksum'), /: objects\[0\]\.sha256: expected a hex sha256$/],
    ['a malformed id', (m) => (m.id = '../../etc'), /: id: expected an id like 20261121-084501L-3f2a$/],
    ['an unknown format version', (m) => (m.formatVersion = 2), /: formatVersion: /],
    ['a missing server version', (m) => delete m.server.version, /: server\.version: /],
    ['a negative object size', (m) => (m.objects[0].size = -1), /: objects\[0\]\.size: /],
    ['an unknown kind', (m) => (m.kind = 'incremental'), /: kind: /],
    ['an unknown tag', (m) => (m.tag = 'hourly'), /: tag: /],
    ['a non-integer row count', (m) => (m.logical.databases[0].rowCounts['public.pgbench_accounts'] = 1.5), /: logical\.databases\[0\]\.rowCounts\.public\.pgbench_accounts: /],
    ['a bad start time', (m) => (m.startedAt = 'yesterday'), /: startedAt: /],
    ['an unknown compression', (m) => (m.compression.algorithm = 'lz4'), /: compression\.algorithm: /],
  ])('rejects %s with MANIFEST_INVALID naming the JSON path', (_what, damage, want) => {
    const m = validManifest();
    damage(m);
    const err = caught(() => parseManifest(JSON.stringify(m), where));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message.startsWith(`${where}: `)).toBe(true);
    expect(err.message).toMatch(want);
  });

  // A manifest comes from storage, which is not trusted with the host: every name
  // that code joins into a key or a path must be one the backup itself could write.
  const physical = (m: any) => {
    m.kind = 'physical';
    delete m.logical;
    m.physical = {
      tool: 'pg_basebackup', format: 'tar', startLsn: '0/2000028', stopLsn: '0/2000100', timeline: 1, walSegmentSize: 16777216,
      walStart: '000000010000000000000002', walStop: '000000010000000000000002', walIncluded: true,
      tablespaces: [{ oid: '16390', location: '/srv/ts1' }], dataDirectory: '/var/lib/postgresql/15/main',
      relationMap: { takenAt: '2026-11-21T08:45:01.123Z', databases: [{ oid: '16384', name: 'app', tablespace: '1663', relations: [] }] },
    };
  };
  test('accepts a valid physical manifest with tablespaces', () => {
    const m = validManifest();
    physical(m);
    expect(parseManifest(JSON.stringify(m), where).physical?.tablespaces).toEqual([{ oid: '16390', location: '/srv/ts1' }]);
  });
  test.each<[string, (m: any) => void, RegExp]>([
    ['an object name with ..', (m) => { m.objects[0].name = '../../../etc/cron.d/x'; m.logical.databases[0].objects = ['../../../etc/cron.d/x']; }, /objects\[0\]\.name: invalid object key .*"\.\." segment/],
    ['an absolute object name', (m) => (m.objects[0].name = '/etc/passwd'), /objects\[0\]\.name: .*absolute path/],
    ['an object named manifest.json', (m) => (m.objects[0].name = 'manifest.json'), /objects\[0\]\.name: the name manifest\.json is reserved/],
    ['an object listed twice', (m) => m.objects.push({ ...m.objects[0] }), /objects\[1\]\.name: object "db-sample\.dump" is listed twice/],
    ['a key outside the backup', (m) => (m.objects[0].key = 'other/backup/20261121-084501L-3f2a/db-sample.dump.zst'), /objects\[0\]\.key: key .* is not this backup's own key "main\/backup\/20261121-084501L-3f2a\/db-sample\.dump\.zst"/],
    ['a key of another backup', (m) => (m.objects[0].key = 'main/backup/20261120-084501L-0000/db-sample.dump.zst'), /objects\[0\]\.key: /],
    ['a key whose suffix lies about compression', (m) => (m.objects[0].key = 'main/backup/20261121-084501L-3f2a/db-sample.dump'), /objects\[0\]\.key: /],
    ['a cluster name with a slash', (m) => (m.cluster = 'main/../x'), /cluster: cluster name "main\/\.\.\/x" is not allowed/],
    ['a database naming an unlisted object', (m) => (m.logical.databases[0].objects = ['db-other.dump']), /logical\.databases\[0\]\.objects\[0\]: names object "db-other\.dump", which the manifest does not list/],
    ['globals naming an unlisted object', (m) => (m.logical.globals = 'globals.sql'), /logical\.globals: names object "globals\.sql"/],
    ['a tablespace oid that is a path', (m) => { physical(m); m.physical.tablespaces[0].oid = '../../etc'; }, /physical\.tablespaces\[0\]\.oid: tablespace oid "\.\.\/\.\.\/etc" is not a number/],
    ['a tablespace listed twice', (m) => { physical(m); m.physical.tablespaces.push({ oid: '16390', location: '/srv/ts2' }); }, /physical\.tablespaces\[1\]\.oid: tablespace 16390 is listed twice/],
    ['a relative tablespace location', (m) => { physical(m); m.physical.tablespaces[0].location = 'srv/ts1'; }, /physical\.tablespaces\[0\]\.location: .* is not an absolute path/],
    ['a tablespace location with ..', (m) => { physical(m); m.physical.tablespaces[0].location = '/srv/../etc'; }, /physical\.tablespaces\[0\]\.location: .* is not a normalized directory path/],
    ['a tablespace location of /', (m) => { physical(m); m.physical.tablespaces[0].location = '/'; }, /physical\.tablespaces\[0\]\.location: /],
    ['a tablespace location with a newline', (m) => { physical(m); m.physical.tablespaces[0].location = '/srv/ts1\nx'; }, /physical\.tablespaces\[0\]\.location: .* contains control characters/],
    ['a relative data directory', (m) => { physical(m); m.physical.dataDirectory = 'main'; }, /physical\.dataDirectory: /],
    ['a relation-map oid that is a path', (m) => { physical(m); m.physical.relationMap.databases[0].oid = '1/../../x'; }, /physical\.relationMap\.databases\[0\]\.oid: /],
  ])('rejects %s: a hostile manifest never reaches a path', (_what, damage, want) => {
    const m = validManifest();
    damage(m);
    const err = caught(() => parseManifest(JSON.stringify(m), where));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message.startsWith(`${where}: `)).toBe(true);
    expect(err.message).toMatch(want);
  });

  test.each(['[]', 'null', '"manifest"', '42'])('rejects the JSON value %s at the root', (text) => {
    const err = caught(() => parseManifest(text, where));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toMatch(new RegExp(`^${where}: \\(root\\): `));
  });
});

describe('newBackupId', () => {
  const at = new Date('2026-11-21T08:45:01.999Z');

  test('UTC time stamp, kind letter and four hex digits', () => {
    expect(newBackupId('logical', at, () => 0.2)).toBe('20261121-084501L-3333');
    expect(newBackupId('physical', at, () => 0)).toBe('20261121-084501P-0000');
    expect(newBackupId('logical', at, () => 0.9999999)).toBe('20261121-084501L-ffff');
  });

  test('defaults give an id the manifest schema accepts', () => {
    for (let i = 0; i < 50; i++) {
      const id = newBackupId(i % 2 ? 'logical' : 'physical');
      expect(id).toMatch(/^\d{8}-\d{6}[LP]-[0-9a-f]{4}$/);
      expect(ManifestSchema.shape.id.safeParse(id).success).toBe(true);
    }
  });

  test('ids sort in time order', () => {
    const times = ['2026-01-02T00:00:00Z', '2026-01-10T00:00:00Z', '2026-10-01T09:00:00Z', '2026-10-01T10:00:00Z', '2027-01-01T00:00:00Z'];
    const ids = times.map((t) => newBackupId('logical', new Date(t), () => 0.5));
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('parseConfig', () => {
  const file = '/srv/lifeboat/config.json';
  const base = () => ({
    repositories: { main: { type: 'local', path: '/var/backups/lifeboat' } },
    clusters: { main: { repository: 'main', connection: { host: 'db1', port: 5432 } } },
  });

  test('a valid config gets its defaults', () => {
    const c = parseConfig(JSON.stringify(base()), file);
    expect(c.clusters.main!.source).toBe('postgres');
    expect(c.plugins).toEqual([]);
    expect(c.defaults).toEqual({ format: 'custom', compression: { algorithm: 'zstd', level: 1 }, maxBackupAgeHours: 26, tag: 'manual' });
  });

  test('a cluster pointing at a missing repository names the file and clusters.main.repository', () => {
    const cfg = base();
    cfg.clusters.main.repository = 'offsite';
    const err = caught(() => parseConfig(JSON.stringify(cfg), file));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(`config ${file}: clusters.main.repository: no repository named "offsite" (have: main)`);
    expect(err.exitCode).toBe(2);
    expect(err.hint).toContain('docs/configuration.md');
  });

  test('an unknown top-level key is rejected (the schema is strict)', () => {
    const err = caught(() => parseConfig(JSON.stringify({ ...base(), colour: true }), file));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toBe(`config ${file}: (root): Unrecognized key: "colour"`);
  });

  test('an unknown key inside a cluster names that cluster', () => {
    const cfg: any = base();
    cfg.clusters.main.maxBackupAge = 12; // a typo of maxBackupAgeHours
    const err = caught(() => parseConfig(JSON.stringify(cfg), file));
    expect(err.message).toMatch(new RegExp(`^config ${file}: clusters\\.main: .*maxBackupAge`));
  });

  test('a wrong type names the JSON path', () => {
    const cfg: any = base();
    cfg.clusters.main.maxBackupAgeHours = 'a day';
    expect(caught(() => parseConfig(JSON.stringify(cfg), file)).message).toMatch(new RegExp(`^config ${file}: clusters\\.main\\.maxBackupAgeHours: .*number`));
    const cfg2: any = base();
    cfg2.defaults = { format: 'tar' };
    expect(caught(() => parseConfig(JSON.stringify(cfg2), file)).message).toMatch(new RegExp(`^config ${file}: defaults\\.format: `));
    const cfg3: any = base();
    delete cfg3.repositories;
    expect(caught(() => parseConfig(JSON.stringify(cfg3), file)).message).toMatch(new RegExp(`^config ${file}: repositories: `));
  });

  test('malformed JSON names the file', () => {
    const err = caught(() => parseConfig('{ "clusters": {', file));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(`config ${file}: not valid JSON`);
  });

  test('relative local repository paths and stateDir resolve against the config file directory', () => {
    const cfg: any = base();
    cfg.stateDir = 'state';
    cfg.repositories.main.path = 'repo';
    cfg.repositories.up = { type: 'local', path: '../shared/repo' };
    cfg.repositories.abs = { type: 'local', path: '/mnt/backups' };
    cfg.repositories.cloud = { type: 's3', path: 'relative/prefix', bucket: 'b' };
    const c = parseConfig(JSON.stringify(cfg), file);
    expect(c.stateDir).toBe('/srv/lifeboat/state');
    expect(c.repositories.main!.path).toBe('/srv/lifeboat/repo');
    expect(c.repositories.up!.path).toBe('/srv/shared/repo');
    expect(c.repositories.abs!.path).toBe('/mnt/backups');
    // other storage types own their settings: a "path" there is not a file path
    expect(c.repositories.cloud!.path).toBe('relative/prefix');
  });

  test('a relative config file path resolves against the working directory first', () => {
    const cfg: any = base();
    cfg.repositories.main.path = 'repo';
    const c = parseConfig(JSON.stringify(cfg), 'conf/lifeboat.json');
    expect(c.repositories.main!.path).toBe(path.resolve('conf', 'repo'));
  });
});

describe('configCandidates', () => {
  test('an explicit path is the only candidate, whatever the environment', () => {
    expect(configCandidates('rel/config.json', { LIFEBOAT_CONFIG: '/env/config.json', XDG_CONFIG_HOME: '/xdg' })).toEqual([
      { path: path.resolve('rel/config.json'), source: '--config' },
    ]);
  });

  test('$LIFEBOAT_CONFIG comes next and is the only candidate', () => {
    expect(configCandidates(undefined, { LIFEBOAT_CONFIG: '/env/config.json', XDG_CONFIG_HOME: '/xdg', HOME: '/home/u' })).toEqual([
      { path: '/env/config.json', source: '$LIFEBOAT_CONFIG' },
    ]);
  });

  test('otherwise $XDG_CONFIG_HOME, then /etc/lifeboat', () => {
    expect(configCandidates(undefined, { XDG_CONFIG_HOME: '/xdg', HOME: '/home/u' }).map((c) => c.path)).toEqual([
      '/xdg/lifeboat/config.json',
      '/etc/lifeboat/config.json',
    ]);
  });

  test('without XDG_CONFIG_HOME, ~/.config; an empty LIFEBOAT_CONFIG counts as unset', () => {
    expect(configCandidates(undefined, { HOME: '/home/u', LIFEBOAT_CONFIG: '', XDG_CONFIG_HOME: '' }).map((c) => c.path)).toEqual([
      '/home/u/.config/lifeboat/config.json',
      '/etc/lifeboat/config.json',
    ]);
  });
});

describe('parseQualifiedName', () => {
  test.each<[string, { schema?: string; name: string }]>([
    ['"Mixed Schema"."Quoted Table"', { schema: 'Mixed Schema', name: 'Quoted Table' }],
    ['public.t', { schema: 'public', name: 't' }],
    ['t', { name: 't' }],
    ['"a.b"', { name: 'a.b' }], // a dot inside quotes is part of the name
    ['public."a.b"', { schema: 'public', name: 'a.b' }],
    ['"say ""hi"""."t"', { schema: 'say "hi"', name: 't' }],
    ['"Quoted Table"', { name: 'Quoted Table' }],
  ])('%s', (input, want) => {
    const got = parseQualifiedName(input);
    expect(got).toStrictEqual(want); // a bare name has no schema key at all
  });
});

describe('matchTable', () => {
  const keys = ['public.pgbench_accounts', 'public.pgbench_branches', 'public.t', 'other.t', 'Mixed Schema.Quoted Table', 'public.Upper', 'public.upper', 'public.a.b'];

  test('qualified, quoted and bare names find their table', () => {
    expect(matchTable(keys, '"Mixed Schema"."Quoted Table"', 'sample')).toBe('Mixed Schema.Quoted Table');
    expect(matchTable(keys, 'public.t', 'sample')).toBe('public.t');
    expect(matchTable(keys, 'other.t', 'sample')).toBe('other.t');
    expect(matchTable(keys, 'pgbench_accounts', 'sample')).toBe('public.pgbench_accounts');
    expect(matchTable(keys, '"a.b"', 'sample')).toBe('public.a.b');
  });

  test('exact case wins; case-folding is only a fallback', () => {
    expect(matchTable(keys, '"Upper"', 'sample')).toBe('public.Upper');
    expect(matchTable(keys, 'upper', 'sample')).toBe('public.upper');
    expect(matchTable(keys, 'PUBLIC.PGBENCH_ACCOUNTS', 'sample')).toBe('public.pgbench_accounts');
    expect(matchTable(keys, 'mixed schema.quoted table', 'sample')).toBe('Mixed Schema.Quoted Table');
  });

  test('a bare name in two schemas is ambiguous and lists both', () => {
    const err = caught(() => matchTable(keys, 't', 'sample'));
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe('table t is ambiguous in sample: public.t, other.t');
    expect(err.hint).toMatch(/schema\.table/);
    // two case-folded matches are ambiguous too
    expect(caught(() => matchTable(keys, 'UPPER', 'sample')).message).toMatch(/ambiguous.*public\.Upper, public\.upper/);
  });

  test('an unknown table is a usage error naming it and the database', () => {
    const err = caught(() => matchTable(keys, 'public.nope', 'sample'));
    expect(err.code).toBe('USAGE');
    expect(err.message).toBe('table public.nope not found in sample');
    // the schema must match too
    expect(caught(() => matchTable(keys, 'other.pgbench_accounts', 'sample')).message).toMatch(/not found/);
  });
});

describe('dbObjectBase', () => {
  const hostile = ['sample', 'my db', 'a/b', '../../etc', '..', '.', 'a\\b', 'caf\u00e9', '\u65e5\u672c', '\u{1F600}', '\u{1F601}', 'a=20b', 'a b', 'x'.repeat(63), '"quoted"', 'tab\there', ''];

  test.each<[string, string]>([
    ['sample', 'db-sample'],
    ['my_db-2', 'db-my_db-2'],
    ['my db', 'db-my=20db'],
    ['a/b', 'db-a=2fb'],
    ['..', 'db-=2e=2e'],
    ['caf\u00e9', 'db-caf=c3a9'],
    ['\u65e5\u672c', 'db-=e697a5=e69cac'],
    ['\u{1F600}', 'db-=f09f9880'], // one character outside the BMP: its 4 UTF-8 bytes
    ['a=b', 'db-a=3db'],
  ])('%j → %s', (db, want) => {
    expect(dbObjectBase(db)).toBe(want);
  });

  test('every name gives a single safe key segment, for each object kind', () => {
    for (const db of hostile) {
      const base = dbObjectBase(db);
      expect(base, db).toMatch(/^db-[A-Za-z0-9_=-]*$/);
      for (const name of [objectName.custom(db), objectName.plain(db), objectName.directory(db, 'toc.dat')]) {
        expect(() => assertSafeKey(`main/backup/20261121-084501L-3f2a/${name}.zst`), `${JSON.stringify(db)} → ${name}`).not.toThrow();
      }
      expect(objectName.custom(db).split('/')).toHaveLength(1);
    }
  });

  test('different database names never share an object name', () => {
    const bases = hostile.map(dbObjectBase);
    expect(new Set(bases).size).toBe(hostile.length);
  });
});

describe('compareCounts', () => {
  test('equal counts pass and say how many tables matched', () => {
    const r = compareCounts('sample: row counts', { 'public.a': 5, 'public.b': 0 }, { 'public.a': 5, 'public.b': 0, 'public.extra': 9 });
    expect(r).toEqual({ name: 'sample: row counts', ok: true, detail: '2 tables match', mismatches: 0, compared: 2 });
  });

  test('different and missing tables fail and are named', () => {
    const r = compareCounts('rows', { 'public.a': 5, 'public.b': 3, 'Mixed Schema.Quoted Table': 3 }, { 'public.a': 4, 'Mixed Schema.Quoted Table': 3 });
    expect(r.ok).toBe(false);
    expect(r.mismatches).toBe(2);
    expect(r.compared).toBe(3);
    expect(r.detail).toBe('2 of 3 differ: public.a: 4 vs 5; public.b: missing vs 3');
  });

  test('a zero count is not confused with a missing table', () => {
    const r = compareCounts('rows', { 'public.empty': 0 }, {});
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('public.empty: missing vs 0');
  });

  test('names at most five mismatches', () => {
    const expected = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`public.t${i}`, i + 1]));
    const r = compareCounts('rows', expected, {});
    expect(r.mismatches).toBe(8);
    expect(r.detail!.startsWith('8 of 8 differ: public.t0: missing vs 1; ')).toBe(true);
    expect(r.detail).toContain('public.t4: missing vs 5; …');
    expect(r.detail).not.toContain('public.t5');
  });

  test('nothing expected: trivially ok', () => {
    expect(compareCounts('rows', {}, { 'public.a': 1 })).toMatchObject({ ok: true, compared: 0, mismatches: 0 });
  });
});

describe('passwords never go in a connection config (issue 10 item 16)', () => {
  test('URIs with user:password@ or ?password=, and key=value strings with password=, are refused', () => {
    for (const s of ['postgresql://app:s3cret@db1/app', 'postgres://app:s3cret@db1:5432,db2:5433/app', 'postgresql://db1/app?sslmode=require&password=s3cret', 'postgresql://db1/app?%70assword=s3cret', 'host=db1 dbname=app password=s3cret', "dbname=app password = 's3 cret'"]) {
      expect(carriesPassword(s), s).toBe(true);
      const r = PostgresConfigSchema.safeParse({ database: s });
      expect(r.success, s).toBe(false);
      expect(JSON.stringify(r.error?.issues), s).not.toContain('s3');
      expect(r.error?.issues[0]?.path).toEqual(['database']);
    }
  });
  test('names and connection strings without a password pass', () => {
    for (const s of ['app', 'postgresql://app@db1/app?sslmode=require', 'postgresql://db1:5432/app', 'host=db1 dbname=app sslmode=verify-full', 'my:db', 'passwords']) {
      expect(carriesPassword(s), s).toBe(false);
      expect(PostgresConfigSchema.safeParse({ database: s, host: 'db1', user: 'app' }).success, s).toBe(true);
    }
  });
});
