import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { LifeboatError, parseArchiveCommand, type ArchivingFinding, type StepContext } from 'lifeboat/plugin';
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
  add(archiveCommandFinding(f.archiveCommand, expected.archiveCommand, alter('archive_command', expected.archiveCommand)));
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

const sameFile = (a: string, b: string) => {
  const real = (p: string) => (existsSync(p) ? realpathSync(p) : path.resolve(p));
  return real(a) === real(b);
};

/**
 * archive_command against the line this config gives. A lifeboat command that
 * names another config or cluster archives somewhere else: it is not "in place".
 * Replacing what archives elsewhere (another tool, config or cluster) is marked
 * `replacesForeign`: setup-archiving does it only with --force.
 */
export function archiveCommandFinding(actual: string, expected: string, fix: string): Finding {
  const name = 'archive_command';
  const fixIt = { fix, needs: 'reload' as const };
  const want = parseArchiveCommand(expected);
  const have = parseArchiveCommand(actual);
  if (!actual) return { name, ok: false, level: 'error', detail: 'empty', ...fixIt };
  if (!have || !want) return { name, ok: false, level: 'error', detail: `${actual} (not lifeboat)`, ...fixIt, replacesForeign: true };
  if (have.config && want.config && !sameFile(have.config, want.config)) {
    return existsSync(have.config)
      ? { name, ok: false, level: 'warn', detail: `${actual} (archives through config ${have.config}, this config is ${want.config}: its WAL may go to another repository)`, ...fixIt, replacesForeign: true }
      : { name, ok: false, level: 'error', detail: `${actual} (names config ${have.config}, which does not exist; this config is ${want.config})`, ...fixIt, replacesForeign: true };
  }
  if (have.cluster && have.cluster !== want.cluster) {
    return { name, ok: false, level: 'error', detail: `${actual} (archives as cluster ${have.cluster}, this is ${want.cluster}: its WAL goes under another name)`, ...fixIt, replacesForeign: true };
  }
  if (have.mode !== want.mode) {
    return { name, ok: false, level: 'error', detail: `${actual} (${have.mode} archiving, but the config says walArchive.async: ${want.mode === 'async'})`, ...fixIt };
  }
  if (!have.config || !have.cluster) {
    return { name, ok: false, level: 'warn', detail: `${actual} (names no ${have.config ? '--cluster' : '--config'}: ${have.config ? 'works only while the config has one cluster' : "the server's OS user finds a config by its own lookup"})`, ...fixIt };
  }
  if (want.mode === 'async' && actual !== expected) {
    const why = have.spool !== want.spool ? `spool ${have.spool ?? '(none)'}, this config's is ${want.spool}` : 'not the line this config gives: another node or lifeboat?';
    return { name, ok: false, level: 'warn', detail: `${actual} (${why})`, ...fixIt };
  }
  return { name, ok: true, level: 'ok', detail: `${actual}${want.mode === 'async' ? ' (async)' : ''}` };
}

/**
 * pg_switch_wal(): closes the current segment; returns its file name (for the
 * end-to-end probe). A commit record first (txid_current(), its own
 * transaction): without WAL since the last switch, pg_switch_wal() closes
 * nothing and names a segment archived before, and the probe would pass
 * whatever archive_command does now.
 */
export async function switchWal(ctx: Ctx): Promise<string> {
  const c = ctx.cluster.config;
  const out = await runSql(c, defaultDatabase(c), 'SELECT txid_current();\nSELECT pg_walfile_name(pg_switch_wal());', ctx.signal);
  const name = out.trim().split('\n').at(-1)!.trim();
  if (!/^[0-9A-F]{24}$/.test(name)) throw new LifeboatError('COMMAND_FAILED', `pg_switch_wal returned ${name}`);
  return name;
}

/** Apply fixes (ALTER SYSTEM lines), then reload. Restart-only settings wait for a restart. */
export async function applySettings(ctx: Ctx, statements: string[]): Promise<void> {
  const c = ctx.cluster.config;
  for (const s of statements) await runSql(c, defaultDatabase(c), s, ctx.signal); // one by one: ALTER SYSTEM refuses transactions
  await runSql(c, defaultDatabase(c), 'SELECT pg_reload_conf()', ctx.signal);
}
