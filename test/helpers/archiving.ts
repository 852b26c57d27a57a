import path from 'node:path';
import { execa } from 'execa';
import { findBinDir, startCluster, type PgCluster } from '../harness/pg.js';
import { BIN, giveToServer, workspace, type Workspace } from './cli.js';

// Shared by the tests that run a cluster archiving through lifeboat and
// recover copies of it (pitr, pitr-inplace, pitr-control, pitr-targets,
// retention, tablespaces).

type Psql = (sql: string) => Promise<string>;

/**
 * A throwaway cluster archiving through this checkout's lifeboat into a
 * workspace (config and local repository) that the server's OS user owns.
 */
export async function startArchivingCluster(name: string, o: { workspace?: Parameters<typeof workspace>[1] } = {}): Promise<{ pg: PgCluster; ws: Workspace }> {
  const pg = await startCluster({ name, settings: { archive_mode: 'on', archive_timeout: '0', wal_level: 'replica' } });
  const ws = await workspace(pg, o.workspace);
  await giveToServer(ws);
  await archiveThroughLifeboat(pg.psql, ws.config);
  return { pg, ws };
}
const IS_ROOT = process.getuid?.() === 0;

/** Make the server archive through this checkout's `lifeboat wal push` with `config`, and reload. */
export async function archiveThroughLifeboat(psql: Psql, config: string): Promise<void> {
  const cmd = `${process.execPath} ${BIN} --config ${config} wal push %p`;
  await psql(`ALTER SYSTEM SET archive_command = '${cmd.replaceAll("'", "''")}'`);
  await psql('SELECT pg_reload_conf()');
}

/** Switch WAL and wait (200 ms polls) until the segment that was current is archived; false when it never was. */
export async function switchAndWaitArchived(psql: Psql, tries = 150): Promise<boolean> {
  const segment = await psql('SELECT pg_walfile_name(pg_current_wal_lsn())');
  await psql('SELECT pg_switch_wal()');
  for (let i = 0; i < tries; i++) {
    if ((await psql(`SELECT coalesce(last_archived_wal, '') >= '${segment}' FROM pg_stat_archiver`)) === 't') return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** psql -At against a server on 127.0.0.1:`port` as postgres (a recovered copy, say). */
export async function psqlAt(port: number, sql: string, db = 'postgres'): Promise<string> {
  const r = await execa('psql', ['-X', '-A', '-t', '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql]);
  return String(r.stdout).trim();
}

/** Stop the server of data directory `dir` (immediate), as the server's OS user; quiet when none runs. */
export async function stopDataDir(dir: string): Promise<void> {
  const pgctl = path.join(findBinDir(), 'pg_ctl');
  const [cmd, args] = IS_ROOT ? ['runuser', ['-u', 'postgres', '--', pgctl]] : [pgctl, []];
  await execa(cmd, [...args, 'stop', '-D', dir, '-m', 'immediate'], { reject: false });
}
