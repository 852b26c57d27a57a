import {
  LifeboatError,
  spawnTool,
  toolError,
  noun,
  plural,
  type BackupReader,
  type Manifest,
  type RestoreAction,
  type RestoreOptions,
  type RestorePlan,
  type RestoreResult,
  type StepContext,
} from 'lifeboat/plugin';
import { countRows, listTables, matchTable, type TableRef } from './catalog.js';
import { connArgs, defaultDatabase, maintenanceDatabase, toolOpts, type PostgresConfig } from './config.js';
import { databaseEntry } from './archive.js';
import { createDatabaseLike, readDatabaseProps } from './dbprops.js';
import { queryJson, runSql } from './psql.js';
import { quoteIdent, quoteLiteral } from './sql.js';
import { compareCounts, loadInto } from './verify.js';

type Ctx = StepContext<PostgresConfig>;

/** Read-only: check the target and list exactly what a restore would do. */
export async function planRestore(ctx: Ctx, manifest: Manifest, opts: RestoreOptions): Promise<RestorePlan> {
  const c = ctx.cluster.config;
  const logical = manifest.logical;
  if (!logical) throw new LifeboatError('UNSUPPORTED', `backup ${manifest.id} is not a logical backup`);
  const entry = databaseEntry({ manifest, open: () => Promise.reject(new Error('plan is read-only')) }, opts.sourceDatabase);
  if ((opts.tables.length || opts.schemas.length) && logical.format === 'plain') {
    throw new LifeboatError('UNSUPPORTED', 'a plain-format backup can only be restored whole', {
      hint: 'restore it whole into a new database and copy what you need, or take custom-format backups',
    });
  }
  const known = Object.keys(entry.rowCounts).length ? Object.keys(entry.rowCounts) : [];
  const tables = opts.tables.map((t) => (known.length ? matchTable(known, t, `backup ${manifest.id}`) : t));
  const target = opts.targetDatabase;
  const state = await queryJson<{ exists: boolean; sessions: number; comment: string | null }>(
    c,
    maintenanceDatabase(c, target),
    `SELECT json_build_object('exists', EXISTS (SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(target)}),
       'sessions', (SELECT count(*) FROM pg_stat_activity WHERE datname = ${quoteLiteral(target)} AND pid <> pg_backend_pid()),
       'comment', (SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = ${quoteLiteral(target)}))`,
    ctx.signal,
  );
  const partial = state.comment?.startsWith(PARTIAL_MARK) ? state.comment : undefined;
  const backupDataOnly = logical.scope.kind === 'data-only' || logical.scope.only === 'data';
  if (opts.dataOnly || backupDataOnly) return planDataOnly(ctx, manifest, opts, entry, tables, state.exists);
  if (state.exists && !opts.clean) {
    throw new LifeboatError(
      'TARGET_EXISTS',
      partial ? `database ${target} on cluster ${ctx.cluster.name} is ${partial.slice('lifeboat: '.length)}` : `database ${target} already exists on cluster ${ctx.cluster.name}`,
      { hint: partial ? 'restore again with `clean` to replace it, or drop it' : 'add `clean` to replace it (a safety backup is taken first), or choose another `toDatabase`' },
    );
  }
  const actions: RestoreAction[] = [];
  if (opts.withGlobals) actions.push(globalsAction(manifest, ctx.cluster.name));
  if (state.exists) {
    if (state.sessions > 0) actions.push({ kind: 'terminate-connections', description: `terminate ${plural(state.sessions, 'session')} connected to ${target}` });
    actions.push({ kind: 'drop-database', description: `drop database ${target}` });
  }
  actions.push({
    kind: 'create-database',
    description: state.exists ? `create database ${target} again, with its owner, encoding, locale, tablespace, grants, settings and comment` : `create database ${target}`,
  });
  const schemas = [...new Set([...opts.schemas, ...tables.map((t) => t.slice(0, t.indexOf('.')))])].filter((s) => s !== 'public');
  if ((tables.length || opts.schemas.length) && schemas.length) {
    actions.push({ kind: 'create-schema', description: `create ${noun(schemas.length, 'schema')} ${schemas.join(', ')}` });
  }
  const what = tables.length ? `${noun(tables.length, 'table')} ${tables.join(', ')}` : opts.schemas.length ? `${noun(opts.schemas.length, 'schema')} ${opts.schemas.join(', ')}` : `all of ${entry.name}`;
  const skipped = [opts.noOwner ? 'owners' : '', opts.noPrivileges ? 'grants' : ''].filter(Boolean);
  if (skipped.length && logical.format === 'plain') {
    throw new LifeboatError('UNSUPPORTED', '`noOwner` and `noPrivileges` need a custom or directory-format backup (a plain dump is SQL that sets owners and grants itself)');
  }
  actions.push({
    kind: 'restore',
    description: `restore ${what} from backup ${manifest.id} (${logical.format} format${skipped.length ? `; without ${skipped.join(' and ')}: objects belong to the restoring role` : ''})`,
  });
  actions.push({ kind: 'compare', description: 'compare row counts with the manifest' });
  const warnings: string[] = [];
  if (partial) warnings.push(`database ${target} is ${partial.slice('lifeboat: '.length)}: it is replaced`);
  if (tables.length) warnings.push('`tables` restores the table and its data only (like pg_restore -t): indexes, constraints and triggers on it are not restored');
  if (logical.scope.kind === 'schema-only') warnings.push('this backup holds no data (schema-only)');
  return {
    backupId: manifest.id,
    targetDatabase: target,
    sourceDatabase: entry.name,
    targetExists: state.exists,
    connectedSessions: state.sessions,
    clean: opts.clean,
    tables,
    schemas: opts.schemas,
    ...(opts.withGlobals ? { withGlobals: true } : {}),
    ...(opts.noOwner ? { noOwner: true } : {}),
    ...(opts.noPrivileges ? { noPrivileges: true } : {}),
    actions,
    warnings,
  };
}

/**
 * A data-only restore: rows into the existing tables of an existing database
 * (`pg_restore --data-only [-t ...]`), appended to what is there or, with
 * --clean, replacing it (the tables are emptied first). The plan names every
 * table whose rows change and how.
 */
async function planDataOnly(ctx: Ctx, manifest: Manifest, opts: RestoreOptions, entry: ReturnType<typeof databaseEntry>, tables: string[], exists: boolean): Promise<RestorePlan> {
  const c = ctx.cluster.config;
  const logical = manifest.logical!;
  const target = opts.targetDatabase;
  if (logical.scope.kind === 'schema-only' || logical.scope.only === 'schema') throw new LifeboatError('USAGE', `backup ${manifest.id} holds no data (schema only): nothing for a data-only restore`);
  if (logical.format === 'plain') throw new LifeboatError('UNSUPPORTED', 'a data-only restore needs a custom or directory-format backup');
  if (!exists) {
    throw new LifeboatError('USAGE', `a data-only restore loads rows into existing tables, and database ${target} does not exist on cluster ${ctx.cluster.name}`, {
      hint: 'restore the whole backup into a new database first, or create the tables',
    });
  }
  const inBackup = Object.keys(entry.rowCounts);
  const chosen = tables.length ? tables : opts.schemas.length ? inBackup.filter((k) => opts.schemas.includes(k.slice(0, k.indexOf('.')))) : inBackup;
  if (chosen.length === 0) throw new LifeboatError('USAGE', `backup ${manifest.id} has no table data to restore${opts.schemas.length ? ` in ${noun(opts.schemas.length, 'schema')} ${opts.schemas.join(', ')}` : ''}`);
  const present = new Set((await listTables(c, target, {}, ctx.signal)).map((t) => `${t.schema}.${t.name}`));
  const missing = chosen.filter((t) => !present.has(t));
  if (missing.length) {
    throw new LifeboatError('USAGE', `${noun(missing.length, 'table')} ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} ${missing.length === 1 ? 'does' : 'do'} not exist in ${target}: a data-only restore loads rows into existing tables`, {
      hint: 'create them first, or restore the whole backup into a new database',
    });
  }
  const rows = chosen.reduce((n, t) => n + (entry.rowCounts[t] ?? 0), 0);
  const list = chosen.length > 6 ? `${chosen.slice(0, 6).join(', ')} and ${chosen.length - 6} more` : chosen.join(', ');
  const actions: RestoreAction[] = [];
  if (opts.withGlobals) actions.push(globalsAction(manifest, ctx.cluster.name));
  if (opts.clean) actions.push({ kind: 'truncate', description: `empty ${noun(chosen.length, 'table')} ${list} in ${target}: ${chosen.length === 1 ? 'its' : 'their'} rows are replaced` });
  actions.push({
    kind: 'restore',
    description: `${opts.clean ? 'load' : 'append'} ${plural(rows, 'row')} of ${plural(chosen.length, 'table')} from backup ${manifest.id} into ${target} (data only${opts.clean ? '' : '; existing rows are kept, a duplicate key fails the restore'})`,
  });
  actions.push({ kind: 'compare', description: opts.clean ? 'compare row counts with the manifest' : 'compare the rows added with the manifest' });
  const warnings = ['a data-only restore fires the tables\' triggers and checks their constraints row by row; load referenced tables first (or restore them together)'];
  return {
    backupId: manifest.id,
    targetDatabase: target,
    sourceDatabase: entry.name,
    targetExists: true,
    connectedSessions: 0,
    clean: opts.clean,
    tables: chosen,
    schemas: opts.schemas,
    dataOnly: true,
    ...(opts.withGlobals ? { withGlobals: true } : {}),
    ...(opts.noOwner ? { noOwner: true } : {}),
    ...(opts.noPrivileges ? { noPrivileges: true } : {}),
    actions,
    warnings,
  };
}

/** A failed load: its own code when it says more (damaged backup, cancelled), else RESTORE_FAILED; what is left and what to do. */
function loadFailed(err: unknown, what: string, hint: string): LifeboatError {
  const e = err instanceof LifeboatError ? err : new LifeboatError('RESTORE_FAILED', String(err));
  return new LifeboatError(e.code === 'VERIFY_FAILED' || e.code === 'CANCELLED' ? e.code : 'RESTORE_FAILED', `${what} failed: ${e.message}`, { hint, cause: e });
}

async function applyDataOnly(ctx: Ctx, backup: BackupReader, plan: RestorePlan): Promise<RestoreResult> {
  const c = ctx.cluster.config;
  const entry = databaseEntry(backup, plan.sourceDatabase);
  const refs: TableRef[] = plan.tables.map((t) => ({ schema: t.slice(0, t.indexOf('.')), name: t.slice(t.indexOf('.') + 1) }));
  const before = plan.clean ? {} : await countRows(c, plan.targetDatabase, refs, ctx.signal);
  if (plan.clean) {
    ctx.log('info', `emptying ${plural(refs.length, 'table')} in ${plan.targetDatabase}`);
    await runSql(c, plan.targetDatabase, `TRUNCATE ONLY ${refs.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`).join(', ')}`, ctx.signal);
  }
  ctx.log('info', `loading the rows of ${plural(refs.length, 'table')} into ${plan.targetDatabase}`);
  // one pg_restore for the whole set when it is every table of the backup, else one per table
  const all = plan.tables.length === Object.keys(entry.rowCounts).length;
  try {
    await loadInto(ctx, backup, entry, plan.targetDatabase, { ...(all ? {} : { tables: refs }), dataOnly: true });
  } catch (err) {
    throw loadFailed(err, `data-only restore into ${plan.targetDatabase}`, plan.clean ? 'the tables may be partly loaded: run it again (it empties them first), or go back with the safety backup' : 'rows loaded before the error stay: go back with the safety backup, or fix the cause and restore with `clean`');
  }
  const after = await countRows(c, plan.targetDatabase, refs, ctx.signal);
  const added = Object.fromEntries(plan.tables.map((t) => [t, (after[t] ?? 0) - (before[t] ?? 0)]));
  const expected = Object.fromEntries(plan.tables.map((t) => [t, entry.rowCounts[t] ?? 0]));
  const cmp = compareCounts(plan.clean ? 'row counts' : 'rows added', expected, added);
  return { checks: [{ name: cmp.name, ok: cmp.ok, ...(cmp.detail ? { detail: cmp.detail } : {}) }], compared: cmp.compared, mismatches: cmp.mismatches };
}

/** Carry out a plan. The host has verified checksums and taken any safety backup. */
export async function applyRestore(ctx: Ctx, backup: BackupReader, plan: RestorePlan): Promise<RestoreResult> {
  const roles = plan.withGlobals ? await loadGlobals(ctx, backup) : undefined;
  const res = plan.dataOnly ? await applyDataOnly(ctx, backup, plan) : await applyWhole(ctx, backup, plan);
  return roles ? { ...res, checks: [roles, ...res.checks] } : res;
}

async function applyWhole(ctx: Ctx, backup: BackupReader, plan: RestorePlan): Promise<RestoreResult> {
  const c = ctx.cluster.config;
  const admin = maintenanceDatabase(c, plan.targetDatabase);
  const target = quoteIdent(plan.targetDatabase);
  const entry = databaseEntry(backup, plan.sourceDatabase);
  // the database being replaced keeps its owner, encoding, locale, tablespace, grants, settings and comment
  const props = plan.actions.some((a) => a.kind === 'drop-database') ? await readDatabaseProps(c, admin, plan.targetDatabase, ctx.signal).catch(() => undefined) : undefined;
  if (props?.comment?.startsWith(PARTIAL_MARK)) props.comment = null; // a partial restore's mark is not a property to keep
  for (const a of plan.actions) {
    if (a.kind === 'terminate-connections') {
      await runSql(c, admin, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ${quoteLiteral(plan.targetDatabase)} AND pid <> pg_backend_pid()`, ctx.signal);
    } else if (a.kind === 'drop-database') {
      ctx.log('info', `dropping database ${plan.targetDatabase}`);
      await runSql(c, admin, `DROP DATABASE IF EXISTS ${target} WITH (FORCE)`, ctx.signal);
    } else if (a.kind === 'create-database') {
      if (props) await createDatabaseLike(ctx, admin, plan.targetDatabase, props);
      else await runSql(c, admin, `CREATE DATABASE ${target} TEMPLATE template0`, ctx.signal);
      // marked until the restore has finished and its row counts match: a killed or failed
      // restore leaves a database that says what it is (the next restore and lifeboat check say so)
      const mark = `${PARTIAL_MARK} of backup ${plan.backupId}, started ${new Date().toISOString()}; it never finished: do not use it`;
      await runSql(c, admin, `COMMENT ON DATABASE ${target} IS ${quoteLiteral(mark)}`, ctx.signal);
    }
  }
  const tables: TableRef[] = plan.tables.map((t) => ({ schema: t.slice(0, t.indexOf('.')), name: t.slice(t.indexOf('.') + 1) }));
  ctx.log('info', `restoring into ${plan.targetDatabase}`);
  try {
    await loadInto(ctx, backup, entry, plan.targetDatabase, { tables, schemas: plan.schemas, ...(plan.noOwner ? { noOwner: true } : {}), ...(plan.noPrivileges ? { noPrivileges: true } : {}) });
  } catch (err) {
    throw loadFailed(err, `restore into ${plan.targetDatabase}`, `database ${plan.targetDatabase} is incomplete; fix the cause and restore again with \`clean\``);
  }
  // compare what was restored with the manifest
  let expected = entry.rowCounts;
  if (tables.length) expected = Object.fromEntries(Object.entries(expected).filter(([k]) => plan.tables.includes(k)));
  else if (plan.schemas.length) expected = Object.fromEntries(Object.entries(expected).filter(([k]) => plan.schemas.includes(k.slice(0, k.indexOf('.')))));
  const restored = await listTables(c, plan.targetDatabase, {}, ctx.signal);
  const actual = await countRows(c, plan.targetDatabase, restored, ctx.signal);
  const cmp = compareCounts('row counts', expected, actual);
  const checks = [{ name: cmp.name, ok: cmp.ok, ...(cmp.detail ? { detail: cmp.detail } : {}) }];
  if (tables.length) {
    const extra = Object.keys(actual).filter((k) => !plan.tables.includes(k));
    checks.push({ name: 'only the selected tables', ok: extra.length === 0, detail: extra.length ? `also present: ${extra.join(', ')}` : plural(plan.tables.length, 'table') });
  }
  const created = plan.actions.some((a) => a.kind === 'create-database');
  if (created && checks.every((x) => x.ok)) await runSql(c, admin, `COMMENT ON DATABASE ${target} IS ${props?.comment ? quoteLiteral(props.comment) : 'NULL'}`, ctx.signal);
  else if (created) {
    const mark = `${PARTIAL_MARK} of backup ${plan.backupId}, finished ${new Date().toISOString()} but it does not match the backup's row counts: do not use it`;
    await runSql(c, admin, `COMMENT ON DATABASE ${target} IS ${quoteLiteral(mark)}`, ctx.signal);
  }
  return { checks, compared: cmp.compared, mismatches: cmp.mismatches };
}

function globalsAction(manifest: Manifest, cluster: string): RestoreAction {
  if (!manifest.logical?.globals) {
    throw new LifeboatError('USAGE', `backup ${manifest.id} carries no roles (globals.sql): it was taken before backups carried them, or its role could not run pg_dumpall --globals-only`, {
      hint: 'create the roles on the target by hand (pg_dumpall --globals-only on the source), or restore with `noOwner`',
    });
  }
  return { kind: 'load-globals', description: `create the roles and tablespaces of the backup's globals.sql that cluster ${cluster} lacks (existing ones are left as they are)` };
}

/** Role and tablespace statements of pg_dumpall --globals-only output, by the name they are about. */
const ROLE_LINE = /^(?:CREATE|ALTER|COMMENT ON) ROLE ("(?:[^"]|"")+"|[^\s;]+)/;
const TABLESPACE_LINE = /^CREATE TABLESPACE ("(?:[^"]|"")+"|[^\s;]+)/;
const unquote = (name: string) => (name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name);

/**
 * Load the backup's globals into the target, leaving what exists as it is:
 * statements about a role or tablespace the target already has are dropped
 * (an ALTER ROLE would change its password or attributes). The rest runs with
 * errors reported, not fatal (a tablespace whose directory is missing there).
 */
async function loadGlobals(ctx: Ctx, backup: BackupReader): Promise<{ name: string; ok: boolean; detail: string }> {
  const c = ctx.cluster.config;
  const admin = defaultDatabase(c);
  const text = await readAll(await backup.open(backup.manifest.logical!.globals!), 64 * 1024 * 1024);
  const have = await queryJson<{ roles: string[]; spaces: string[] }>(
    c,
    admin,
    "SELECT json_build_object('roles', (SELECT json_agg(rolname) FROM pg_roles), 'spaces', (SELECT json_agg(spcname) FROM pg_tablespace))",
    ctx.signal,
  );
  const roles = new Set(have.roles);
  const spaces = new Set(have.spaces);
  const created: string[] = [];
  const kept = new Set<string>();
  const lines = text.split('\n').filter((line) => {
    const r = ROLE_LINE.exec(line);
    if (r) {
      const name = unquote(r[1]!);
      if (roles.has(name)) return kept.add(name), false;
      if (line.startsWith('CREATE ROLE')) created.push(name);
      return true;
    }
    const t = TABLESPACE_LINE.exec(line);
    if (t && spaces.has(unquote(t[1]!))) return false;
    return true;
  });
  // errors do not stop psql here (each statement stands alone); they are read from its stderr
  const child = spawnTool('psql', ['-X', '-q', '-w', '-v', 'ON_ERROR_STOP=0', ...connArgs(c), '-d', admin, '-f', '-'], { ...toolOpts(c, ctx.signal), stdin: 'pipe', stdout: 'ignore' });
  child.stdin!.end(lines.join('\n'));
  let stderr: string;
  try {
    stderr = String((await child).stderr ?? '');
  } catch (err) {
    throw toolError('psql', err, toolOpts(c, ctx.signal));
  }
  const errors = stderr.split('\n').filter((l) => /ERROR:/.test(l));
  for (const e of errors) ctx.log('warn', `globals: ${e.trim()}`);
  const detail = `${created.length ? `created ${created.join(', ')}` : 'no role created'}${kept.size ? `; left as they are: ${[...kept].join(', ')}` : ''}${errors.length ? `; ${errors.length} statement(s) failed: ${errors[0]!.trim()}` : ''}`;
  ctx.log('info', `roles: ${detail}`);
  return { name: 'roles and tablespaces', ok: errors.length === 0, detail };
}

async function readAll(s: NodeJS.ReadableStream, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    n += (c as Buffer).length;
    if (n > max) throw new LifeboatError('MANIFEST_INVALID', `globals.sql is larger than ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The start of the comment a database carries while a restore into it has not finished. */
export const PARTIAL_MARK = 'lifeboat: incomplete restore';

/** Databases marked as incomplete restores, with their mark (for lifeboat check). */
export async function incompleteRestores(c: PostgresConfig, db: string, signal?: AbortSignal): Promise<{ datname: string; comment: string }[]> {
  return queryJson<{ datname: string; comment: string }[]>(
    c,
    db,
    `SELECT coalesce(json_agg(json_build_object('datname', datname, 'comment', d) ORDER BY datname), '[]')
       FROM (SELECT datname, shobj_description(oid, 'pg_database') AS d FROM pg_database) x
      WHERE d LIKE ${quoteLiteral(PARTIAL_MARK + '%')}`,
    signal,
  );
}
