import { readdir } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  LifeboatError,
  runTool,
  spawnTool,
  toolError,
  type BackupWriter,
  type LogicalBackupOptions,
  type LogicalDetails,
  type ServerInfo,
  type StepContext,
} from 'lifeboat/plugin';
import { probe, resolveTables, tablesSql, countSql, type TableRef } from './catalog.js';
import { connArgs, toolOpts, type PostgresConfig } from './config.js';
import { objectName } from './names.js';
import { PsqlSession, classify, isSuperuser } from './psql.js';
import { exactPattern, tableKey } from './sql.js';

type Ctx = StepContext<PostgresConfig>;
type DatabaseEntry = LogicalDetails['databases'][number];

/** The `logicalBackup` step: pg_dump, and pg_dumpall --globals-only for globals.sql (every scope). */
export async function logicalBackup(
  ctx: Ctx,
  out: BackupWriter,
  opts: LogicalBackupOptions,
): Promise<{ server: ServerInfo; logical: LogicalDetails }> {
  const c = ctx.cluster.config;
  const [server, tool] = await Promise.all([probe(c, ctx.signal), runTool('pg_dump', ['--version'], toolOpts(c, ctx.signal))]);
  const logical: LogicalDetails = { format: opts.format, scope: opts.scope, databases: [], tool: tool.trim() };

  if (opts.scope.kind === 'all') {
    ctx.log('info', 'dumping globals (roles, tablespaces) with pg_dumpall --globals-only');
    const child = spawnTool('pg_dumpall', ['-w', '--globals-only', ...connArgs(c), '-l', server.database], toolOpts(c, ctx.signal));
    await runWrite('pg_dumpall', child, () => out.write(objectName.globals, child.readable(), { compression: opts.compression }), ctx);
    logical.globals = objectName.globals;
    for (const db of server.databases) {
      logical.databases.push(await dumpDatabase(ctx, out, db, { ...opts, scope: { kind: 'database' } }));
    }
  } else {
    const db = opts.database ?? server.database;
    if (!server.databases.includes(db)) {
      throw new LifeboatError('USAGE', `database ${db} does not exist on cluster ${ctx.cluster.name}`, {
        hint: `databases there: ${server.databases.join(', ')}`,
      });
    }
    // the roles (and tablespaces) the database's objects belong to travel with it: a restore
    // onto another server can create them first (restore --with-globals). Taken while the
    // database is dumped, stored after it (as before: the object order is the same)
    const globals = takeGlobals(ctx, server.database);
    let entry: DatabaseEntry;
    try {
      entry = await dumpDatabase(ctx, out, db, opts);
    } catch (err) {
      await globals; // no pg_dumpall left running behind a failed backup
      throw err;
    }
    logical.databases.push(entry);
    if (await storeGlobals(ctx, out, await globals, opts)) logical.globals = objectName.globals;
  }
  return { server, logical };
}

/** What {@link takeGlobals} got: pg_dumpall's output, or why there is none. */
type Globals = { sql: Buffer[] } | { error: unknown };

/**
 * pg_dumpall --globals-only, as well as this role may: a superuser's includes
 * password hashes, another role's is taken with --no-role-passwords (pg_authid is
 * a superuser's). It runs beside pg_dump (in series it added ~0.1 s, a psql and a
 * pg_dumpall, to every backup); its output, a few statements per role, is held
 * until {@link storeGlobals}. Never rejects.
 */
async function takeGlobals(ctx: Ctx, db: string): Promise<Globals> {
  const c = ctx.cluster.config;
  try {
    const superuser = await isSuperuser(c, db, ctx.signal);
    const child = spawnTool('pg_dumpall', ['-w', '--globals-only', ...(superuser ? [] : ['--no-role-passwords']), ...connArgs(c), '-l', db], toolOpts(c, ctx.signal));
    const reading = child.stdout!.toArray() as Promise<Buffer[]>;
    reading.catch(() => undefined); // a failing pg_dumpall is reported by its exit, below
    try {
      await child;
    } catch (err) {
      throw toolError('pg_dumpall', err, toolOpts(c, ctx.signal));
    }
    return { sql: await reading };
  } catch (error) {
    return { error };
  }
}

/**
 * Store what {@link takeGlobals} got as `globals.sql`. Not having it is a warning:
 * the database itself is backed up.
 */
async function storeGlobals(ctx: Ctx, out: BackupWriter, globals: Globals, opts: LogicalBackupOptions): Promise<boolean> {
  try {
    if ('error' in globals) throw globals.error;
    await out.write(objectName.globals, Readable.from(globals.sql, { objectMode: false }), { compression: opts.compression });
    return true;
  } catch (err) {
    // the repository failing (a full disk) fails the backup; only pg_dumpall's own refusal is a warning
    if (ctx.signal.aborted || (err as { code?: string }).code === 'STORAGE_FAILED') throw err;
    ctx.log('warn', `roles not backed up with this database (pg_dumpall --globals-only: ${(err as Error).message.split('\n')[0]}); restore --with-globals will not be possible from this backup`);
    return false;
  }
}

async function dumpDatabase(ctx: Ctx, out: BackupWriter, db: string, opts: LogicalBackupOptions): Promise<DatabaseEntry> {
  const c = ctx.cluster.config;
  const scope = opts.scope;
  const filter: { schemas?: string[]; tables?: TableRef[] } = {};
  if (scope.kind === 'tables') filter.tables = await resolveTables(c, db, scope.tables ?? [], ctx.signal);
  if (scope.kind === 'schemas') filter.schemas = scope.schemas ?? [];
  if (scope.kind === 'tables' && filter.tables!.length === 0) throw new LifeboatError('USAGE', 'scope "tables" needs at least one --table');
  if (scope.kind === 'schemas' && filter.schemas!.length === 0) throw new LifeboatError('USAGE', 'scope "schemas" needs at least one --schema');

  // One read-only transaction exports the snapshot that pg_dump uses; row counts are
  // taken in the same snapshot, concurrently with the dump.
  const session = new PsqlSession(c, db, ctx.signal);
  try {
    let snapshot: string | undefined;
    try {
      snapshot = await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_catalog.pg_export_snapshot()');
    } catch (err) {
      ctx.log('warn', `cannot export a snapshot (${(err as Error).message}); row counts are taken outside the dump's snapshot`);
      await session.close();
    }
    const live = snapshot ? session : new PsqlSession(c, db, ctx.signal);
    try {
      const listed = JSON.parse(await live.query(tablesSql(filter))) as [string, string, number, boolean][];
      const tables = listed.map(([schema, name]) => ({ schema, name }));
      // pg_dump would fail on them anyway; said now, the cause is named (otherwise the count in the
      // exporting transaction fails first and pg_dump only says "invalid snapshot identifier")
      const unreadable = listed.filter((t) => t[3] === false).map(([schema, name]) => tableKey(schema, name));
      if (unreadable.length) {
        const role = c.user ?? process.env.PGUSER ?? 'the connecting role';
        throw new LifeboatError('COMMAND_FAILED', `permission denied for table ${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ` and ${unreadable.length - 5} more` : ''} in ${db}: ${role} may not read ${unreadable.length === 1 ? 'it' : 'them'}; nothing was backed up`, {
          hint: `GRANT SELECT ON ... TO ${role}, or GRANT pg_read_all_data TO ${role} (PostgreSQL 14+); or back up selected tables with --table`,
        });
      }
      if (scope.kind === 'schemas' && tables.length === 0) {
        throw new LifeboatError('USAGE', `no tables in schema(s) ${filter.schemas!.join(', ')} of ${db}`);
      }
      // heap size of the dumped tables: a rough size of the dump, for the ETA
      const expectedBytes = listed.reduce((n, t) => n + Number(t[2]), 0) || undefined;
      const schemaOnly = scope.kind === 'schema-only' || scope.only === 'schema';
      const dataOnly = scope.kind === 'data-only' || scope.only === 'data';
      const withRows = !schemaOnly;
      const withBlobs = scope.kind === 'database' || scope.kind === 'data-only';

      const args = ['-w', ...connArgs(c), '-d', db];
      if (snapshot) args.push(`--snapshot=${snapshot}`);
      if (schemaOnly) args.push('--schema-only');
      if (dataOnly) args.push('--data-only');
      for (const t of filter.tables ?? []) args.push('-t', `${exactPattern(t.schema)}.${exactPattern(t.name)}`);
      for (const s of filter.schemas ?? []) args.push('-n', exactPattern(s));

      ctx.log('info', `dumping database ${db} (${opts.format} format, ${tables.length} tables${snapshot ? `, snapshot ${snapshot}` : ''})`);
      const counting = (async () => {
        const rows = withRows ? ((JSON.parse((await live.query(countSql(tables))) || '{}') as Record<string, number> | null) ?? {}) : {};
        const blobs = withBlobs ? Number(await live.query('SELECT count(*) FROM pg_catalog.pg_largeobject_metadata')) : undefined;
        return { rows, blobs };
      })();
      counting.catch(() => undefined);

      let objects: string[];
      try {
        objects = await dumpObjects(ctx, out, db, opts, args, expectedBytes);
      } catch (err) {
        // a failed count aborts the exporting transaction and pg_dump then reports only
        // "invalid snapshot identifier": the count's own error is the cause
        const countErr = await Promise.race([counting.then(() => undefined, (e: unknown) => e), new Promise((r) => setTimeout(r, 5000, undefined))]);
        throw countErr ?? err;
      }
      const { rows, blobs } = await counting;
      const entry: DatabaseEntry = { name: db, objects, rowCounts: rows, tableCount: tables.length, countsInSnapshot: !!snapshot };
      if (blobs !== undefined) entry.largeObjects = blobs;
      return entry;
    } finally {
      if (!snapshot) await live.close();
    }
  } catch (err) {
    throw classify(c, err);
  } finally {
    await session.close();
  }
}

async function dumpObjects(ctx: Ctx, out: BackupWriter, db: string, opts: LogicalBackupOptions, args: string[], expectedBytes?: number): Promise<string[]> {
  const c = ctx.cluster.config;
  const to = toolOpts(c, ctx.signal);
  const sizeOpt = expectedBytes ? { expectedBytes } : {};
  if (opts.format === 'custom' || opts.format === 'plain') {
    const name = opts.format === 'custom' ? objectName.custom(db) : objectName.plain(db);
    // custom: no pg_dump compression (-Z0); our pipeline compresses with zstd -T0, far faster
    const child = spawnTool('pg_dump', [...args, opts.format === 'custom' ? '-Fc' : '-Fp', ...(opts.format === 'custom' ? ['-Z0'] : [])], to);
    // the raw pipe, so the writer can hand it straight to zstd (no copy through Node)
    await runWrite('pg_dump', child, () => out.write(name, child.stdout!, { compression: opts.compression, ...sizeOpt }), ctx);
    return [name];
  }
  // Directory format exists for parallel dumps (-j); pg_dump must write files, so it
  // is the one format staged in a private temp dir before streaming into the repository.
  if (c.commandPrefix?.length) {
    throw new LifeboatError('UNSUPPORTED', 'directory format cannot be used with a commandPrefix (pg_dump would write inside the container)', {
      hint: 'use --format custom',
    });
  }
  const dir = path.join(await ctx.tmpDir(), 'dump');
  await runTool('pg_dump', [...args, '-Fd', '-Z0', '-j', String(c.jobs ?? 2), '-f', dir], to);
  const names: string[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const name = objectName.directory(db, file);
    await out.write(name, createReadStream(path.join(dir, file)), { compression: opts.compression });
    names.push(name);
  }
  return names;
}

/** Run a tool whose stdout is being written; whichever fails first gives one clear error. */
async function runWrite(bin: string, child: PromiseLike<unknown> & { kill(): boolean }, write: () => Promise<unknown>, ctx: Ctx): Promise<void> {
  const exited = Promise.resolve(child).then(
    () => undefined,
    (err: unknown) => {
      throw toolError(bin, err, toolOpts(ctx.cluster.config, ctx.signal));
    },
  );
  exited.catch(() => undefined);
  try {
    await write();
  } catch (err) {
    child.kill();
    // The storage's own failure (a full disk, say) is the cause; otherwise prefer the
    // tool's message (e.g. "pg_dump: error: connection failed") over a broken pipe.
    const code = (err as { code?: string }).code;
    if (code === 'STORAGE_FAILED' || code === 'KEY_INVALID' || code === 'CANCELLED' || code === 'BINARY_MISSING') throw err;
    await exited;
    throw err;
  }
  await exited;
}
