import { z } from 'zod';
import { CompressionSchema } from '../core/compression.js';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'use letters, digits, dot, dash, underscore (max 63)');

export const DefaultsSchema = z
  .object({
    format: z.enum(['custom', 'plain', 'directory']).default('custom'),
    compression: CompressionSchema.default({ algorithm: 'zstd', level: 1 }),
    /** `status` fails when a cluster's newest backup is older than this. */
    maxBackupAgeHours: z.number().positive().default(26),
    tag: z.enum(['daily', 'weekly', 'monthly', 'yearly', 'pre-migration', 'manual']).default('manual'),
  })
  .strict();

/**
 * How archive_command stores this cluster's WAL (docs/configuration.md). Mirrored,
 * zod-free, by src/wal/target.ts lightWalArchive (test/unit/wal-target.test.ts).
 */
export const WalArchiveSchema = z
  .object({
    /** Push ahead in a background process; archive_command then only collects acknowledgements. */
    async: z.boolean().default(false),
    /** Acknowledgements, the pusher's lock and log (default <stateDir>/wal-spool); PostgreSQL's OS user must write it. */
    spoolDir: z.string().min(1).optional(),
    /** Segments the background pusher stores at the same time. */
    parallel: z.number().int().min(1).max(32).default(2),
    /** Most segments allowed to wait for archiving before archive_command fails loudly (nothing is dropped). */
    maxQueue: z.number().int().min(1).max(1_000_000).default(1024),
    /** How long one archive_command call waits for the background pusher. */
    waitSeconds: z.number().positive().max(86_400).default(60),
    /** The background pusher exits after this long without work. */
    idleSeconds: z.number().positive().max(86_400).default(60),
  })
  .strict();

export const ClusterSchema = z
  .object({
    /** Source plugin: "postgres" (built in) or a loaded plugin's name. */
    source: z.string().default('postgres'),
    /** Name of an entry in `repositories`. */
    repository: Name,
    /** Connection settings, validated by the source plugin's schema. */
    connection: z.record(z.string(), z.unknown()).default({}),
    maxBackupAgeHours: z.number().positive().optional(),
    /** Default policy of `lifeboat expire` (pinned backups always stay). */
    retention: z
      .object({
        /** Keep the newest N physical backups (and the WAL they need). */
        physical: z.number().int().min(1).optional(),
        /** Keep the newest N logical backups. */
        logical: z.number().int().min(1).optional(),
        /** Keep every backup younger than this many days. */
        maxAgeDays: z.number().positive().optional(),
      })
      .strict()
      .optional(),
    description: z.string().optional(),
    /** WAL archiving: sync (default) or async with a background pusher. */
    walArchive: WalArchiveSchema.optional(),
  })
  .strict();

export const RepositorySchema = z
  .object({ type: z.string().min(1) })
  .catchall(z.unknown());

export const AgentConfigSchema = z
  .object({
    $schema: z.string().optional(),
    /** Where the agent keeps its job log, catalog cache and locks. */
    stateDir: z.string().min(1).optional(),
    /** Extra plugin modules (paths or package names) to load. */
    plugins: z.array(z.string().min(1)).default([]),
    repositories: z.record(Name, RepositorySchema),
    clusters: z.record(Name, ClusterSchema),
    defaults: DefaultsSchema.default(DefaultsSchema.parse({})),
  })
  .strict();

export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
export type AgentConfig = z.infer<typeof AgentConfigSchema>;
export type ClusterConfig = z.infer<typeof ClusterSchema>;
export type Defaults = z.infer<typeof DefaultsSchema>;
