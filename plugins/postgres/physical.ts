import {
  LifeboatError,
  parseBasebackupLog,
  plural,
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
import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { probe } from './catalog.js';
import { connArgs, toolOpts, type PostgresConfig } from './config.js';
import { queryJson } from './psql.js';
import { relationMap } from './relmap.js';

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
  const label = `lifeboat ${out.backupId}`;
  const stderr = facts.tablespaces.length > 0 ? await stagedBasebackup(ctx, out, opts, label, facts.tablespaces) : await streamedBasebackup(ctx, out, opts, label);
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
  const relations = await relationMap(ctx);
  if (relations) physical.relationMap = relations;
  ctx.log('info', `base backup from ${log.startLsn} to ${log.stopLsn} on timeline ${log.timeline}`);
  return { server, physical };
}

/** The object holding tablespace `oid` (its tar, as pg_basebackup writes it). */
export const tablespaceObject = (oid: string) => `tablespace-${oid}.tar`;
/** A tablespace oid from a manifest, checked before it names a directory: digits only. */
export function tablespaceOid(oid: string): string {
  if (!/^[1-9][0-9]{0,9}$/.test(oid)) throw new LifeboatError('MANIFEST_INVALID', `tablespace oid ${JSON.stringify(oid)} is not a number`);
  return oid;
}
/** PostgreSQL's backup_manifest, a separate object when the backup was staged. */
export const MANIFEST_OBJECT = 'backup_manifest';

/** No tablespaces: one tar stream on stdout, straight into the repository. Returns pg_basebackup's stderr. */
async function streamedBasebackup(ctx: Ctx, out: BackupWriter, opts: { compression: Compression }, label: string): Promise<string> {
  const c = ctx.cluster.config;
  const child = spawnTool('pg_basebackup', ['-w', ...connArgs(c), '-D', '-', '-Ft', '-X', 'fetch', '-c', 'fast', '-v', '--label', label], toolOpts(c, ctx.signal));
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
  return await exited;
}

/**
 * With tablespaces pg_basebackup cannot write to stdout (one tar per
 * tablespace), so the tars are staged in the step's private temp dir, then each
 * is streamed into the repository and removed. Needs free space there about the
 * size of the largest tar (each is removed as soon as it is stored). Not possible
 * through a command prefix (the files would be inside the container).
 */
async function stagedBasebackup(ctx: Ctx, out: BackupWriter, opts: { compression: Compression }, label: string, tablespaces: { oid: string; location: string }[]): Promise<string> {
  const c = ctx.cluster.config;
  if (c.commandPrefix?.length) {
    throw new LifeboatError('UNSUPPORTED', `cluster ${ctx.cluster.name} has tablespaces, whose base backup must be staged on this host; that is not possible through a command prefix`, {
      hint: 'run the agent where pg_basebackup can write local files, or take a logical backup',
    });
  }
  const dir = path.join(await ctx.tmpDir(), 'basebackup');
  ctx.log('info', `pg_basebackup of ${ctx.cluster.name}: ${plural(tablespaces.length, 'tablespace')}, staged in ${dir} (pg_basebackup writes one tar per tablespace)`);
  let stderr: string;
  try {
    const r = await spawnTool('pg_basebackup', ['-w', ...connArgs(c), '-D', dir, '-Ft', '-X', 'fetch', '-c', 'fast', '-N', '-v', '--label', label], toolOpts(c, ctx.signal));
    stderr = String(r.stderr ?? '');
  } catch (err) {
    throw toolError('pg_basebackup', err, toolOpts(c, ctx.signal));
  }
  const files = [BASE_OBJECT, ...tablespaces.map((t) => `${t.oid}.tar`), MANIFEST_OBJECT];
  for (const f of files) {
    const file = path.join(dir, f);
    const name = f === BASE_OBJECT || f === MANIFEST_OBJECT ? f : tablespaceObject(f.slice(0, -4));
    const size = (await stat(file)).size;
    await out.write(name, createReadStream(file), { compression: opts.compression, expectedBytes: size });
    await rm(file);
  }
  return stderr;
}
