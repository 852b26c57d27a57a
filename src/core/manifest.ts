import { z } from 'zod';
import path from 'node:path';
import { CompressionSchema, compressionSuffix } from './compression.js';
import { LifeboatError } from './errors.js';
import { assertSafeKey } from './storage.js';

export const MANIFEST_FORMAT = 1;

/** Cluster names: they become the first segment of every key of the cluster. */
export const CLUSTER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** The prefix under which a backup's objects and manifest live (docs/repository.md). */
export const backupDirKey = (cluster: string, id: string): string => `${cluster}/backup/${id}/`;
/** PostgreSQL oids as the manifest records them: a decimal number, no sign, no padding. */
const OID_RE = /^[1-9][0-9]{0,9}$/;

export const BACKUP_TAGS = ['daily', 'weekly', 'monthly', 'yearly', 'pre-migration', 'manual', 'safety'] as const;
export const BackupTagSchema = z.enum(BACKUP_TAGS);
export type BackupTag = z.infer<typeof BackupTagSchema>;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex sha256');

export const ManifestObjectSchema = z.object({
  name: z.string().min(1),
  key: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: Sha256,
  rawSize: z.number().int().nonnegative(),
  compression: CompressionSchema,
});

/** Per-table row counts of one database, keyed `schema.table`. */
export const RowCountsSchema = z.record(z.string(), z.number().int().nonnegative());

export const LogicalDetailsSchema = z.object({
  format: z.enum(['custom', 'plain', 'directory']),
  scope: z.object({
    kind: z.enum(['database', 'schema-only', 'data-only', 'tables', 'schemas', 'all']),
    tables: z.array(z.string()).optional(),
    schemas: z.array(z.string()).optional(),
    /** With kind tables or schemas: only their data (`pg_dump --data-only -t ...`) or only their definitions. */
    only: z.enum(['data', 'schema']).optional(),
  }),
  /** The databases in this backup, each with the objects that hold it. */
  databases: z.array(
    z.object({
      name: z.string(),
      objects: z.array(z.string()),
      rowCounts: RowCountsSchema,
      /** Number of tables (relkind r) in the dumped scope. */
      tableCount: z.number().int().nonnegative(),
      largeObjects: z.number().int().nonnegative().optional(),
      /** Whether the row counts were taken in the dump's snapshot. */
      countsInSnapshot: z.boolean(),
    }),
  ),
  /** Object with `pg_dumpall --globals-only` output (roles, tablespaces), if taken. */
  globals: z.string().optional(),
  tool: z.string(),
});

const Lsn = z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/, 'expected an LSN like 1/6E000028');
const WalSegment = z.string().regex(/^[0-9A-F]{24}$/, 'expected a WAL segment name');

export const PhysicalDetailsSchema = z.object({
  tool: z.string(),
  /** Tar of the data directory as pg_basebackup writes it; holds PostgreSQL's backup_manifest. */
  format: z.literal('tar'),
  startLsn: Lsn,
  stopLsn: Lsn,
  timeline: z.number().int().positive(),
  walSegmentSize: z.number().int().positive(),
  /** First and last WAL segment the backup needs to be consistent (inclusive). */
  walStart: WalSegment,
  walStop: WalSegment,
  /** The WAL needed for consistency is inside the tar (pg_basebackup -X fetch). */
  walIncluded: z.boolean(),
  tablespaces: z.array(z.object({ oid: z.string(), location: z.string() })),
  dataDirectory: z.string().optional(),
  /**
   * Names of the user tables (and their TOAST tables) by storage id when the
   * backup was taken, so WAL records about a table dropped later can still be
   * named (`lifeboat pitr targets`). Optional: older backups lack it.
   */
  relationMap: z
    .object({
      takenAt: z.iso.datetime(),
      databases: z.array(
        z.object({
          oid: z.string(),
          name: z.string(),
          /** The database's default tablespace oid. */
          tablespace: z.string(),
          /** [oid, relfilenode, tablespace oid ('' = the database default), relkind, schema, name]; for TOAST (relkind t) the name is the owning table's. */
          relations: z.array(z.tuple([z.string(), z.string(), z.string(), z.string(), z.string(), z.string()])),
        }),
      ),
      /** Some relations were left out (too many to record). */
      truncated: z.boolean().optional(),
    })
    .optional(),
});
export type PhysicalDetails = z.infer<typeof PhysicalDetailsSchema>;

const ManifestShape = z.object({
  formatVersion: z.literal(MANIFEST_FORMAT),
  id: z.string().regex(/^[0-9]{8}-[0-9]{6}[LP]-[0-9a-f]{4}$/, 'expected an id like 20261121-084501L-3f2a'),
  cluster: z.string().min(1),
  kind: z.enum(['logical', 'physical']),
  plugin: z.object({ name: z.string(), version: z.string() }),
  lifeboatVersion: z.string(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  durationMs: z.number().nonnegative(),
  tag: BackupTagSchema,
  label: z.string().max(200).optional(),
  pinned: z.boolean().optional(),
  host: z.string(),
  server: z.object({
    version: z.string(),
    versionNum: z.number().int(),
    systemIdentifier: z.string(),
  }),
  compression: CompressionSchema,
  encryption: z.object({ mode: z.enum(['none', 'passphrase', 'keys']), fingerprints: z.array(z.string()).optional() }),
  objects: z.array(ManifestObjectSchema),
  rawSize: z.number().int().nonnegative(),
  storedSize: z.number().int().nonnegative(),
  logical: LogicalDetailsSchema.optional(),
  physical: PhysicalDetailsSchema.optional(),
});

/**
 * What the schema alone cannot say: every name the manifest hands to code that
 * writes, renames or removes files must be one the backup itself could have
 * written. A manifest is read from storage, and storage is not trusted with the
 * host: an object name with `..`, a key outside the backup's own prefix, a
 * tablespace oid like `../../etc` or a relative tablespace location would
 * otherwise be joined into paths on the database host.
 */
function checkManifest(m: z.infer<typeof ManifestShape>, ctx: z.RefinementCtx): void {
  const fail = (p: PropertyKey[], message: string): void => {
    ctx.addIssue({ code: 'custom', path: p, message });
  };
  if (!CLUSTER_NAME_RE.test(m.cluster)) fail(['cluster'], `cluster name ${JSON.stringify(m.cluster)} is not allowed`);
  const prefix = backupDirKey(m.cluster, m.id);
  const names = new Set<string>();
  m.objects.forEach((o, i) => {
    try {
      assertSafeKey(o.name);
    } catch (err) {
      return fail(['objects', i, 'name'], (err as Error).message);
    }
    if (o.name === 'manifest.json' || o.name.startsWith('manifest.json')) fail(['objects', i, 'name'], 'the name manifest.json is reserved');
    if (names.has(o.name)) fail(['objects', i, 'name'], `object ${JSON.stringify(o.name)} is listed twice`);
    names.add(o.name);
    const want = prefix + o.name + compressionSuffix(o.compression);
    if (o.key !== want) fail(['objects', i, 'key'], `key ${JSON.stringify(o.key)} is not this backup's own key ${JSON.stringify(want)}`);
  });
  const known = (p: PropertyKey[], name: string): void => {
    if (!names.has(name)) fail(p, `names object ${JSON.stringify(name)}, which the manifest does not list`);
  };
  if (m.logical) {
    m.logical.databases.forEach((d, i) => d.objects.forEach((n, j) => known(['logical', 'databases', i, 'objects', j], n)));
    if (m.logical.globals !== undefined) known(['logical', 'globals'], m.logical.globals);
  }
  if (m.physical) {
    const oids = new Set<string>();
    m.physical.tablespaces.forEach((t, i) => {
      if (!OID_RE.test(t.oid)) fail(['physical', 'tablespaces', i, 'oid'], `tablespace oid ${JSON.stringify(t.oid)} is not a number`);
      if (oids.has(t.oid)) fail(['physical', 'tablespaces', i, 'oid'], `tablespace ${t.oid} is listed twice`);
      oids.add(t.oid);
      const why = unsafeLocation(t.location);
      if (why) fail(['physical', 'tablespaces', i, 'location'], `tablespace location ${JSON.stringify(t.location)} ${why}`);
    });
    if (m.physical.dataDirectory !== undefined) {
      const why = unsafeLocation(m.physical.dataDirectory);
      if (why) fail(['physical', 'dataDirectory'], `data directory ${JSON.stringify(m.physical.dataDirectory)} ${why}`);
    }
    m.physical.relationMap?.databases.forEach((d, i) => {
      if (!OID_RE.test(d.oid)) fail(['physical', 'relationMap', 'databases', i, 'oid'], `database oid ${JSON.stringify(d.oid)} is not a number`);
      if (!OID_RE.test(d.tablespace)) fail(['physical', 'relationMap', 'databases', i, 'tablespace'], `tablespace oid ${JSON.stringify(d.tablespace)} is not a number`);
    });
  }
}

/** Why `loc` cannot be a directory PostgreSQL recorded, or undefined if it can. */
export function unsafeLocation(loc: string): string | undefined {
  if (!path.posix.isAbsolute(loc)) return 'is not an absolute path';
  if (/\p{Cc}/u.test(loc)) return 'contains control characters';
  if (loc === '/' || path.posix.normalize(loc) !== loc || loc.endsWith('/')) return 'is not a normalized directory path';
  return undefined;
}

export const ManifestSchema = ManifestShape.superRefine(checkManifest);

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestObject = z.infer<typeof ManifestObjectSchema>;
export type LogicalDetails = z.infer<typeof LogicalDetailsSchema>;

export const VerificationSchema = z.object({
  backupId: z.string(),
  level: z.enum(['checksum', 'structure', 'restore']),
  ok: z.boolean(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  host: z.string(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), detail: z.string().optional() })),
  error: z.string().optional(),
  /** The verification could not run (no CREATEDB, no connection): `ok` is false, but the backup is not known bad. */
  inconclusive: z.boolean().optional(),
});
export type Verification = z.infer<typeof VerificationSchema>;

/** Parse and validate a manifest; anything that fails is MANIFEST_INVALID, never trusted. */
export function parseManifest(text: string, where: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LifeboatError('MANIFEST_INVALID', `${where}: not valid JSON (${(err as Error).message})`, {
      hint: 'the manifest is truncated or damaged; this backup cannot be trusted',
    });
  }
  const res = ManifestSchema.safeParse(data);
  if (!res.success) {
    const issue = res.error.issues[0]!;
    throw new LifeboatError('MANIFEST_INVALID', `${where}: ${formatPath(issue.path)}: ${issue.message}`, {
      hint: 'the manifest is damaged or from an unknown format; this backup cannot be trusted',
    });
  }
  return res.data;
}

/** `a.b[2].c` from a zod issue path. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/** A new backup id: UTC time, kind letter, 4 random hex digits. */
export function newBackupId(kind: 'logical' | 'physical', now = new Date(), rand = Math.random): string {
  const iso = now.toISOString(); // 2026-11-21T08:45:01.123Z
  const stamp = iso.slice(0, 10).replaceAll('-', '') + '-' + iso.slice(11, 19).replaceAll(':', '');
  const hex = Math.floor(rand() * 0x10000).toString(16).padStart(4, '0');
  return `${stamp}${kind === 'logical' ? 'L' : 'P'}-${hex}`;
}
