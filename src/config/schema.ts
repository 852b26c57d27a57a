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
