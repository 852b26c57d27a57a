import { LifeboatError, type ArchivingFinding, type StepContext } from 'lifeboat/plugin';
import { defaultDatabase, type PostgresConfig } from './config.js';
import { queryJson, runSql } from './psql.js';
import { quoteLiteral } from './sql.js';
import { incompleteRestores } from './restore.js';

type Ctx = StepContext<PostgresConfig>;

type Finding = ArchivingFinding;

interface Facts {
  walLevel: string;
  archiveMode: string;
  archiveCommand: string;
  archiveTimeout: number;
  maxWalSenders: number;
  canReplicate: boolean;
  archived: number;
  failed: number;
  lastFailedWal: string | null;
  failingNow: boolean;
}

/** Inspect the settings WAL archiving through lifeboat needs; each finding says how to fix it. */
export async function checkArchiving(ctx: Ctx, expected: { archiveCommand: string }): Promise<Finding[]> {
  const c = ctx.cluster.config;
  const f = await queryJson<Facts>(
    c,
    defaultDatabase(c),
    `SELECT json_build_object(
       'walLevel', current_setting('wal_level'), 'archiveMode', current_setting('archive_mode'),
       'archiveCommand', current_setting('archive_command'),
       'archiveTimeout', (SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout'),
       'maxWalSenders', current_setting('max_wal_senders')::int,
       'canReplicate', (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user),
       'archived', archived_count, 'failed', failed_count, 'lastFailedWal', last_failed_wal,
       'failingNow', coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false))
     FROM pg_stat_archiver`,
    ctx.signal,
  );
  const out: Finding[] = [];
  const add = (x: Finding) => out.push(x);
  const alter = (k: string, v: string) => `ALTER SYSTEM SET ${k} = ${quoteLiteral(v)};`;
  add(f.walLevel === 'minimal'
    ? { name: 'wal_level', ok: false, level: 'error', detail: 'minimal: neither base backups nor archiving are possible', fix: alter('wal_level', 'replica'), needs: 'restart' }
    : { name: 'wal_level', ok: true, level: 'ok', detail: f.walLevel });
  add(f.archiveMode === 'off'
    ? { name: 'archive_mode', ok: false, level: 'error', detail: 'off: no WAL is archived', fix: alter('archive_mode', 'on'), needs: 'restart' }
    : { name: 'archive_mode', ok: true, level: 'ok', detail: f.archiveMode });
  // sync: `lifeboat ... wal push %p`; async (walArchive.async): `.../lifeboat-archive ... %p`
  const asyncCmd = (cmd: string) => /lifeboat-archive/.test(cmd) && cmd.includes('%p');
  const syncCmd = (cmd: string) => /lifeboat/.test(cmd) && /wal push/.test(cmd) && cmd.includes('%p');
  const wantAsync = asyncCmd(expected.archiveCommand);
  const mode = (a: boolean) => (a ? 'async' : 'sync');
  const fixCommand = { fix: alter('archive_command', expected.archiveCommand), needs: 'reload' as const };
  if (!asyncCmd(f.archiveCommand) && !syncCmd(f.archiveCommand)) {
    add({ name: 'archive_command', ok: false, level: 'error', detail: f.archiveCommand ? `${f.archiveCommand} (not lifeboat)` : 'empty', ...fixCommand });
  } else if (asyncCmd(f.archiveCommand) !== wantAsync) {
    add({ name: 'archive_command', ok: false, level: 'error', detail: `${f.archiveCommand} (${mode(!wantAsync)} archiving, but the config says walArchive.async: ${wantAsync})`, ...fixCommand });
  } else if (wantAsync && f.archiveCommand !== expected.archiveCommand) {
    add({ name: 'archive_command', ok: false, level: 'warn', detail: `${f.archiveCommand} (not the line this config gives: another spool, config or node?)`, ...fixCommand });
  } else {
    add({ name: 'archive_command', ok: true, level: 'ok', detail: `${f.archiveCommand}${wantAsync ? ' (async)' : ''}` });
  }
  add(f.archiveTimeout > 0
    ? { name: 'archive_timeout', ok: true, level: 'ok', detail: `${f.archiveTimeout} s: a quiet server still archives at least this often` }
    : { name: 'archive_timeout', ok: false, level: 'warn', detail: '0: a quiet server may keep a partly filled segment unarchived for a long time', fix: alter('archive_timeout', '60s'), needs: 'reload' });
  add(f.maxWalSenders >= 2
    ? { name: 'max_wal_senders', ok: true, level: 'ok', detail: String(f.maxWalSenders) }
    : { name: 'max_wal_senders', ok: false, level: 'error', detail: `${f.maxWalSenders}: physical backups need a WAL sender`, fix: alter('max_wal_senders', '10'), needs: 'restart' });
  add(f.canReplicate
    ? { name: 'replication permission', ok: true, level: 'ok', detail: 'the role may replicate (physical backups)' }
    : { name: 'replication permission', ok: false, level: 'error', detail: 'the role lifeboat connects as may not replicate', fix: 'ALTER ROLE CURRENT_USER REPLICATION;  -- and a "replication" line in pg_hba.conf' });
  add(f.failingNow
    ? { name: 'pg_stat_archiver', ok: false, level: 'error', detail: `archiving is failing: ${f.failed} failure(s), last on ${f.lastFailedWal}; see the server log for archive_command's message` }
    : { name: 'pg_stat_archiver', ok: true, level: 'ok', detail: `${f.archived} archived, ${f.failed} failed (none since the last success)` });
  // not archiving, but the server's health: databases a killed or failed restore left behind
  const partial = await incompleteRestores(c, defaultDatabase(c), ctx.signal);
  add(partial.length
    ? { name: 'incomplete restores', ok: false, level: 'warn', detail: partial.map((p) => `database ${p.datname} is ${p.comment.slice('lifeboat: '.length)}`).join('; ') + ' (restore again with --clean, or DROP DATABASE)' }
    : { name: 'incomplete restores', ok: true, level: 'ok', detail: 'none' });
  return out;
}

/** pg_switch_wal(): closes the current segment; returns its file name (for the end-to-end probe). */
export async function switchWal(ctx: Ctx): Promise<string> {
  const c = ctx.cluster.config;
  const out = await runSql(c, defaultDatabase(c), "SELECT pg_walfile_name(pg_switch_wal())", ctx.signal);
  const name = out.trim();
  if (!/^[0-9A-F]{24}$/.test(name)) throw new LifeboatError('COMMAND_FAILED', `pg_switch_wal returned ${name}`);
  return name;
}

/** Apply fixes (ALTER SYSTEM lines), then reload. Restart-only settings wait for a restart. */
export async function applySettings(ctx: Ctx, statements: string[]): Promise<void> {
  const c = ctx.cluster.config;
  for (const s of statements) await runSql(c, defaultDatabase(c), s, ctx.signal); // one by one: ALTER SYSTEM refuses transactions
  await runSql(c, defaultDatabase(c), 'SELECT pg_reload_conf()', ctx.signal);
}
