import path from 'node:path';
import { LifeboatError, runTool, type StepContext } from 'lifeboat/plugin';
import { serverBinDir } from './bindir.js';
import type { PostgresConfig } from './config.js';

// How lifeboat stops, starts and checks the cluster's own server (in-place recovery), as
// `serverControl` in the connection config says (its schema, ServerControlSchema, is in config.ts).

type Ctx = StepContext<PostgresConfig>;

/** One line for plans: how the server of `dataDir` is controlled. */
export function describeControl(c: PostgresConfig, dataDir: string): string {
  const sc = c.serverControl;
  const pre = sc?.prefix?.length ? `${sc.prefix.join(' ')} ` : '';
  if (!sc || sc.method === 'pg_ctl') return `${pre}pg_ctl -D ${dataDir}`;
  if (sc.method === 'pg_ctlcluster') return `${pre}pg_ctlcluster ${sc.version} ${sc.cluster}`;
  if (sc.method === 'systemd') return `${pre}systemctl, unit ${sc.unit}`;
  return `${pre}${sc.stop.join(' ')} / ${sc.start.join(' ')}`;
}

export interface Controller {
  /** One line for plans: how the server is controlled. */
  readonly describe: string;
  running(): Promise<boolean>;
  stop(): Promise<void>;
  /** Start; `logFile` is where pg_ctl writes the server log (other methods use their own). */
  start(logFile: string): Promise<void>;
  /** Where the server log is, for error messages. */
  readonly logHint: string;
}

const asRoot = () => process.getuid?.() === 0;

async function run(ctx: Ctx, argv: string[]): Promise<string> {
  return runTool(argv[0]!, argv.slice(1), ctx.signal ? { signal: ctx.signal } : {});
}

async function succeeds(ctx: Ctx, argv: string[]): Promise<boolean> {
  try {
    await run(ctx, argv);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'BINARY_MISSING') throw err;
    return false;
  }
}

/** pg_ctl for a data directory, run as the server's OS user when we are root. */
export function pgCtlController(ctx: Ctx, dataDir: string, prefix: string[] = []): Controller {
  const user = ctx.cluster.config.serverUser ?? 'postgres';
  const argv = async (args: string[]) => {
    const bindir = await serverBinDir(ctx);
    const exe = bindir ? path.join(bindir, 'pg_ctl') : 'pg_ctl';
    return [...prefix, ...(asRoot() && !prefix.length ? ['runuser', '-u', user, '--'] : []), exe, ...args];
  };
  return {
    describe: `pg_ctl -D ${dataDir}`,
    logHint: path.join(dataDir, 'lifeboat-recovery.log'),
    running: async () => succeeds(ctx, await argv(['status', '-D', dataDir])),
    stop: async () => void (await run(ctx, await argv(['stop', '-D', dataDir, '-m', 'fast', '-w']))),
    start: async (logFile) => void (await run(ctx, await argv(['start', '-D', dataDir, '-W', '-l', logFile]))),
  };
}

/** The controller of the cluster's own server (in-place recovery). */
export function serverController(ctx: Ctx, dataDir: string): Controller {
  const sc = ctx.cluster.config.serverControl ?? { method: 'pg_ctl' as const };
  const prefix = sc.prefix ?? [];
  switch (sc.method) {
    case 'pg_ctl':
      return pgCtlController(ctx, dataDir, prefix);
    case 'pg_ctlcluster': {
      const base = [...prefix, 'pg_ctlcluster', sc.version, sc.cluster];
      return {
        describe: `pg_ctlcluster ${sc.version} ${sc.cluster}`,
        logHint: `/var/log/postgresql/postgresql-${sc.version}-${sc.cluster}.log`,
        running: () => succeeds(ctx, [...base, 'status']),
        stop: async () => void (await run(ctx, [...base, 'stop', '-m', 'fast'])),
        start: async () => void (await run(ctx, [...base, 'start'])),
      };
    }
    case 'systemd':
      return {
        describe: `systemctl (unit ${sc.unit})`,
        logHint: `journalctl -u ${sc.unit}`,
        running: () => succeeds(ctx, [...prefix, 'systemctl', 'is-active', '--quiet', sc.unit]),
        stop: async () => void (await run(ctx, [...prefix, 'systemctl', 'stop', sc.unit])),
        start: async () => void (await run(ctx, [...prefix, 'systemctl', 'start', sc.unit])),
      };
    case 'commands':
      return {
        describe: `commands (${sc.start.join(' ')})`,
        logHint: 'the server log',
        running: () => succeeds(ctx, [...prefix, ...sc.status]),
        stop: async () => void (await run(ctx, [...prefix, ...sc.stop])),
        start: async () => void (await run(ctx, [...prefix, ...sc.start])),
      };
  }
  throw new LifeboatError('CONFIG_INVALID', 'unknown serverControl method');
}
