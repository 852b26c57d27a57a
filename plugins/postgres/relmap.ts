import type { PhysicalDetails, RelationMap, StepContext } from 'lifeboat/plugin';
import type { PostgresConfig } from './config.js';
import { queryJson } from './psql.js';

type Ctx = StepContext<PostgresConfig>;

/** A backup records at most this many relations (a few MB of manifest); more are left out, saying so. */
export const MAX_RECORDED_RELATIONS = 50_000;

/**
 * What each database holds, by storage id. `backup` scope: user tables,
 * partitioned tables, materialized views and their TOAST tables (small enough
 * for a manifest). `live` scope: every relation, catalogs and indexes too
 * (used to tell system relations from user ones while reading WAL).
 */
export async function captureRelations(c: PostgresConfig, scope: 'backup' | 'live', signal?: AbortSignal, onSkip?: (db: string, why: string) => void): Promise<RelationMap> {
  const dbs = await queryJson<{ oid: string; name: string; tablespace: string }[] | null>(
    c,
    c.database ?? 'postgres',
    `SELECT json_agg(json_build_object('oid', oid::text, 'name', datname, 'tablespace', dattablespace::text) ORDER BY oid) FROM pg_database WHERE datallowconn`,
    signal,
  );
  const userOnly = scope === 'backup';
  // [oid, relfilenode, tablespace ('' = database default), relkind, schema, name]; TOAST and
  // indexes carry the name of the table they belong to, so a candidate names the table.
  const sql = `
    WITH rel AS (
      SELECT c.oid, c.relkind, c.reltablespace,
             coalesce(owner.nspname, n.nspname) AS nsp, coalesce(owner.relname, c.relname) AS name
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN LATERAL (
          SELECT tn.nspname, t.relname FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace
           WHERE (c.relkind = 't' AND t.reltoastrelid = c.oid)
              OR (c.relkind = 'i' AND t.oid = (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid))
           LIMIT 1) owner ON true
       WHERE c.relkind IN (${userOnly ? `'r','p','m','t'` : `'r','p','m','t','i','S'`})
    )
    SELECT coalesce(json_agg(json_build_array(oid::text, coalesce(pg_relation_filenode(oid)::text, ''),
             CASE WHEN reltablespace = 0 THEN '' ELSE reltablespace::text END, relkind::text, nsp::text, name::text)), '[]')
      FROM rel
     ${userOnly ? `WHERE nsp NOT IN ('pg_catalog', 'information_schema') AND nsp NOT LIKE 'pg\\_temp\\_%' AND nsp NOT LIKE 'pg\\_toast\\_temp\\_%'` : ''}`;
  const map: RelationMap = { takenAt: new Date().toISOString(), databases: [] };
  let total = 0;
  for (const db of dbs ?? []) {
    let relations: RelationMap['databases'][number]['relations'];
    try {
      relations = await queryJson(c, db.name, sql, signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      onSkip?.(db.name, (err as Error).message);
      continue;
    }
    if (userOnly && total + relations.length > MAX_RECORDED_RELATIONS) {
      relations = relations.slice(0, Math.max(0, MAX_RECORDED_RELATIONS - total));
      map.truncated = true;
    }
    total += relations.length;
    map.databases.push({ ...db, relations });
  }
  return map;
}

/**
 * Called by the physical backup: record relation names for the target finder.
 * Never fails the backup: a problem is a warning and the map is left out.
 */
export async function relationMap(ctx: Ctx): Promise<PhysicalDetails['relationMap']> {
  try {
    const map = await captureRelations(ctx.cluster.config, 'backup', ctx.signal, (db, why) => ctx.log('warn', `relation names of database ${db} not recorded: ${why}`));
    if (map.truncated) ctx.log('warn', `more than ${MAX_RECORDED_RELATIONS} relations: only the first ones were recorded for pitr targets`);
    return map;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    ctx.log('warn', `relation names not recorded (pitr targets will show storage ids for tables dropped later): ${(err as Error).message}`);
    return undefined;
  }
}
