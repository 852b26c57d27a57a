import { randomBytes } from 'node:crypto';
import { LifeboatError, pipeToTool, runTool, type BackupReader, type Check, type StepContext } from 'lifeboat/plugin';
import { listTables, countRows, countLargeObjects } from './catalog.js';
import { connArgs, defaultDatabase, toolOpts, type PostgresConfig } from './config.js';
import { archiveToc, checkPlainDump, parseToc, stageDirectory, type DatabaseEntry } from './archive.js';
import { isSuperuser, runSql } from './psql.js';
import { verifyPhysicalRestore, verifyPhysicalStructure } from './physical-verify.js';
import { quoteIdent } from './sql.js';

type Ctx = StepContext<PostgresConfig>;

/** Structure level: the archive's TOC reads, and the whole archive decodes. */
export async function verifyStructure(ctx: Ctx, backup: BackupReader): Promise<Check[]> {
  if (backup.manifest.physical) return verifyPhysicalStructure(ctx, backup);
  const logical = backup.manifest.logical;
  if (!logical) throw new LifeboatError('UNSUPPORTED', `backup ${backup.manifest.id} is not a logical backup`);
  const to = toolOpts(ctx.cluster.config, ctx.signal);
  const checks: Check[] = [];
  if (logical.globals) checks.push({ ...(await checkPlainDump(await backup.open(logical.globals), 'cluster')), name: 'globals: header and trailer' });
  for (const db of logical.databases) {
    if (logical.format === 'plain') {
      const c = await checkPlainDump(await backup.open(db.objects[0]!), 'database');
      checks.push({ ...c, name: `${db.name}: ${c.name}` });
      continue;
    }
    const toc = parseToc(await archiveToc(ctx, backup, db));
    const wantData = logical.scope.kind !== 'schema-only';
    const dataOk = !wantData || toc.tableData >= db.tableCount;
    checks.push({
      name: `${db.name}: archive table of contents`,
      ok: toc.entries > 0 && dataOk,
      detail: `${toc.entries} entries, ${toc.tableData} table data of ${db.tableCount} tables${db.largeObjects ? `, large objects: ${toc.blobs ? 'present' : 'MISSING'}` : ''}`,
    });
    // decode every data block (catches truncation and damage inside the archive)
    if (logical.format === 'directory') {
      await runTool('pg_restore', ['-f', '/dev/null', await stageDirectory(ctx, backup, db)], to);
    } else {
      await pipeToTool('pg_restore', ['-f', '/dev/null'], await backup.open(db.objects[0]!), to);
    }
    checks.push({ name: `${db.name}: archive decodes completely`, ok: true });
  }
  return checks;
}

/** Restore level: load into a scratch database, compare with the manifest, always drop it. */
export async function verifyRestore(ctx: Ctx, backup: BackupReader): Promise<Check[]> {
  if (backup.manifest.physical) return verifyPhysicalRestore(ctx, backup);
  const logical = backup.manifest.logical;
  if (!logical) throw new LifeboatError('UNSUPPORTED', `backup ${backup.manifest.id} is not a logical backup`);
  const c = ctx.cluster.config;
  const admin = defaultDatabase(c);
  const checks: Check[] = [];
  // a scratch copy need not reproduce owners and grants; a role that is not a superuser
  // (one with pg_read_all_data, say) could not take them and the load would fail
  const superuser = await isSuperuser(c, admin, ctx.signal);
  const plainNeedsOwners = !superuser && logical.format === 'plain';
  if (!superuser) ctx.log('info', `restoring without owners and grants: ${c.user ?? 'the connecting role'} is not a superuser`);
  for (const db of logical.databases) {
    // Unique per run: two verifications of one backup at once must never share
    // (and drop) each other's scratch database. At most 48 of NAMEDATALEN's 63.
    const scratch = `lifeboat_verify_${backup.manifest.id.replace(/-/g, '_').toLowerCase()}_${logical.databases.indexOf(db)}_${randomBytes(4).toString('hex')}`;
    try {
      await runSql(c, admin, `CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0`, ctx.signal);
    } catch (err) {
      if (!/permission denied to create database/.test((err as Error).message)) throw err;
      const role = c.user ?? 'the connecting role';
      throw new LifeboatError('UNSUPPORTED', `${role} may not create databases, and a restore-level verification restores into a scratch database`, {
        hint: `ALTER ROLE ${role} CREATEDB (or verify with a role that may), or verify at --level structure`,
      });
    }
    ctx.log('info', `restoring ${db.name} into scratch database ${scratch}`);
    try {
      await loadInto(ctx, backup, db, scratch, superuser ? {} : { noOwner: true, noPrivileges: true }).catch((err: unknown) => {
        // a plain dump sets owners itself: for a role that cannot take them, that says nothing about the backup
        if (plainNeedsOwners && /must be (a )?member of role|permission denied/.test((err as Error).message)) {
          throw new LifeboatError('UNSUPPORTED', `a plain-format dump sets owners and grants, which ${c.user ?? 'the connecting role'} (not a superuser) cannot: ${(err as Error).message.split('\n').find((l) => /ERROR/.test(l)) ?? ''}`, {
            hint: 'verify with a superuser, or take custom-format backups',
          });
        }
        throw err;
      });
      const tables = await listTables(c, scratch, {}, ctx.signal);
      const counts = logical.scope.kind === 'schema-only' ? {} : await countRows(c, scratch, tables, ctx.signal);
      checks.push({
        name: `${db.name}: table count`,
        ok: tables.length === db.tableCount,
        detail: `${tables.length} restored, ${db.tableCount} in manifest`,
      });
      checks.push(compareCounts(`${db.name}: row counts`, db.rowCounts, counts));
      if (db.largeObjects !== undefined) {
        const lo = await countLargeObjects(c, scratch, ctx.signal);
        checks.push({ name: `${db.name}: large objects`, ok: lo === db.largeObjects, detail: `${lo} restored, ${db.largeObjects} in manifest` });
      }
    } finally {
      await runSql(c, admin, `DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch((err: unknown) =>
        ctx.log('error', `could not drop scratch database ${scratch}: ${(err as Error).message}; drop it by hand`),
      );
    }
  }
  return checks;
}

/** Compare expected row counts with actual ones; names the first mismatches. */
export function compareCounts(name: string, expected: Record<string, number>, actual: Record<string, number>): Check & { mismatches: number; compared: number } {
  const bad: string[] = [];
  for (const [t, n] of Object.entries(expected)) {
    if (actual[t] !== n) bad.push(`${t}: ${actual[t] ?? 'missing'} vs ${n}`);
  }
  const compared = Object.keys(expected).length;
  return {
    name,
    ok: bad.length === 0,
    detail: bad.length === 0 ? `${compared} tables match` : `${bad.length} of ${compared} differ: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? '; …' : ''}`,
    mismatches: bad.length,
    compared,
  };
}

/** Load one database entry of a backup into an existing database. */
export async function loadInto(
  ctx: Ctx,
  backup: BackupReader,
  db: DatabaseEntry,
  target: string,
  select: { tables?: { schema: string; name: string }[]; schemas?: string[]; noOwner?: boolean; noPrivileges?: boolean; dataOnly?: boolean },
): Promise<void> {
  const c = ctx.cluster.config;
  const to = toolOpts(c, ctx.signal);
  const logical = backup.manifest.logical!;
  const format = logical.format;
  // pg_dump -t and pg_restore -t/-n do not carry the schema itself: create it first
  const schemaOf = (k: string) => k.slice(0, k.indexOf('.'));
  const needed = new Set<string>([
    ...(select.schemas ?? []),
    ...(select.tables ?? []).map((t) => t.schema),
    ...(logical.scope.kind === 'tables' ? Object.keys(db.rowCounts).map(schemaOf) : []),
  ]);
  needed.delete('public');
  if (needed.size) {
    await runSql(c, target, [...needed].map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)};`).join('\n'), ctx.signal);
  }
  if (format === 'plain') {
    await pipeToTool('psql', ['-X', '-q', '-w', '-v', 'ON_ERROR_STOP=1', ...connArgs(c), '-d', target, '-f', '-'], await backup.open(db.objects[0]!), to);
    return;
  }
  const base = ['-w', ...connArgs(c), '-d', target, '--exit-on-error', ...(select.noOwner ? ['--no-owner'] : []), ...(select.noPrivileges ? ['--no-privileges'] : []), ...(select.dataOnly ? ['--data-only'] : [])];
  const runs: string[][] = [];
  if (select.tables?.length) for (const t of select.tables) runs.push([...base, '-n', t.schema, '-t', t.name]);
  else if (select.schemas?.length) runs.push([...base, ...select.schemas.flatMap((s) => ['-n', s])]);
  else runs.push(base);
  for (const args of runs) {
    if (format === 'directory') {
      await runTool('pg_restore', [...args, '-j', String(c.jobs ?? 2), await stageDirectory(ctx, backup, db)], to);
    } else {
      await pipeToTool('pg_restore', args, await backup.open(db.objects[0]!), to);
    }
  }
}
