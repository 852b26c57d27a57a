/**
 * Throwaway PostgreSQL clusters for integration tests.
 *
 * Each {@link startCluster} call runs `initdb` into a fresh temporary
 * directory (`$TMPDIR/lifeboat-pg-XXXXXX`), starts a postmaster on a free TCP
 * port of 127.0.0.1 (trust auth, fsync off) and returns a {@link PgCluster}
 * handle. Tests call {@link PgCluster.stop} in `afterAll`; as a last resort
 * every cluster still running is stopped synchronously when the process exits
 * or receives SIGINT/SIGTERM, and clusters left behind by processes that died
 * hard (SIGKILL) are swept on the next {@link startCluster} call.
 *
 * The server refuses to run as root, so when the tests run as root the server
 * tools (`initdb`, `pg_ctl`) run as the `postgres` OS user via `runuser` and
 * the temp dir is owned by that user. Client tools (psql, pgbench, pg_dump)
 * run as the current user over TCP.
 *
 * Binaries: `LIFEBOAT_PG_BINDIR` if set, else the newest
 * `/usr/lib/postgresql/<version>/bin` holding `initdb`, else `initdb` on PATH.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { pidAlive } from '../../src/core/proc.js';

/** Options for {@link startCluster}. */
export interface StartClusterOptions {
  /** Label used in error messages (default `"pg"`). */
  name?: string;
  /**
   * Load {@link loadSampleData} into a database named {@link SAMPLE_DB}
   * (created for it). Implied when `pgbenchScale` is given.
   */
  sampleData?: boolean;
  /** pgbench scale for the sample data (default 1, i.e. 100 000 accounts). */
  pgbenchScale?: number;
  /**
   * Extra server settings written to postgresql.conf, e.g.
   * `{ wal_level: 'replica', archive_mode: 'on' }`. Values are written as
   * quoted strings, which PostgreSQL accepts for every setting type.
   */
  settings?: Record<string, string>;
}

/** A running throwaway cluster. Create with {@link startCluster}. */
export interface PgCluster {
  /** Label given to {@link startCluster}. */
  readonly name: string;
  /** Always `'127.0.0.1'`. */
  readonly host: string;
  /** TCP port the server listens on. */
  readonly port: number;
  /** Superuser role name: `'postgres'`. */
  readonly user: string;
  /** Temporary root directory (holds data dir, socket and server log). */
  readonly dir: string;
  /** The cluster's data directory (`<dir>/data`). */
  readonly dataDir: string;
  /** Directory holding the Unix socket. */
  readonly socketDir: string;
  /** Server log file written by pg_ctl. */
  readonly logFile: string;
  /** Directory of the PostgreSQL binaries used (initdb, pg_ctl, ...). */
  readonly binDir: string;
  /** OS user owning the data dir and running the server. */
  readonly osUser: string;
  /** Database holding the sample data when `sampleData` was requested. */
  readonly sampleDb: string | undefined;
  /** PGHOST/PGPORT/PGUSER for child processes (merge into their env). */
  readonly env: Readonly<Record<string, string>>;
  /** libpq connection URI for `db` (default `postgres`). */
  url(db?: string): string;
  /**
   * Runs SQL (fed on stdin) with `psql -X -A -t -q -v ON_ERROR_STOP=1`.
   * @returns stdout, trimmed.
   * @throws Error carrying psql's stderr when psql fails.
   */
  psql(sql: string, db?: string): Promise<string>;
  /** `CREATE DATABASE` with the name quoted as an identifier. */
  createDatabase(name: string, opts?: { template?: string }): Promise<void>;
  /** Stops the server (pg_ctl stop, default mode `fast`) but keeps the data dir. */
  stopServer(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** (Re)starts the server on the same port with the same data dir. */
  startServer(): Promise<void>;
  /** Stops the server (`-m immediate`) and deletes {@link dir}. Idempotent. */
  stop(): Promise<void>;
}

/** Database name used for sample data by `startCluster({ sampleData: true })`. */
export const SAMPLE_DB = 'sample';

const HOST = '127.0.0.1';
const SUPERUSER = 'postgres';
const TMP_PREFIX = 'lifeboat-pg-';
const OWNER_FILE = 'owner.json';
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

// ---------------------------------------------------------------------------
// small helpers

/** Quotes a SQL identifier (like `quote_ident`, but always quotes). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a SQL string literal (standard_conforming_strings = on). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function formatCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function tail(text: string, lines = 30): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

let cachedBinDir: string | undefined;

/** Locates the PostgreSQL server binaries (see module docs). */
export function findBinDir(): string {
  if (cachedBinDir) return cachedBinDir;
  const fromEnv = process.env.LIFEBOAT_PG_BINDIR;
  if (fromEnv) {
    if (!existsSync(path.join(fromEnv, 'initdb'))) {
      throw new Error(`LIFEBOAT_PG_BINDIR=${fromEnv} has no initdb`);
    }
    return (cachedBinDir = fromEnv);
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    if (versions[0]) return (cachedBinDir = path.join(root, versions[0], 'bin'));
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'initdb'))) return (cachedBinDir = dir);
  }
  throw new Error(
    'PostgreSQL server binaries not found (no initdb in /usr/lib/postgresql/*/bin or PATH); ' +
      'run `bash scripts/setup.sh --test` or set LIFEBOAT_PG_BINDIR',
  );
}

/** A client tool from binDir when present there, else from PATH. */
function clientTool(binDir: string, tool: string): string {
  const p = path.join(binDir, tool);
  return existsSync(p) ? p : tool;
}

/** Command + args to run a server tool as the cluster's OS user. */
function asOwner(cmd: string, args: string[]): [string, string[]] {
  return IS_ROOT ? ['runuser', ['-u', SUPERUSER, '--', cmd, ...args]] : [cmd, args];
}

async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string; what?: string } = {},
): Promise<string> {
  const res = await execa(cmd, args, {
    cwd: opts.cwd,
    env: opts.env,
    input: opts.input ?? '',
    reject: false,
    stripFinalNewline: false,
  });
  if (res.exitCode !== 0 || res.failed) {
    const why = res.exitCode !== undefined ? `exit code ${res.exitCode}` : (res.signal ?? res.shortMessage);
    const out = [res.stderr, res.stdout].filter((s) => typeof s === 'string' && s.trim()).join('\n');
    throw new Error(`${opts.what ?? formatCommand(cmd, args)} failed (${why})${out ? `:\n${tail(out)}` : ''}`);
  }
  return res.stdout;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

let ownerIds: { uid: number; gid: number } | undefined;
function postgresIds(): { uid: number; gid: number } {
  if (ownerIds) return ownerIds;
  const id = (flag: string): number => {
    const r = spawnSync('id', [flag, SUPERUSER], { encoding: 'utf8' });
    const n = Number.parseInt(r.stdout, 10);
    if (r.status !== 0 || !Number.isFinite(n)) {
      throw new Error(
        `running as root but the "${SUPERUSER}" OS user does not exist (${r.stderr.trim()}); ` +
          'run `bash scripts/setup.sh --test`',
      );
    }
    return n;
  };
  return (ownerIds = { uid: id('-u'), gid: id('-g') });
}

// ---------------------------------------------------------------------------
// registry & last-resort cleanup

interface Registered {
  dir: string;
  dataDir: string;
  binDir: string;
}
const registry = new Map<string, Registered>();
let handlersInstalled = false;

/** Synchronous best-effort teardown: pg_ctl stop -m immediate, then rm -rf. */
function destroySync(c: Registered): void {
  try {
    if (existsSync(path.join(c.dataDir, 'postmaster.pid'))) {
      const [cmd, args] = asOwner(path.join(c.binDir, 'pg_ctl'), ['-D', c.dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop']);
      spawnSync(cmd, args, { stdio: 'ignore', cwd: os.tmpdir(), timeout: 30_000 });
    }
  } catch {
    // best effort
  }
  try {
    rmSync(c.dir, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

function cleanupAllSync(): void {
  for (const c of registry.values()) destroySync(c);
  registry.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      cleanupAllSync();
      process.removeListener(sig, onSignal);
      // Adding a listener disabled the default "die on signal"; restore it
      // unless someone else (e.g. the test runner) handles the signal.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

let swept = false;
/**
 * Removes clusters left in the temp dir by test processes that no longer
 * exist (killed with SIGKILL, so no exit handler ran).
 */
function sweepStaleClusters(): void {
  if (swept) return;
  swept = true;
  const tmp = os.tmpdir();
  let entries: string[];
  try {
    entries = readdirSync(tmp).filter((e) => e.startsWith(TMP_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(tmp, entry);
    try {
      const owner = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8')) as { pid?: number; binDir?: string };
      if (typeof owner.pid !== 'number' || pidAlive(owner.pid)) continue;
      destroySync({ dir, dataDir: path.join(dir, 'data'), binDir: owner.binDir ?? findBinDir() });
    } catch {
      // No/unreadable owner file: being created right now, or not ours.
      // Remove only if clearly abandoned (older than an hour).
      try {
        if (Date.now() - statSync(dir).mtimeMs > 3_600_000) rmSync(dir, { recursive: true, force: true });
      } catch {
        // ignore
      }
    }
  }
}

// ---------------------------------------------------------------------------
// startCluster

/**
 * Creates, starts and returns a throwaway cluster (see module docs).
 * Call {@link PgCluster.stop} when done (e.g. in `afterAll`).
 *
 * @example
 * ```ts
 * let pg: PgCluster;
 * beforeAll(async () => { pg = await startCluster({ sampleData: true }); }, 120_000);
 * afterAll(() => pg?.stop());
 * ```
 */
export async function startCluster(opts: StartClusterOptions = {}): Promise<PgCluster> {
  const name = opts.name ?? 'pg';
  const binDir = findBinDir();
  sweepStaleClusters();
  installExitHandlers();

  const dir = await mkdtemp(path.join(os.tmpdir(), TMP_PREFIX));
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const reg: Registered = { dir, dataDir, binDir };
  registry.set(dir, reg);
  await writeFile(path.join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid, binDir, name }) + '\n');

  const osUser = IS_ROOT ? SUPERUSER : os.userInfo().username;
  const pgCtl = path.join(binDir, 'pg_ctl');
  let port = 0;
  let stopped = false;
  let stopping: Promise<void> | undefined;

  const clientEnv = (): Record<string, string> => ({ PGHOST: HOST, PGPORT: String(port), PGUSER: SUPERUSER });

  const serverTool = (cmd: string, args: string[], what: string): Promise<string> => {
    const [c, a] = asOwner(cmd, args);
    // cwd = our dir: the postgres user may not be able to enter the caller's cwd.
    return run(c, a, { cwd: dir, what: `${name}: ${what}` });
  };

  const readLog = async (): Promise<string> => {
    try {
      return tail(await readFile(logFile, 'utf8'), 40);
    } catch {
      return '(no server log)';
    }
  };

  try {
    if (IS_ROOT) {
      const { uid, gid } = postgresIds();
      await chown(dir, uid, gid);
    }
    await serverTool(
      path.join(binDir, 'initdb'),
      ['-D', dataDir, '-U', SUPERUSER, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C', '--no-instructions'],
      'initdb',
    );
  } catch (err) {
    registry.delete(dir);
    destroySync(reg);
    throw err;
  }

  const confPath = path.join(dataDir, 'postgresql.conf');
  const baseConf = await readFile(confPath, 'utf8');
  const settings: Record<string, string> = {
    listen_addresses: HOST,
    unix_socket_directories: dir,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    ...opts.settings,
  };

  const writeConf = async (): Promise<void> => {
    const lines = Object.entries({ ...settings, port: String(port) }).map(([k, v]) => {
      if (!/^[A-Za-z_][\w.]*$/.test(k)) throw new Error(`invalid setting name ${JSON.stringify(k)}`);
      return `${k} = ${quoteLiteral(v)}`;
    });
    // writeFile keeps the existing owner/mode of postgresql.conf.
    await writeFile(confPath, `${baseConf}\n# --- lifeboat test harness ---\n${lines.join('\n')}\n`);
  };

  const startServer = async (): Promise<void> => {
    if (stopped) throw new Error(`${name}: cluster was destroyed`);
    await serverTool(pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], 'pg_ctl start').catch(
      async (err: Error) => {
        throw new Error(`${err.message}\n--- server log (${logFile}) ---\n${await readLog()}`);
      },
    );
    await waitReady();
  };

  const psqlBin = clientTool(binDir, 'psql');
  const psql = async (sql: string, db = 'postgres'): Promise<string> => {
    const out = await run(psqlBin, ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db], {
      env: clientEnv(),
      input: sql,
      what: `${name}: psql on database ${JSON.stringify(db)} (port ${port})`,
    });
    return out.trim();
  };

  // pg_ctl -w already waits for "ready" in postmaster.pid; confirm with a query.
  const waitReady = async (): Promise<void> => {
    const deadline = Date.now() + 30_000;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      try {
        await psql('SELECT 1');
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          throw new Error(`${(err as Error).message}\n--- server log ---\n${await readLog()}`);
        }
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };

  // Start, retrying with a new port if another process grabbed ours.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    await writeConf();
    try {
      await startServer();
      break;
    } catch (err) {
      const log = await readLog();
      if (attempt < 4 && /could not (bind|create listen)|Address already in use/i.test(log)) continue;
      registry.delete(dir);
      destroySync(reg);
      throw err;
    }
  }

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      try {
        if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
          await serverTool(pgCtl, ['-D', dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop'], 'pg_ctl stop').catch(
            () => undefined,
          );
        }
      } finally {
        registry.delete(dir);
        await rm(dir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };

  const wantSample = opts.sampleData === true || opts.pgbenchScale !== undefined;
  const env = Object.freeze(clientEnv());
  const cluster: PgCluster = {
    name,
    host: HOST,
    port,
    user: SUPERUSER,
    dir,
    dataDir,
    socketDir: dir,
    logFile,
    binDir,
    osUser,
    sampleDb: wantSample ? SAMPLE_DB : undefined,
    env,
    url: (db = 'postgres') => `postgresql://${SUPERUSER}@${HOST}:${port}/${encodeURIComponent(db)}`,
    psql,
    createDatabase: async (db, o) => {
      await psql(`CREATE DATABASE ${quoteIdent(db)}${o?.template ? ` TEMPLATE ${quoteIdent(o.template)}` : ''}`);
    },
    stopServer: async (mode = 'fast') => {
      await serverTool(pgCtl, ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'], 'pg_ctl stop');
    },
    startServer,
    stop,
  };

  if (wantSample) {
    try {
      await cluster.createDatabase(SAMPLE_DB);
      await loadSampleData(cluster, SAMPLE_DB, { pgbenchScale: opts.pgbenchScale });
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return cluster;
}

// ---------------------------------------------------------------------------
// sample data

/** OIDs given to the sample large objects (fixed, so content is deterministic). */
export const SAMPLE_LARGE_OBJECT_OIDS = [424_201, 424_202, 424_203] as const;

/**
 * SQL for the awkward cases (everything but the pgbench tables). Deterministic:
 * pseudo-random bytes come from chained sha256, never random().
 */
const SAMPLE_SQL = String.raw`
BEGIN;

-- bytea incl. 0x00 and 0xff, every byte value, ~128 KiB incompressible, empty, NULL
CREATE TABLE public.binary_blobs (id int PRIMARY KEY, label text, data bytea);
INSERT INTO public.binary_blobs VALUES
  (1, 'zero and ff', '\x00ff00ff'::bytea),
  (2, 'all bytes', (SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 255) i)),
  (3, 'sha chain 128k', (SELECT string_agg(sha256(int4send(i)), ''::bytea ORDER BY i) FROM generate_series(1, 4096) i)),
  (4, 'empty', ''::bytea),
  (5, NULL, NULL);

-- jsonb
CREATE TABLE public.documents (id int PRIMARY KEY, doc jsonb NOT NULL, note text);
INSERT INTO public.documents
  SELECT i,
         jsonb_build_object('id', i, 'name', 'doc ' || i, 'tags', jsonb_build_array('a', 'b', i % 3),
                            'nested', jsonb_build_object('even', i % 2 = 0, 'nothing', NULL)),
         CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i END
  FROM generate_series(1, 200) i;
INSERT INTO public.documents VALUES
  (1000, '{"unicode": "h\u00e9llo \u2603 \ud83d\udc18", "newline": "a\nb", "quote": "\"", "empty": {}, "list": []}', E'json\twith\\escapes');

-- large objects: small with 0x00/0xff, ~1 MiB of sha256 chain, empty; and a table referencing them
SELECT lo_from_bytea(424201, '\x48656c6c6f00ff4c4f'::bytea);
SELECT lo_from_bytea(424202, (SELECT string_agg(sha256(int4send(i)), ''::bytea ORDER BY i) FROM generate_series(1, 32768) i));
SELECT lo_from_bytea(424203, ''::bytea);
CREATE TABLE public.attachments (id int PRIMARY KEY, filename text NOT NULL, content oid);
INSERT INTO public.attachments VALUES (1, 'hello.bin', 424201), (2, 'big.bin', 424202), (3, 'empty.bin', 424203);

-- empty table
CREATE TABLE public.empty_table (id int PRIMARY KEY, label text, created_at timestamptz);

-- mixed-case quoted schema, table and columns
CREATE SCHEMA "Mixed Schema";
CREATE TABLE "Mixed Schema"."Quoted Table" ("Id" int PRIMARY KEY, "Value Text" text, "t" int);
INSERT INTO "Mixed Schema"."Quoted Table" VALUES
  (1, 'one', 10), (2, 'two "double" and ''single'' quotes', 20), (3, NULL, NULL);

-- partitioned table, rows in every partition
CREATE TABLE public.measurements (
  id bigint NOT NULL, recorded_on date NOT NULL, value numeric(10, 2), note text
) PARTITION BY RANGE (recorded_on);
CREATE TABLE public.measurements_2023 PARTITION OF public.measurements FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE public.measurements_2024 PARTITION OF public.measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.measurements_default PARTITION OF public.measurements DEFAULT;
INSERT INTO public.measurements
  SELECT i, date '2023-01-01' + i, (i * 1.25) % 1000, CASE WHEN i % 7 = 0 THEN NULL ELSE 'm' || i END
  FROM generate_series(0, 799) i;

-- serial (owned sequence) advanced past the rows, identity column, standalone sequence
CREATE TABLE public.events (id serial PRIMARY KEY, kind text NOT NULL, payload text);
INSERT INTO public.events (kind, payload) SELECT 'kind' || (i % 4), 'payload ' || i FROM generate_series(1, 50) i;
SELECT setval('public.events_id_seq', 1000);
CREATE TABLE public.people (
  id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name text NOT NULL, bio text, born date
);
INSERT INTO public.people (name, bio, born) VALUES
  ('Ada', E'first line\nsecond line', '1815-12-10'),
  ('Zoë Ñúñez', E'tab\there, CRLF\r\nend', NULL),
  ('日本語の名前', 'emoji 🐘🚀 and combining é', '2000-02-29'),
  ('Back\slash', E'quote '' and backslash \\ and "double"', NULL),
  ('Empty bio', '', NULL),
  ('Null bio', NULL, NULL);
SELECT nextval('public.people_id_seq') FROM generate_series(1, 3);
CREATE SEQUENCE public.standalone_seq START 42 INCREMENT 7;
SELECT nextval('public.standalone_seq') FROM generate_series(1, 3);

-- views
CREATE VIEW public.branch_balances AS
  SELECT bid, count(*) AS accounts, sum(abalance) AS balance FROM public.pgbench_accounts GROUP BY bid;
CREATE VIEW "Mixed Schema"."Quoted View" AS SELECT "Id", upper("Value Text") AS "Upper" FROM "Mixed Schema"."Quoted Table";

COMMIT;
ANALYZE;
`;

/**
 * Loads deterministic sample data into existing database `db`:
 * pgbench tables (`pgbench -i -s N -q`, default scale 1) plus awkward cases:
 * `public.binary_blobs` (bytea with 0x00/0xff), `public.documents` (jsonb),
 * three large objects with fixed OIDs {@link SAMPLE_LARGE_OBJECT_OIDS}
 * (one ~1 MiB) referenced by `public.attachments`, `public.empty_table`,
 * `"Mixed Schema"."Quoted Table"`, partitioned `public.measurements`
 * (partitions `_2023`, `_2024`, `_default`), `public.events` (serial, advanced
 * to 1000), `public.people` (identity; unicode, newlines, NULLs),
 * `public.standalone_seq`, and views.
 */
export async function loadSampleData(cluster: PgCluster, db: string, opts: { pgbenchScale?: number } = {}): Promise<void> {
  const scale = opts.pgbenchScale ?? 1;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`invalid pgbench scale ${scale}`);
  await run(clientTool(cluster.binDir, 'pgbench'), ['-i', '-s', String(scale), '-q', db], {
    env: { ...cluster.env },
    what: `${cluster.name}: pgbench -i -s ${scale} on ${JSON.stringify(db)}`,
  });
  await cluster.psql(SAMPLE_SQL, db);
}

// ---------------------------------------------------------------------------
// fingerprints

/** Row count and md5 of one table's rows. */
export interface TableFingerprint {
  rows: number;
  md5: string;
}

// Lists user tables and emits one fingerprint query per table; psql's \gexec
// runs each and prints one JSON line per table. The alias is unusual and we
// use "alias.*" so a column named like the alias can't shadow the row.
const FINGERPRINT_SQL = String.raw`
SELECT format(
  $q$SELECT json_build_object('key', %L, 'rows', count(*), 'md5', md5(coalesce(string_agg(lb_row_.*::text, E'\n' ORDER BY lb_row_.*::text COLLATE "C"), '')))::text FROM %I.%I lb_row_$q$,
  n.nspname || '.' || c.relname, n.nspname, c.relname)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
\gexec
`;

/**
 * Fingerprints every ordinary table (relkind `r`, so partitions but not their
 * parents) outside `pg_*` schemas and `information_schema`, skipping tables
 * that belong to an extension. Keyed `schema.table` (unquoted, joined by a
 * dot). `md5` is over the rows' text forms sorted bytewise, joined by `\n`.
 */
export async function tableFingerprints(cluster: PgCluster, db: string): Promise<Record<string, TableFingerprint>> {
  const out = await cluster.psql(FINGERPRINT_SQL, db);
  const result: Record<string, TableFingerprint> = {};
  for (const line of out.split('\n')) {
    if (!line.trim()) continue;
    const { key, rows, md5 } = JSON.parse(line) as { key: string; rows: number; md5: string };
    result[key] = { rows, md5 };
  }
  return result;
}

/**
 * Fingerprints the large objects of `db`: their count and an md5 over the
 * per-object md5s in OID order (content only; OIDs themselves are not hashed).
 */
export async function largeObjectFingerprint(cluster: PgCluster, db: string): Promise<{ count: number; md5: string }> {
  const out = await cluster.psql(
    `SELECT count(*) || ' ' || md5(coalesce(string_agg(md5(lo_get(oid)), ',' ORDER BY oid), ''))
       FROM pg_largeobject_metadata`,
    db,
  );
  const [count, md5] = out.split(' ');
  return { count: Number(count), md5: md5 ?? '' };
}

/**
 * `last_value` of every sequence in `db` outside system schemas, keyed
 * `schema.sequence`, as text (null when nextval was never called).
 * Handy for checking that restores carry sequence positions.
 */
export async function sequenceValues(cluster: PgCluster, db: string): Promise<Record<string, string | null>> {
  const out = await cluster.psql(
    `SELECT coalesce(json_object_agg(schemaname || '.' || sequencename, last_value::text), '{}')
       FROM pg_sequences WHERE schemaname <> 'information_schema' AND schemaname NOT LIKE 'pg\\_%'`,
    db,
  );
  return JSON.parse(out) as Record<string, string | null>;
}
