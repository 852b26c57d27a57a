/**
 * The WAL hooks read the config without zod (src/wal/target.ts). These tests
 * hold that light reading to the real loader: it must never accept what the
 * schema refuses, must accept every valid walArchive/compression setting (or
 * the hooks silently lose their fast path), and must find the same file and
 * state directory.
 */
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { configCandidates, parseConfig, stateDirFor } from '../../src/config/load.js';
import { WalArchiveSchema } from '../../src/config/schema.js';
import { CompressionSchema } from '../../src/core/compression.js';
import { lightCompression, lightResolve, lightWalArchive, WAL_ARCHIVE_DEFAULTS } from '../../src/wal/target.js';
import { configCandidates as walConfigCandidates, stateDirPath as walStateDir } from '../../src/config/paths.js';

test('config file and state directory lookup match src/config/load.ts', () => {
  const envs: NodeJS.ProcessEnv[] = [
    {},
    { HOME: '/home/x' },
    { HOME: '/home/x', XDG_CONFIG_HOME: '/cfg', XDG_STATE_HOME: '/st' },
    { LIFEBOAT_CONFIG: 'rel/config.json', LIFEBOAT_STATE_DIR: 'rel/state' },
  ];
  for (const env of envs) {
    expect(walConfigCandidates(undefined, env)).toEqual(configCandidates(undefined, env));
    expect(walConfigCandidates('x.json', env)).toEqual(configCandidates('x.json', env));
    expect(walStateDir(undefined, env)).toBe(stateDirFor(undefined, env));
    expect(walStateDir('/s', env)).toBe(stateDirFor({ stateDir: '/s' } as never, env));
  }
});

const walArchiveCases: unknown[] = [
  undefined, {}, null, [], 'yes', { async: true }, { async: 'yes' }, { async: false, spoolDir: '/var/spool/lifeboat' },
  { spoolDir: '' }, { spoolDir: 3 }, { parallel: 0 }, { parallel: 1 }, { parallel: 1.5 }, { parallel: 32 }, { parallel: 33 },
  { maxQueue: 0 }, { maxQueue: 1 }, { maxQueue: 1_000_000 }, { maxQueue: 1_000_001 }, { maxQueue: '10' },
  { waitSeconds: 0 }, { waitSeconds: 0.25 }, { waitSeconds: 86_400 }, { waitSeconds: 86_401 }, { waitSeconds: Infinity }, { waitSeconds: Number.NaN },
  { idleSeconds: -1 }, { idleSeconds: 5 }, { extra: 1 }, { async: true, parallel: 4, maxQueue: 64, waitSeconds: 30, idleSeconds: 120 },
];

describe('walArchive: the light check agrees with WalArchiveSchema', () => {
  for (const v of walArchiveCases) {
    test(JSON.stringify(v) ?? 'undefined', () => {
      const light = lightWalArchive(v);
      const zod = WalArchiveSchema.optional().safeParse(v);
      if (light) {
        expect(zod.success).toBe(true);
        expect(light).toEqual({ ...WAL_ARCHIVE_DEFAULTS, ...(zod.data ?? {}) });
      } else {
        expect(zod.success).toBe(false); // a valid setting must not lose the fast path
      }
    });
  }
});

const compressionCases: unknown[] = [
  undefined, {}, null, { algorithm: 'zstd' }, { algorithm: 'zstd', level: 3 }, { algorithm: 'zstd', level: -7 }, { algorithm: 'zstd', level: -8 },
  { algorithm: 'zstd', level: 22 }, { algorithm: 'zstd', level: 23 }, { algorithm: 'zstd', level: 1.5 }, { algorithm: 'gzip', level: 9 },
  { algorithm: 'none' }, { algorithm: 'lz4' }, { algorithm: 'zstd', threads: 0 }, { algorithm: 'zstd', threads: 64 }, { algorithm: 'zstd', threads: 65 },
  { algorithm: 'zstd', extra: true },
];

describe('defaults.compression: the light check agrees with CompressionSchema', () => {
  for (const v of compressionCases) {
    test(JSON.stringify(v) ?? 'undefined', () => {
      const light = lightCompression(v === undefined ? {} : { compression: v });
      const zod = CompressionSchema.default({ algorithm: 'zstd', level: 1 }).safeParse(v);
      if (light) {
        expect(zod.success).toBe(true);
        expect(light).toEqual(zod.data);
      } else {
        expect(zod.success).toBe(false);
      }
    });
  }
});

describe('lightResolve', () => {
  const file = '/etc/lifeboat/config.json';
  const base = {
    stateDir: 'state',
    repositories: { main: { type: 'local', path: 'repo' } },
    clusters: { pg: { repository: 'main', connection: { host: 'db' }, walArchive: { async: true, spoolDir: 'spool' } } },
    defaults: { compression: { algorithm: 'zstd', level: 3 } },
  };

  test('a plain local-repository config is read the way the full loader reads it', () => {
    const light = lightResolve(JSON.stringify(base), file, undefined)!;
    const full = parseConfig(JSON.stringify(base), file);
    expect(light.cluster).toBe('pg');
    expect(light.repoPath).toBe(full.repositories.main!.path);
    expect(light.repoPath).toBe(path.resolve('/etc/lifeboat/repo'));
    expect(light.stateDir).toBe(full.stateDir);
    expect(light.compression).toEqual(full.defaults.compression);
    expect(light.walArchive).toEqual({ ...WAL_ARCHIVE_DEFAULTS, ...full.clusters.pg!.walArchive, spoolDir: '/etc/lifeboat/spool' });
  });

  test('what the light path does not handle goes to the full loader', () => {
    const variants: ((c: any) => void)[] = [
      (c) => (c.plugins = ['./my-storage.mjs']), // a third-party plugin could be the storage
      (c) => (c.repositories.main = { type: 's3', bucket: 'b' }),
      (c) => (c.repositories.main.extra = 1), // the local plugin's schema is strict
      (c) => (c.clusters.pg.repository = 'nope'),
      (c) => (c.clusters.pg.walArchive.parallel = 0),
      (c) => (c.defaults.compression.level = 99),
      (c) => (c.stateDir = ''),
    ];
    for (const change of variants) {
      const c = structuredClone(base) as any;
      change(c);
      expect(lightResolve(JSON.stringify(c), file, 'pg')).toBeUndefined();
    }
    expect(lightResolve('{ not json', file, 'pg')).toBeUndefined();
  });

  test('cluster choice: the same errors as the agent', () => {
    const two = structuredClone(base) as any;
    two.clusters.other = { repository: 'main' };
    expect(() => lightResolve(JSON.stringify(two), file, undefined)).toThrow(/choose a cluster with --cluster \(configured: pg, other\)/);
    expect(() => lightResolve(JSON.stringify(base), file, 'nope')).toThrow(/no cluster "nope" in \/etc\/lifeboat\/config.json/);
  });
});
