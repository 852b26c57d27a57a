import { z } from 'zod';
import { CompressionSchema } from './compression.js';
import { LifeboatError } from './errors.js';

export const MANIFEST_FORMAT = 1;

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

export const ManifestSchema = z.object({
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
