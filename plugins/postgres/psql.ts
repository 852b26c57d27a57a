import { LifeboatError, runTool, spawnTool, toolError } from 'lifeboat/plugin';
import { connArgs, describeTarget, toolOpts, type PostgresConfig } from './config.js';

const PSQL_FLAGS = ['-X', '-q', '-A', '-t', '-w', '-v', 'ON_ERROR_STOP=1'];

/** Run SQL (given on stdin, never argv) and return psql's unaligned, tuples-only output. */
export async function runSql(c: PostgresConfig, database: string, sql: string, signal?: AbortSignal): Promise<string> {
  try {
    return await runTool('psql', [...PSQL_FLAGS, ...connArgs(c), '-d', database], { ...toolOpts(c, signal), input: sql });
  } catch (err) {
    throw classify(c, err);
  }
}

/** Run SQL that returns one JSON value (one line) and parse it. */
export async function queryJson<T>(c: PostgresConfig, database: string, sql: string, signal?: AbortSignal): Promise<T> {
  const out = await runSql(c, database, sql, signal);
  return JSON.parse(out || 'null') as T;
}

/** Is the connecting role a superuser? (It decides what a dump of roles and a scratch restore may do.) */
export async function isSuperuser(c: PostgresConfig, database: string, signal?: AbortSignal): Promise<boolean> {
  return (await runSql(c, database, 'SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user', signal)) === 't';
}

/** Turn connection failures into CONNECTION_FAILED with a hint. */
export function classify(c: PostgresConfig, err: unknown): LifeboatError {
  const e = err instanceof LifeboatError ? err : toolError('psql', err);
  if (e.code !== 'COMMAND_FAILED') return e;
  const stderr = String(e.details?.stderr ?? e.message);
  if (/connection to server|could not connect|Connection refused|no pg_hba.conf entry|password authentication failed|does not exist\s*$|timeout expired|could not translate host name/m.test(stderr) &&
      /FATAL|connection|could not/.test(stderr)) {
    const firstLine = stderr.split('\n').find((l) => l.trim()) ?? e.message;
    return new LifeboatError('CONNECTION_FAILED', `cannot connect to PostgreSQL at ${describeTarget(c)}: ${firstLine.replace(/^psql: (error: )?/, '').trim()}`, {
      hint: 'check that the server runs and the connection settings (host, port, user, .pgpass) in the cluster config; test with: lifeboat config check',
      cause: e,
    });
  }
  return e;
}

/**
 * A long-lived psql session, for work that must share one transaction (an
 * exported snapshot that pg_dump uses while we count rows in it).
 */
export class PsqlSession {
  private buf = '';
  private waiters: Array<() => void> = [];
  private seq = 0;
  private exited = false;
  private readonly child;

  constructor(private readonly c: PostgresConfig, database: string, signal?: AbortSignal) {
    this.child = spawnTool('psql', [...PSQL_FLAGS, ...connArgs(c), '-d', database], { ...toolOpts(c, signal), stdin: 'pipe' });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    this.child.stdin!.on('error', () => undefined);
    this.child.then(
      () => this.onExit(),
      () => this.onExit(),
    );
  }

  private onExit(): void {
    this.exited = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Run statements; resolves with their output (trimmed). */
  async query(sql: string): Promise<string> {
    const marker = `__lifeboat_${process.pid}_${++this.seq}__`;
    this.child.stdin!.write(`${sql.trim().replace(/;?$/, ';')}\n\\echo ${marker}\n`);
    for (;;) {
      const idx = this.buf.indexOf(marker + '\n');
      if (idx >= 0) {
        const out = this.buf.slice(0, idx);
        this.buf = this.buf.slice(idx + marker.length + 1);
        return out.trim();
      }
      if (this.exited) {
        try {
          await this.child;
        } catch (err) {
          throw classify(this.c, err);
        }
        throw new LifeboatError('COMMAND_FAILED', 'psql session ended unexpectedly');
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** End the session (commits nothing: the transaction is read-only). */
  async close(): Promise<void> {
    if (!this.exited) {
      this.child.stdin!.end('\\q\n');
    }
    await this.child.catch(() => undefined);
  }
}
