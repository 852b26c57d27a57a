import { z, type ToolOptions } from 'lifeboat/plugin';

/**
 * How lifeboat stops, starts and checks the cluster's own server (in-place
 * recovery). A side-by-side recovery starts a new data directory, which no
 * service manager knows, so it always uses pg_ctl.
 *
 * - `pg_ctl` (default): `pg_ctl -D DATADIR`, as `serverUser` when lifeboat is root.
 * - `pg_ctlcluster`: Debian/Ubuntu clusters (`pg_ctlcluster 15 main stop`).
 * - `systemd`: a unit, e.g. `postgresql@15-main` or `postgresql-15`.
 * - `commands`: your own start/stop/status commands (status exits 0 when running).
 * `prefix` goes before every command, e.g. ["sudo", "-n"].
 */
export const ServerControlSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('pg_ctl'), prefix: z.array(z.string().min(1)).optional() }).strict(),
  z.object({ method: z.literal('pg_ctlcluster'), version: z.string().regex(/^[0-9.]+$/, 'a major version like 15'), cluster: z.string().min(1), prefix: z.array(z.string().min(1)).optional() }).strict(),
  z.object({ method: z.literal('systemd'), unit: z.string().min(1), prefix: z.array(z.string().min(1)).optional() }).strict(),
  z
    .object({
      method: z.literal('commands'),
      start: z.array(z.string().min(1)).min(1),
      stop: z.array(z.string().min(1)).min(1),
      status: z.array(z.string().min(1)).min(1),
      prefix: z.array(z.string().min(1)).optional(),
    })
    .strict(),
]);
export type ServerControl = z.infer<typeof ServerControlSchema>;

/** `clusters.<name>.connection` for source "postgres" (docs/configuration.md). */
export const PostgresConfigSchema = z
  .object({
    /** Host name, IP or socket directory; default: libpq's (PGHOST, then the local socket). */
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    /** Database used for connections and as the default dump target. */
    database: z.string().min(1).optional(),
    /** A libpq password file; passwords never go in this config. */
    passfile: z.string().min(1).optional(),
    /** Run PostgreSQL tools through this, e.g. ["docker","exec","-i","pg"] or ["sudo","-u","postgres"]. */
    commandPrefix: z.array(z.string().min(1)).optional(),
    /** Directory of pg_dump/pg_restore/psql when they are not on PATH. */
    bindir: z.string().min(1).optional(),
    /** The cluster's data directory (for in-place recovery); default: asked of the server. */
    dataDirectory: z.string().min(1).optional(),
    /** OS user that runs the server (pg_ctl runs as it when lifeboat runs as root); default postgres. */
    serverUser: z.string().min(1).optional(),
    /** How in-place recovery stops and starts the server: pg_ctl (default), pg_ctlcluster, systemd or your commands. */
    serverControl: ServerControlSchema.optional(),
    /** Parallel jobs for directory-format dumps and restores. */
    jobs: z.number().int().min(1).max(64).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    // libpq takes a whole connection string where a database (or host) name goes; one with a
    // password would reach the tools' argv (ps shows it), error messages and the job log
    for (const key of ['database', 'host', 'user'] as const) {
      const v = c[key];
      if (v !== undefined && carriesPassword(v)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'holds a password (a connection string with user:password@ or password=); passwords never go in the config: put it in a passfile (connection.passfile or ~/.pgpass) and remove it from here',
        });
      }
    }
  });

/**
 * Does a libpq connection string carry a password? URIs (`postgresql://u:pw@h/db`,
 * `?password=`) and key=value strings (`password=...`). The value is never echoed.
 */
export function carriesPassword(s: string): boolean {
  if (/^postgres(?:ql)?:\/\//i.test(s)) {
    const authority = s.replace(/^[a-z]+:\/\//i, '').split(/[/?#]/)[0] ?? '';
    const at = authority.lastIndexOf('@');
    if (at >= 0 && authority.slice(0, at).includes(':')) return true;
    const query = s.includes('?') ? s.slice(s.indexOf('?') + 1) : '';
    return query.split('&').some((kv) => /^password$/i.test(decodeURIComponentSafe(kv.split('=')[0] ?? '')));
  }
  return /(?:^|\s)password\s*=/i.test(s);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export type PostgresConfig = z.infer<typeof PostgresConfigSchema>;

/** libpq flags for a tool (`-h -p -U`), never a password. */
export function connArgs(c: PostgresConfig): string[] {
  const args: string[] = [];
  if (c.host) args.push('-h', c.host);
  if (c.port) args.push('-p', String(c.port));
  if (c.user) args.push('-U', c.user);
  return args;
}

/** Tool options: prefix, bindir, env (PGPASSFILE), cancellation. */
export function toolOpts(c: PostgresConfig, signal?: AbortSignal): ToolOptions {
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: process.env.PGCONNECT_TIMEOUT ?? '10' };
  if (c.passfile) env.PGPASSFILE = c.passfile;
  return {
    ...(c.commandPrefix ? { prefix: c.commandPrefix } : {}),
    ...(c.bindir ? { bindir: c.bindir } : {}),
    env,
    ...(signal ? { signal } : {}),
  };
}

/** The database to use when none is named: config, then PGDATABASE, then "postgres". */
export function defaultDatabase(c: PostgresConfig): string {
  return c.database ?? process.env.PGDATABASE ?? 'postgres';
}

/** A database to connect to while `avoid` is dropped and created (the configured one, else postgres, else template1). */
export function maintenanceDatabase(c: PostgresConfig, avoid: string): string {
  return [defaultDatabase(c), 'postgres', 'template1'].find((d) => d !== avoid)!;
}

export function describeTarget(c: PostgresConfig): string {
  const host = c.host ?? process.env.PGHOST ?? 'local socket';
  const port = c.port ?? process.env.PGPORT ?? '5432';
  return `${host}:${port}`;
}
