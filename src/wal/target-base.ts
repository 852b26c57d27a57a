/**
 * What both ways of resolving a WAL hook's target share: the light reading
 * (target.ts, in the hook's own bundle) and the full one (full.ts, the
 * wal-full bundle target.ts loads only when it must). A leaf, so neither
 * imports the other for it.
 */
import { pickCluster as pickClusterOf } from '../config/clusters.js';
import { forCli } from '../core/fields.js';
import type { Storage } from '../core/storage.js';
import type { WalCompression } from './zstd.js';

/** The cluster's `walArchive` section with its defaults applied (see schema.ts WalArchiveSchema). */
export interface WalArchiveSettings {
  async: boolean;
  spoolDir?: string;
  parallel: number;
  maxQueue: number;
  waitSeconds: number;
  idleSeconds: number;
}

export const WAL_ARCHIVE_DEFAULTS: WalArchiveSettings = { async: false, parallel: 2, maxQueue: 1024, waitSeconds: 60, idleSeconds: 60 };

export interface WalTarget {
  configPath: string;
  cluster: string;
  storage: Storage;
  compression: WalCompression;
  walArchive: WalArchiveSettings;
  /** Where state lives (for the default spool directory). */
  stateDir: string;
  /** Which path resolved it (for tests and --debug). */
  via: 'light' | 'full';
}

/** Pick the cluster as AgentEnv.cluster does (config/clusters.ts), its message said as the hook's flag. */
export function pickCluster(clusters: Record<string, unknown>, name: string | undefined, file: string): string {
  return pickClusterOf(clusters, name, file, forCli);
}
