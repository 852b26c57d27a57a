import {
  LifeboatError,
  type BackupReader,
  type Manifest,
  type RestoreAction,
  type RestoreOptions,
  type RestorePlan,
  type RestoreResult,
  type StepContext,
} from 'lifeboat/plugin';
import { countRows, listTables, matchTable, type TableRef } from './catalog.js';
import { maintenanceDatabase, type PostgresConfig } from './config.js';
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
  if (state.exists && !opts.clean) {
    throw new LifeboatError(
      'TARGET_EXISTS',
      partial ? `database ${target} on cluster ${ctx.cluster.name} is ${partial.slice('lifeboat: '.length)}` : `database ${target} already exists on cluster ${ctx.cluster.name}`,
      { hint: partial ? 'restore again with --clean to replace it, or drop it' : 'add --clean to replace it (a safety backup is taken first), or choose another --to-database' },
    );
  }
  const actions: RestoreAction[] = [];
  if (state.exists) {
    if (state.sessions > 0) actions.push({ kind: 'terminate-connections', description: `terminate ${state.sessions} session(s) connected to ${target}` });
    actions.push({ kind: 'drop-database', description: `drop database ${target}` });
  }
  actions.push({
    kind: 'create-database',
    description: state.exists ? `create database ${target} again, with its owner, encoding, locale, tablespace, grants, settings and comment` : `create database ${target}`,
  });
  const schemas = [...new Set([...opts.schemas, ...tables.map((t) => t.slice(0, t.indexOf('.')))])].filter((s) => s !== 'public');
  if ((tables.length || opts.schemas.length) && schemas.length) {
    actions.push({ kind: 'create-schema', description: `create schema(s) ${schemas.join(', ')}` });
  }
  const what = tables.length ? `table(s) ${tables.join(', ')}` : opts.schemas.length ? `schema(s) ${opts.schemas.join(', ')}` : `all of ${entry.name}`;
  const skipped = [opts.noOwner ? 'owners' : '', opts.noPrivileges ? 'grants' : ''].filter(Boolean);
  if (skipped.length && logical.format === 'plain') {
    throw new LifeboatError('UNSUPPORTED', '--no-owner and --no-privileges need a custom or directory-format backup (a plain dump is SQL that sets owners and grants itself)');
  }
  actions.push({
    kind: 'restore',
    description: `restore ${what} from backup ${manifest.id} (${logical.format} format${skipped.length ? `; without ${skipped.join(' and ')}: objects belong to the restoring role` : ''})`,
  });
  actions.push({ kind: 'compare', description: 'compare row counts with the manifest' });
  const warnings: string[] = [];
  if (partial) warnings.push(`database ${target} is ${partial.slice('lifeboat: '.length)}: it is replaced`);
  if (tables.length) warnings.push('--table restores the table and its data only (like pg_restore -t): indexes, constraints and triggers on it are not restored');
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
    ...(opts.noOwner ? { noOwner: true } : {}),
    ...(opts.noPrivileges ? { noPrivileges: true } : {}),
    actions,
    warnings,
  };
}

/** Carry out a plan. The host has verified checksums and taken any safety backup. */
export async function applyRestore(ctx: Ctx, backup: BackupReader, plan: RestorePlan): Promise<RestoreResult> {
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
    const e = err instanceof LifeboatError ? err : new LifeboatError('RESTORE_FAILED', String(err));
    throw new LifeboatError(e.code === 'VERIFY_FAILED' || e.code === 'CANCELLED' ? e.code : 'RESTORE_FAILED', `restore into ${plan.targetDatabase} failed: ${e.message}`, {
      hint: `database ${plan.targetDatabase} is incomplete; fix the cause and restore again with --clean`,
      cause: e,
    });
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
    checks.push({ name: 'only the selected tables', ok: extra.length === 0, detail: extra.length ? `also present: ${extra.join(', ')}` : `${plan.tables.length} table(s)` });
  }
  const created = plan.actions.some((a) => a.kind === 'create-database');
  if (created && checks.every((x) => x.ok)) await runSql(c, admin, `COMMENT ON DATABASE ${target} IS ${props?.comment ? quoteLiteral(props.comment) : 'NULL'}`, ctx.signal);
  else if (created) {
    const mark = `${PARTIAL_MARK} of backup ${plan.backupId}, finished ${new Date().toISOString()} but it does not match the backup's row counts: do not use it`;
    await runSql(c, admin, `COMMENT ON DATABASE ${target} IS ${quoteLiteral(mark)}`, ctx.signal);
  }
  return { checks, compared: cmp.compared, mismatches: cmp.mismatches };
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
