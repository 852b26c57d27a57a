/**
 * A database's own properties, kept when `restore --clean` replaces it: owner,
 * encoding, collation, character type, locale provider, tablespace, connection
 * limit, grants (datacl), per-database settings and the comment. pg_restore
 * into an existing database restores none of them (they belong to CREATE
 * DATABASE and ALTER DATABASE, which pg_dump writes only with --create).
 */
import type { StepContext } from 'lifeboat/plugin';
import type { PostgresConfig } from './config.js';
import { queryJson, runSql } from './psql.js';
import { quoteIdent, quoteLiteral } from './sql.js';

export interface DatabaseProps {
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** 'c' (libc) or 'i' (ICU); PostgreSQL 15+. */
  provider?: string;
  icuLocale?: string;
  tablespace: string;
  connLimit: number;
  /** aclitem texts, e.g. `app=CTc/postgres`; null: the defaults. */
  acl: string[] | null;
  /** `name=value` texts from pg_db_role_setting (for every role). */
  settings: string[];
  comment: string | null;
}

/** Read them while the database still exists. */
export async function readDatabaseProps(c: PostgresConfig, admin: string, db: string, signal?: AbortSignal): Promise<DatabaseProps> {
  const v15 = Number(await runSql(c, admin, 'SHOW server_version_num', signal)) >= 150000;
  return queryJson<DatabaseProps>(
    c,
    admin,
    `SELECT json_build_object(
       'owner', pg_catalog.pg_get_userbyid(d.datdba), 'encoding', pg_catalog.pg_encoding_to_char(d.encoding),
       'collate', d.datcollate, 'ctype', d.datctype,
       ${v15 ? "'provider', d.datlocprovider, 'icuLocale', d.daticulocale," : ''}
       'tablespace', t.spcname, 'connLimit', d.datconnlimit, 'acl', d.datacl::text[],
       'settings', coalesce((SELECT array_agg(x) FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) x WHERE s.setdatabase = d.oid AND s.setrole = 0), '{}'),
       'comment', pg_catalog.shobj_description(d.oid, 'pg_database'))
     FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace
     WHERE d.datname = ${quoteLiteral(db)}`,
    signal,
  );
}

/** CREATE DATABASE with the same properties (template0, so encoding and locale may differ from template1's). */
export function createDatabaseSql(db: string, p: DatabaseProps, opts: { owner: boolean }): string {
  const parts = [`CREATE DATABASE ${quoteIdent(db)} TEMPLATE template0`, `ENCODING ${quoteLiteral(p.encoding)}`, `LC_COLLATE ${quoteLiteral(p.collate)}`, `LC_CTYPE ${quoteLiteral(p.ctype)}`];
  if (p.provider === 'i') parts.push('LOCALE_PROVIDER icu', `ICU_LOCALE ${quoteLiteral(p.icuLocale ?? '')}`);
  if (p.tablespace !== 'pg_default') parts.push(`TABLESPACE ${quoteIdent(p.tablespace)}`);
  if (p.connLimit !== -1) parts.push(`CONNECTION LIMIT ${p.connLimit}`);
  if (opts.owner) parts.push(`OWNER ${quoteIdent(p.owner)}`);
  return parts.join(' ');
}

/** Settings whose value is a list of names: written unquoted, as pg_dump does (GUC_LIST_QUOTE). */
const LIST_SETTINGS = new Set(['search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries', 'shared_preload_libraries']);

const PRIVILEGES: Record<string, string> = { C: 'CREATE', T: 'TEMPORARY', c: 'CONNECT' };

/** GRANT / REVOKE / ALTER DATABASE statements that give the new database the old one's grants and settings. */
export function databasePropsSql(db: string, p: DatabaseProps): string[] {
  const d = quoteIdent(db);
  const out: string[] = [];
  if (p.acl) {
    // explicit grants replace the defaults (PUBLIC: CONNECT, TEMPORARY)
    out.push(`REVOKE ALL ON DATABASE ${d} FROM PUBLIC`);
    for (const item of p.acl) {
      const m = /^(.*)=([a-zA-Z*]*)\/(.*)$/.exec(item);
      if (!m) continue;
      const grantee = m[1] === '' ? 'PUBLIC' : quoteIdent(m[1]!.replace(/^"(.*)"$/, '$1').replaceAll('""', '"'));
      for (const [, letter, star] of m[2]!.matchAll(/([a-zA-Z])(\*?)/g)) {
        const priv = PRIVILEGES[letter!];
        if (priv) out.push(`GRANT ${priv} ON DATABASE ${d} TO ${grantee}${star ? ' WITH GRANT OPTION' : ''}`);
      }
    }
  }
  for (const s of p.settings) {
    const eq = s.indexOf('=');
    if (eq <= 0) continue;
    const name = s.slice(0, eq);
    const value = s.slice(eq + 1);
    if (!/^[A-Za-z_][\w.]*$/.test(name)) continue;
    out.push(`ALTER DATABASE ${d} SET ${name} TO ${LIST_SETTINGS.has(name) ? value : quoteLiteral(value)}`);
  }
  return out;
}

/** Recreate `db` with `p`; an owner this role may not give (not a member of it) is reported, the rest kept. */
export async function createDatabaseLike(ctx: StepContext<PostgresConfig>, admin: string, db: string, p: DatabaseProps): Promise<string[]> {
  const c = ctx.cluster.config;
  const notes: string[] = [];
  try {
    await runSql(c, admin, createDatabaseSql(db, p, { owner: true }), ctx.signal);
  } catch (err) {
    if (!/must be (a )?member of role|permission denied to create database|must be able to SET ROLE/i.test((err as Error).message)) throw err;
    await runSql(c, admin, createDatabaseSql(db, p, { owner: false }), ctx.signal);
    notes.push(`database ${db} could not be given to its owner ${p.owner} (this role is not a member of it): it is owned by ${c.user ?? 'the connecting role'}`);
  }
  for (const sql of databasePropsSql(db, p)) {
    try {
      await runSql(c, admin, sql, ctx.signal);
    } catch (err) {
      notes.push(`${sql}: ${(err as Error).message.split('\n').find((l) => /ERROR/.test(l)) ?? (err as Error).message}`);
    }
  }
  for (const n of notes) ctx.log('warn', n);
  return notes;
}
