/**
 * What both ways of resolving a WAL hook's target share: the light reading
 * (target.ts, in the hook's own bundle) and the full one (full.ts, the
 * wal-full bundle target.ts loads only when it must). A leaf, so neither
 * imports the other for it.
 */
import { LifeboatError } from '../core/errors.js';
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

type Obj = Record<string, unknown>;

/** Pick the cluster as AgentEnv.cluster does, with the same messages. */
export function pickCluster(clusters: Obj, name: string | undefined, file: string): string {
  const names = Object.keys(clusters);
  if (!name) {
    if (names.length === 1) return names[0]!;
    throw new LifeboatError('USAGE', `choose a cluster with --cluster (configured: ${names.join(', ') || 'none'})`);
  }
  if (!Object.hasOwn(clusters, name)) {
    throw new LifeboatError('UNKNOWN_CLUSTER', `no cluster "${name}" in ${file}`, { hint: `configured: ${names.join(', ') || 'none'}` });
  }
  return name;
}
