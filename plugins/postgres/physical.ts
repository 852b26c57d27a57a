import {
  LifeboatError,
  parseBasebackupLog,
  parseLsn,
  runTool,
  segmentName,
  spawnTool,
  toolError,
  type BackupWriter,
  type Compression,
  type PhysicalDetails,
  type ServerInfo,
  type StepContext,
} from 'lifeboat/plugin';
import { probe } from './catalog.js';
import { connArgs, toolOpts, type PostgresConfig } from './config.js';
import { queryJson } from './psql.js';

type Ctx = StepContext<PostgresConfig>;

export const BASE_OBJECT = 'base.tar';

/**
 * The `physicalBackup` step: pg_basebackup's tar stream (data directory, the WAL
 * it needs via -X fetch, and PostgreSQL's backup_manifest) straight into the
 * repository, never staged.
 */
export async function physicalBackup(ctx: Ctx, out: BackupWriter, opts: { compression: Compression }): Promise<{ server: ServerInfo; physical: PhysicalDetails }> {
  const c = ctx.cluster.config;
  const [server, tool] = await Promise.all([probe(c, ctx.signal), runTool('pg_basebackup', ['--version'], toolOpts(c, ctx.signal))]);
  const facts = await queryJson<{ walLevel: string; segSize: number; canReplicate: boolean; tablespaces: { oid: string; location: string }[]; dataDirectory: string | null }>(
    c,
    server.database,
    `SELECT json_build_object(
       'walLevel', current_setting('wal_level'),
       'segSize', (SELECT setting::bigint * CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END FROM pg_settings WHERE name = 'wal_segment_size'),
       'canReplicate', (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user),
       'tablespaces', (SELECT coalesce(json_agg(json_build_object('oid', oid::text, 'location', pg_tablespace_location(oid))), '[]') FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global')),
       'dataDirectory', CASE WHEN pg_has_role('pg_read_all_settings', 'member') THEN current_setting('data_directory') END)`,
    ctx.signal,
  );
  if (facts.walLevel === 'minimal') {
    throw new LifeboatError('UNSUPPORTED', `cluster ${ctx.cluster.name} has wal_level=minimal: no physical backup is possible`, {
      hint: "ALTER SYSTEM SET wal_level = 'replica'; then restart PostgreSQL",
    });
  }
  if (!facts.canReplicate) {
    throw new LifeboatError('CONNECTION_FAILED', `role used by lifeboat on ${ctx.cluster.name} may not replicate`, {
      hint: 'ALTER ROLE <user> REPLICATION; and allow a "replication" line for it in pg_hba.conf',
    });
  }
  if (facts.tablespaces.length > 0) {
    throw new LifeboatError('UNSUPPORTED', `cluster ${ctx.cluster.name} has ${facts.tablespaces.length} tablespace(s) outside the data directory; streamed physical backups of those are not supported yet`, {
      hint: 'take a logical backup (lifeboat backup --logical) meanwhile',
    });
  }
  const child = spawnTool('pg_basebackup', ['-w', ...connArgs(c), '-D', '-', '-Ft', '-X', 'fetch', '-c', 'fast', '-v', '--label', `lifeboat ${out.backupId}`], toolOpts(c, ctx.signal));
  ctx.log('info', `pg_basebackup of ${ctx.cluster.name} (tar stream with WAL, checkpoint fast)`);
  const exited = Promise.resolve(child).then(
    (r) => String(r.stderr ?? ''),
    (err: unknown) => {
      throw toolError('pg_basebackup', err, toolOpts(c, ctx.signal));
    },
  );
  exited.catch(() => undefined);
  try {
    await out.write(BASE_OBJECT, child.stdout!, { compression: opts.compression });
  } catch (err) {
    child.kill();
    const code = (err as { code?: string }).code;
    if (code !== 'STORAGE_FAILED' && code !== 'CANCELLED') await exited;
    throw err;
  }
  const stderr = await exited;
  const log = parseBasebackupLog(stderr);
  if (!log) throw new LifeboatError('COMMAND_FAILED', 'pg_basebackup did not report its WAL start and end points', { details: { stderr } });
  const physical: PhysicalDetails = {
    tool: tool.trim(),
    format: 'tar',
    startLsn: log.startLsn,
    stopLsn: log.stopLsn,
    timeline: log.timeline,
    walSegmentSize: facts.segSize,
    walStart: segmentName(log.timeline, parseLsn(log.startLsn), facts.segSize),
    walStop: segmentName(log.timeline, parseLsn(log.stopLsn), facts.segSize),
    walIncluded: true,
    tablespaces: facts.tablespaces,
  };
  if (facts.dataDirectory) physical.dataDirectory = facts.dataDirectory;
  ctx.log('info', `base backup from ${log.startLsn} to ${log.stopLsn} on timeline ${log.timeline}`);
  return { server, physical };
}
