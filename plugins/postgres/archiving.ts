import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { LifeboatError, parseArchiveCommand, plural, userNameOf, type ArchivingFinding, type StepContext } from 'lifeboat/plugin';
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
  /** pg_settings.pending_restart: changed in the files, in effect only after a restart. */
  pendingRestart: string[];
  /** May this role read pg_file_settings (the values the files set)? */
  canReadFiles: boolean;
}

/** The settings that take effect only at a restart, and what each needs. */
const RESTART_SETTINGS = {
  wal_level: { norm: (v: string) => v.toLowerCase().replace(/^(archive|hot_standby)$/, 'replica'), good: (v: string) => v !== 'minimal', want: 'replica', bad: 'minimal: neither base backups nor archiving are possible' },
  archive_mode: { norm: (v: string) => v.toLowerCase().replace(/^(true|yes|1)$/, 'on').replace(/^(false|no|0)$/, 'off'), good: (v: string) => v !== 'off', want: 'on', bad: 'off: no WAL is archived' },
  max_wal_senders: { norm: (v: string) => String(Number(v)), good: (v: string) => Number(v) >= 2, want: '10', bad: 'physical backups need a WAL sender' },
} as const;
type RestartSetting = keyof typeof RESTART_SETTINGS;

const alter = (k: string, v: string) => `ALTER SYSTEM SET ${k} = ${quoteLiteral(v)};`;

/**
 * A setting PostgreSQL applies only at a restart: the value in effect, judged
 * with the value the configuration files give it (`file`, when this role may
 * read pg_file_settings) or at least whether one waits (`pending`). A value set
 * but not in effect yet needs a restart, not the same ALTER SYSTEM line again.
 */
export function restartSettingFinding(name: RestartSetting, current: string, fileValue: string | undefined, pending: boolean): Finding {
  const s = RESTART_SETTINGS[name];
  const now = s.norm(current.trim());
  const file = fileValue === undefined ? undefined : s.norm(fileValue.trim());
  const fixIt = { fix: alter(name, s.want), needs: 'restart' as const };
  const badNow = `${name === 'max_wal_senders' ? `${now}: ` : ''}${s.bad}`;
  const waits = file !== undefined ? file !== now : pending;
  if (!waits) return s.good(now) ? { name, ok: true, level: 'ok', detail: now } : { name, ok: false, level: 'error', detail: badNow, ...fixIt };
  if (file === undefined) {
    return s.good(now)
      ? { name, ok: true, level: 'ok', detail: `${now} (a changed value waits for a restart)` }
      : { name, ok: false, level: 'error', detail: `${badNow}; a changed value waits for a restart (this role may not read which: pg_file_settings)`, fix: 'restart PostgreSQL, then run lifeboat check again', pending: '(unknown)' };
  }
  if (s.good(now) && s.good(file)) return { name, ok: true, level: 'ok', detail: `${now} (${file} after the next restart)` };
  if (s.good(now)) return { name, ok: false, level: 'warn', detail: `${now} now, but ${file} after the next restart (set in the configuration files)`, ...fixIt };
  if (s.good(file)) return { name, ok: false, level: 'error', detail: `${now} now; ${file} once PostgreSQL restarts (set, not in effect yet)`, fix: 'restart PostgreSQL', pending: file };
  return { name, ok: false, level: 'error', detail: badNow, ...fixIt };
}

/** Inspect the settings WAL archiving through lifeboat needs; each finding says how to fix it. */
export async function checkArchiving(ctx: Ctx, expected: { archiveCommand: string }): Promise<Finding[]> {
  const c = ctx.cluster.config;
  // archive_command reads "(disabled)" while archive_mode is off: reset_val has the value it is set to
  const f = await queryJson<Facts>(
    c,
    defaultDatabase(c),
    `SELECT json_build_object(
       'walLevel', current_setting('wal_level'), 'archiveMode', current_setting('archive_mode'),
       'archiveCommand', (SELECT CASE WHEN current_setting('archive_mode') = 'off' THEN reset_val ELSE setting END FROM pg_settings WHERE name = 'archive_command'),
       'archiveTimeout', (SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout'),
       'maxWalSenders', current_setting('max_wal_senders')::int,
       'canReplicate', (SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user),
       'archived', archived_count, 'failed', failed_count, 'lastFailedWal', last_failed_wal,
       'failingNow', coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false),
       'pendingRestart', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_settings WHERE pending_restart),
       'canReadFiles', has_table_privilege('pg_catalog.pg_file_settings', 'SELECT'))
     FROM pg_stat_archiver`,
    ctx.signal,
  );
  const now: Record<RestartSetting, string> = { wal_level: f.walLevel, archive_mode: f.archiveMode, max_wal_senders: String(f.maxWalSenders) };
  const names = Object.keys(now) as RestartSetting[];
  const needFiles = f.canReadFiles && names.some((n) => f.pendingRestart.includes(n) || !RESTART_SETTINGS[n].good(now[n]));
  const files = needFiles ? await fileSettings(ctx, names) : {};
  const restartFinding = (n: RestartSetting) => restartSettingFinding(n, now[n], f.canReadFiles ? (files[n] ?? now[n]) : undefined, f.pendingRestart.includes(n));
  const out: Finding[] = [];
  const add = (x: Finding) => out.push(x);
  add(restartFinding('wal_level'));
  add(restartFinding('archive_mode'));
  const command = archiveCommandFinding(f.archiveCommand, expected.archiveCommand, alter('archive_command', expected.archiveCommand));
  if (f.archiveMode === 'off' && command.ok) command.detail += ' (not in effect while archive_mode is off)';
  add(command);
  add(f.archiveTimeout > 0
    ? { name: 'archive_timeout', ok: true, level: 'ok', detail: `${f.archiveTimeout} s: a quiet server still archives at least this often` }
    : { name: 'archive_timeout', ok: false, level: 'warn', detail: '0: a quiet server may keep a partly filled segment unarchived for a long time', fix: alter('archive_timeout', '60s'), needs: 'reload' });
  add(restartFinding('max_wal_senders'));
  add(f.canReplicate
    ? { name: 'replication permission', ok: true, level: 'ok', detail: 'the role may replicate (physical backups)' }
    : { name: 'replication permission', ok: false, level: 'error', detail: 'the role lifeboat connects as may not replicate', fix: 'ALTER ROLE CURRENT_USER REPLICATION;  -- and a "replication" line in pg_hba.conf' });
  add(f.failingNow
    ? { name: 'pg_stat_archiver', ok: false, level: 'error', detail: `archiving is failing: ${plural(f.failed, 'failure')}, last on ${f.lastFailedWal}; see the server log for archive_command's message` }
    : { name: 'pg_stat_archiver', ok: true, level: 'ok', detail: `${f.archived} archived, ${f.failed} failed (none since the last success)` });
  // not archiving, but the server's health: databases a killed or failed restore left behind
  const partial = await incompleteRestores(c, defaultDatabase(c), ctx.signal);
  add(partial.length
    ? { name: 'incomplete restores', ok: false, level: 'warn', detail: partial.map((p) => `database ${p.datname} is ${p.comment.slice('lifeboat: '.length)}`).join('; ') + ' (restore again with --clean, or DROP DATABASE)' }
    : { name: 'incomplete restores', ok: true, level: 'ok', detail: 'none' });
  return out;
}

/** What the configuration files set `names` to (the last line wins), for a role that may read pg_file_settings. */
async function fileSettings(ctx: Ctx, names: string[]): Promise<Record<string, string>> {
  const c = ctx.cluster.config;
  const list = names.map(quoteLiteral).join(', ');
  return (
    (await queryJson<Record<string, string> | null>(
      c,
      defaultDatabase(c),
      `SELECT json_object_agg(name, setting) FROM (SELECT DISTINCT ON (name) name, setting FROM pg_file_settings WHERE name IN (${list}) ORDER BY name, seqno DESC) s`,
      ctx.signal,
    )) ?? {}
  );
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
 * The OS user the server runs as: connection.serverUser, else the owner of its
 * data directory (PostgreSQL refuses to start from one it does not own), else
 * postgres. The data directory is connection.dataDirectory or the server's
 * data_directory (a superuser or pg_read_all_settings sees it), looked at here,
 * on the database host.
 */
export async function serverOsUser(ctx: Ctx): Promise<{ name: string; source: string }> {
  const c = ctx.cluster.config;
  if (c.serverUser) return { name: c.serverUser, source: 'connection.serverUser' };
  const dir = c.dataDirectory ?? (await runSql(c, defaultDatabase(c), "SELECT setting FROM pg_settings WHERE name = 'data_directory'", ctx.signal)).trim();
  if (dir && !c.commandPrefix) {
    try {
      return { name: userNameOf(statSync(dir).uid), source: `owner of the data directory ${dir}` };
    } catch {
      // not visible from here: the default
    }
  }
  return { name: 'postgres', source: 'the default; set connection.serverUser if the server runs as another user' };
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

/**
 * Apply fixes (ALTER SYSTEM lines), then reload. Restart-only settings wait for
 * a restart: returns those pg_settings marks pending_restart (the reload is
 * asynchronous, so it waits a little for the ones just set to show up).
 */
export async function applySettings(ctx: Ctx, statements: string[]): Promise<{ pendingRestart: string[] }> {
  const c = ctx.cluster.config;
  for (const s of statements) await runSql(c, defaultDatabase(c), s, ctx.signal); // one by one: ALTER SYSTEM refuses transactions
  await runSql(c, defaultDatabase(c), 'SELECT pg_reload_conf()', ctx.signal);
  const set = statements.map((s) => /^ALTER SYSTEM SET (\w+)/i.exec(s)?.[1]?.toLowerCase()).filter((n): n is string => !!n);
  const sql = `SELECT json_build_object(
    'pending', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_settings WHERE pending_restart),
    'restartOnly', (SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM pg_settings WHERE context = 'postmaster' AND name IN (${set.map(quoteLiteral).join(', ') || "''"})))`;
  const deadline = Date.now() + 3000;
  for (;;) {
    const r = await queryJson<{ pending: string[]; restartOnly: string[] }>(c, defaultDatabase(c), sql, ctx.signal);
    if (r.restartOnly.every((n) => r.pending.includes(n)) || Date.now() > deadline) return { pendingRestart: [...new Set([...r.pending, ...r.restartOnly])].sort() };
    await new Promise((res) => setTimeout(res, 100));
  }
}
