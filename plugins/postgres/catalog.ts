import { LifeboatError, type ServerInfo } from 'lifeboat/plugin';
import { defaultDatabase, type PostgresConfig } from './config.js';
import { queryJson, runSql } from './psql.js';
import { parseQualifiedName, quoteIdent, quoteLiteral, tableKey } from './sql.js';

export interface TableRef {
  schema: string;
  name: string;
}

const USER_TABLES = `
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND c.relpersistence <> 't'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname !~ '^pg_(toast|temp_)'
    AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`;

/** Describe the server behind a cluster config. */
export async function probe(c: PostgresConfig, signal?: AbortSignal): Promise<ServerInfo> {
  const database = defaultDatabase(c);
  // one round trip: the system identifier needs superuser or pg_monitor, so ask only when allowed
  const info = await queryJson<{ version: string; num: number; dbs: string[]; sysid: string | null }>(
    c,
    database,
    `SELECT json_build_object('version', current_setting('server_version'),
       'num', current_setting('server_version_num')::int,
       'dbs', (SELECT json_agg(datname ORDER BY datname) FROM pg_database WHERE datallowconn AND NOT datistemplate),
       'sysid', CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
                     THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END)`,
    signal,
  );
  return {
    version: info.version.split(' ')[0]!,
    versionNum: info.num,
    systemIdentifier: info.sysid ?? 'unknown',
    databases: info.dbs ?? [],
    database,
  };
}

/** SQL listing user tables (optionally limited) as a JSON array of [schema, name, bytes]. */
export function tablesSql(filter: { schemas?: string[]; tables?: TableRef[] } = {}): string {
  let where = '';
  if (filter.schemas?.length) where += ` AND n.nspname IN (${filter.schemas.map(quoteLiteral).join(', ')})`;
  if (filter.tables?.length) {
    where += ` AND (${filter.tables.map((t) => `(n.nspname = ${quoteLiteral(t.schema)} AND c.relname = ${quoteLiteral(t.name)})`).join(' OR ')})`;
  }
  // [schema, name, size, readable by the connecting role]
  return `SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname, pg_catalog.pg_table_size(c.oid), pg_catalog.has_table_privilege(c.oid, 'SELECT')) ORDER BY n.nspname, c.relname), '[]') ${USER_TABLES}${where}`;
}

/** SQL counting rows of the given tables, as one JSON object `{"schema.table": n}`. */
export function countSql(tables: TableRef[]): string {
  if (tables.length === 0) return `SELECT '{}'::json`;
  const parts = tables.map(
    (t) => `SELECT ${quoteLiteral(tableKey(t.schema, t.name))} AS k, count(*) AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`,
  );
  return `SELECT json_object_agg(k, n) FROM (${parts.join('\nUNION ALL\n')}) s`;
}

export async function listTables(c: PostgresConfig, db: string, filter: { schemas?: string[]; tables?: TableRef[] } = {}, signal?: AbortSignal): Promise<TableRef[]> {
  const rows = await queryJson<[string, string][]>(c, db, tablesSql(filter), signal);
  return rows.map(([schema, name]) => ({ schema, name }));
}

export async function countRows(c: PostgresConfig, db: string, tables: TableRef[], signal?: AbortSignal): Promise<Record<string, number>> {
  return (await queryJson<Record<string, number>>(c, db, countSql(tables), signal)) ?? {};
}

export async function countLargeObjects(c: PostgresConfig, db: string, signal?: AbortSignal): Promise<number> {
  return Number(await runSql(c, db, 'SELECT count(*) FROM pg_catalog.pg_largeobject_metadata', signal));
}

/**
 * Resolve user table arguments to exact (schema, table) pairs in `db`. A bare name
 * is looked up in every schema and must be unambiguous.
 */
export async function resolveTables(c: PostgresConfig, db: string, args: string[], signal?: AbortSignal): Promise<TableRef[]> {
  if (args.length === 0) return [];
  const all = await listTables(c, db, {}, signal);
  return args.map((arg) => matchTable(all.map((t) => tableKey(t.schema, t.name)), arg, db)).map((k) => {
    const t = all.find((x) => tableKey(x.schema, x.name) === k)!;
    return t;
  });
}

/** Match a user's table argument against known `schema.table` keys (exact, then case-folded). */
export function matchTable(keys: string[], arg: string, where: string): string {
  const { schema, name } = parseQualifiedName(arg);
  const candidates = (fold: boolean) =>
    keys.filter((k) => {
      const dot = k.indexOf('.');
      const [s, n] = [k.slice(0, dot), k.slice(dot + 1)];
      const eq = (a: string, b: string) => (fold ? a.toLowerCase() === b.toLowerCase() : a === b);
      return eq(n, name) && (schema === undefined || eq(s, schema));
    });
  let found = candidates(false);
  if (found.length === 0) found = candidates(true);
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new LifeboatError('USAGE', `table ${arg} not found in ${where}`, {
      hint: 'name it as schema.table; quote mixed-case names: "My Schema"."My Table"',
    });
  }
  throw new LifeboatError('USAGE', `table ${arg} is ambiguous in ${where}: ${found.join(', ')}`, { hint: 'name it as schema.table' });
}
