import type { ServerStatus, StepContext } from 'lifeboat/plugin';
import { defaultDatabase, type PostgresConfig } from './config.js';
import { queryJson } from './psql.js';

interface Row {
  version: string;
  inRecovery: boolean;
  archiveMode: string;
  archivedCount: number;
  failedCount: number;
  lastArchivedWal: string | null;
  lastArchivedAt: string | null;
  lastFailedWal: string | null;
  lastFailedAt: string | null;
  failingNow: boolean;
}

/** PostgreSQL writes timestamptz in the session's zone; the protocol speaks UTC ISO. */
const iso = (t: string | null) => (t ? new Date(t).toISOString() : undefined);

/**
 * Version, recovery state and pg_stat_archiver in one query (one psql start):
 * an overview asks every cluster at once and must not wait on any of them long.
 */
export async function serverStatus(ctx: StepContext<PostgresConfig>): Promise<ServerStatus> {
  const c = ctx.cluster.config;
  const r = await queryJson<Row>(
    c,
    defaultDatabase(c),
    `SELECT json_build_object(
       'version', current_setting('server_version'), 'inRecovery', pg_is_in_recovery(),
       'archiveMode', current_setting('archive_mode'),
       'archivedCount', archived_count, 'failedCount', failed_count,
       'lastArchivedWal', last_archived_wal, 'lastArchivedAt', last_archived_time,
       'lastFailedWal', last_failed_wal, 'lastFailedAt', last_failed_time,
       'failingNow', coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false))
     FROM pg_stat_archiver`,
    ctx.signal,
  );
  const optional = (k: string, v: string | null | undefined) => (v ? { [k]: v } : {});
  return {
    version: r.version,
    inRecovery: r.inRecovery,
    archiveMode: r.archiveMode,
    archiver: {
      archivedCount: Number(r.archivedCount),
      failedCount: Number(r.failedCount),
      ...optional('lastArchivedWal', r.lastArchivedWal),
      ...optional('lastArchivedAt', iso(r.lastArchivedAt)),
      ...optional('lastFailedWal', r.lastFailedWal),
      ...optional('lastFailedAt', iso(r.lastFailedAt)),
      failingNow: r.failingNow,
    },
  };
}
