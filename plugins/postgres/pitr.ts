import { constants, existsSync } from 'node:fs';
import { access, appendFile, chmod, mkdir, readdir, readFile, readlink, realpath, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { LifeboatError, osUserName, parseHistory, pidAlive, plural, segmentNumber, toLifeboatError, parseLsn, runTool, segmentName, unsafeLocation, type PitrIo, type PitrPlan, type PitrStepState, type StepContext } from 'lifeboat/plugin';
import { connArgs, defaultDatabase, toolOpts, type PostgresConfig } from './config.js';
import { runSql } from './psql.js';
import { tablespaceObject, tablespaceOid } from './physical.js';
import { describeControl, pgCtlController, serverController, type Controller } from './control.js';
import { quoteLiteral } from './sql.js';

type Ctx = StepContext<PostgresConfig>;

const step = (name: string, description: string, precondition: string): PitrStepState => ({ name, description, precondition, status: 'pending' });

/** The steps of a recovery, in order. Each is idempotent and runnable alone. */
export function pitrSteps(plan: Pick<PitrPlan, 'mode' | 'dataDir' | 'port' | 'backupId' | 'action' | 'id' | 'verifyQuery'>, config: PostgresConfig = {}): PitrStepState[] {
  const steps: PitrStepState[] = [];
  const control = plan.mode === 'in-place' ? describeControl(config, plan.dataDir) : 'pg_ctl';
  if (plan.mode === 'in-place') {
    steps.push(step('stop-server', `make sure the server of ${plan.dataDir} is stopped (fast shutdown via ${control})`, 'consent: pitr apply --yes or the typed confirmation'));
    steps.push(step('move-aside', `move ${plan.dataDir} aside to ${plan.dataDir}.lifeboat-${plan.id} (never deleted)`, 'server stopped'));
  } else {
    steps.push(step('check-target', `check that ${plan.dataDir} is empty or absent and port ${plan.port} is free`, 'none'));
  }
  steps.push(step('restore-base', `restore base backup ${plan.backupId} (and its tablespaces) into ${plan.dataDir}`, `${plan.dataDir} absent or empty (or left by this plan)`));
  steps.push(step('write-recovery', 'write restore_command, the recovery target and recovery.signal', 'base backup restored'));
  steps.push(step('start', `start the server on port ${plan.port} (${control})`, 'recovery settings written'));
  steps.push(step('follow', `follow recovery until the target, then ${plan.action}`, 'server started'));
  steps.push(
    step(
      'verify',
      plan.action === 'shutdown' ? 'check the server shut down at the target' : `connect, count the rows of every table${plan.verifyQuery ? ' and run the verify query' : ''}`,
      'recovery finished',
    ),
  );
  return steps;
}

/** `pg_create_restore_point`: a name to recover to later (before a migration, say). */
export async function createRestorePoint(ctx: Ctx, name: string): Promise<{ lsn: string }> {
  if (name.length > 63) throw new LifeboatError('USAGE', 'a restore point name has at most 63 characters');
  const c = ctx.cluster.config;
  const lsn = await runSql(c, defaultDatabase(c), `SELECT pg_catalog.pg_create_restore_point(${quoteLiteral(name)})`, ctx.signal);
  return { lsn: lsn.trim() };
}

/** In place: the configured server control; side by side: pg_ctl on the new directory. */
function controllerFor(ctx: Ctx, plan: PitrPlan): Controller {
  return plan.mode === 'in-place' ? serverController(ctx, plan.dataDir) : pgCtlController(ctx, plan.dataDir);
}

function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/**
 * Where a side-by-side copy listens, and how the follow and verify steps reach
 * it. Its postgresql.conf (copied from the base backup, or absent where the
 * configuration lives outside the data directory, as on Debian) cannot be
 * trusted to say, so the plan sets it: a connection through a socket directory
 * (or libpq's default) gets a socket in a directory of the copy's own (its data
 * directory when the socket path fits); a TCP host gets that host plus localhost.
 * In place, the server's own settings stand and the config's connection is used.
 */
export function copyEndpoint(plan: Pick<PitrPlan, 'mode' | 'dataDir' | 'port'>, c: PostgresConfig): { host: string | undefined; settings: Record<string, string> } {
  if (plan.mode === 'in-place') return { host: c.host, settings: {} };
  // a Unix socket path has at most 107 bytes
  const own = `${plan.dataDir}/.s.PGSQL.${plan.port}`.length <= 100 ? plan.dataDir : undefined;
  if (!c.host || c.host.startsWith('/')) {
    const dir = own ?? c.host ?? '/tmp';
    return { host: dir, settings: { unix_socket_directories: dir, listen_addresses: 'localhost' } };
  }
  const local = ['localhost', '127.0.0.1', '::1'].includes(c.host);
  return { host: c.host, settings: { unix_socket_directories: own ?? '', listen_addresses: local ? 'localhost' : `localhost, ${c.host}` } };
}

/** SQL against the recovered server (the plan's port, where {@link copyEndpoint} says it listens). */
async function sqlOnPort(ctx: Ctx, plan: PitrPlan, sql: string, db = 'postgres'): Promise<string> {
  const host = copyEndpoint(plan, ctx.cluster.config).host;
  const c: PostgresConfig = { ...ctx.cluster.config, port: plan.port, ...(host ? { host } : {}) };
  return runTool('psql', ['-X', '-A', '-t', '-q', '-w', ...connArgs(c), '-d', db, '-c', sql], toolOpts(c, ctx.signal));
}

/**
 * The server answering on the plan's port must be the one started on the plan's
 * data directory, not whatever else listens there: with a stale data directory
 * in the config, the restored server cannot take the port and the live one
 * answers instead (it is not in recovery, so it would look promoted, and its
 * rows would be counted). Its postmaster.pid must name a live postmaster on
 * the plan's port, and, where the role may read it, data_directory must match.
 */
async function checkOwnServer(ctx: Ctx, plan: PitrPlan): Promise<void> {
  const lines = (await readFile(path.join(plan.dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  const alive = pidAlive(pid);
  let answering = '';
  try {
    answering = (await sqlOnPort(ctx, plan, 'SHOW data_directory')).trim();
  } catch {
    // a role that may not read data_directory: postmaster.pid alone decides
  }
  const real = (p: string) => realpath(p).catch(() => path.resolve(p));
  const same = !answering || (await real(answering)) === (await real(plan.dataDir));
  if (same && alive && port === plan.port) return;
  const why = !alive ? `no postmaster runs for ${plan.dataDir}` : port !== plan.port ? `its postmaster.pid says port ${lines[3] ?? '?'}` : `the server answering runs on ${answering}`;
  throw new LifeboatError(
    'RESTORE_FAILED',
    `port ${plan.port} is answered by ${answering && !same ? `the server of ${answering}` : 'another server'}, not by the one started on ${plan.dataDir} (${why}); nothing it says counts for this recovery`,
    {
      hint:
        plan.mode === 'in-place'
          ? `check that "dataDirectory" in the cluster's config is the directory the server really runs from (SHOW data_directory); the restored directory is ${plan.dataDir}, the original was moved to ${plan.dataDir}.lifeboat-${plan.id}`
          : `another server took port ${plan.port}: stop it, or make a new plan with a free --port`,
    },
  );
}

const MARK = '# --- lifeboat recovery settings';

export function recoverySettings(plan: PitrPlan, config: PostgresConfig = {}): Record<string, string> {
  const s: Record<string, string> = { restore_command: plan.restoreCommand, recovery_target_timeline: 'latest' };
  const t = plan.target;
  if (t.kind === 'time') s.recovery_target_time = t.time;
  if (t.kind === 'lsn') s.recovery_target_lsn = t.lsn;
  if (t.kind === 'xid') s.recovery_target_xid = t.xid;
  if (t.kind === 'name') s.recovery_target_name = t.name;
  if (t.kind === 'immediate') s.recovery_target = 'immediate';
  if (t.kind !== 'latest' && t.kind !== 'immediate') s.recovery_target_inclusive = plan.inclusive ? 'on' : 'off';
  if (t.kind !== 'latest') s.recovery_target_action = plan.action;
  s.port = String(plan.port);
  if (plan.mode === 'side-by-side') s.archive_mode = 'off'; // a copy must not archive into the original's repository
  Object.assign(s, copyEndpoint(plan, config).settings);
  return s;
}

/**
 * This OS user can make `dir` (or write into it, when it exists): the restore
 * step would otherwise fail with a raw EACCES after the plan said go.
 */
async function checkWritable(dir: string): Promise<void> {
  let probe = dir;
  while (!existsSync(probe) && path.dirname(probe) !== probe) probe = path.dirname(probe);
  try {
    await access(probe, constants.W_OK | constants.X_OK);
  } catch {
    const user = osUserName();
    throw new LifeboatError('FILE_ACCESS', probe === dir ? `${dir} is not writable by ${user}` : `${dir} cannot be created: ${probe} is not writable by ${user}`, {
      hint: `choose a --to-datadir ${user} can write, or create it for ${user} (install -d -m 700 -o ${user} ${dir})`,
    });
  }
}

/** Carry out one step; returns a one-line result. */
/**
 * Where tablespace `oid` goes: its own location in place (moved aside first);
 * next to the new data directory side by side (`<datadir>-tablespaces/<oid>`).
 */
export function tablespaceTarget(plan: Pick<PitrPlan, 'mode' | 'dataDir'>, ts: { oid: string; location: string }): string {
  // the manifest was validated when read; these names become paths, so check again where they are used
  tablespaceOid(ts.oid);
  const why = unsafeLocation(ts.location);
  if (why) throw new LifeboatError('MANIFEST_INVALID', `tablespace ${ts.oid} location ${JSON.stringify(ts.location)} ${why}`);
  return plan.mode === 'in-place' ? ts.location : path.join(`${plan.dataDir}-tablespaces`, ts.oid);
}

async function isEmptyDir(dir: string): Promise<boolean> {
  return (await readdir(dir)).length === 0;
}

/**
 * In place, a tablespace location is moved aside only when the live data
 * directory's pg_tblspc/<oid> link points at it: a location is a name read from
 * the repository, and Lifeboat never moves a directory that is not the cluster's.
 * Returns the locations to move (absent or empty ones need no move).
 */
async function checkMovable(dir: string, spaces: { oid: string; location: string }[]): Promise<string[]> {
  if (existsSync(dir) && !(await isEmptyDir(dir)) && !existsSync(path.join(dir, 'PG_VERSION'))) {
    throw new LifeboatError('TARGET_EXISTS', `${dir} is not a PostgreSQL data directory (no PG_VERSION); Lifeboat will not move it aside`, {
      hint: 'check "dataDirectory" in the cluster config, or restore side by side with --to-datadir DIR --port P',
    });
  }
  return tablespacesToMove(dir, spaces);
}

async function tablespacesToMove(dir: string, spaces: { oid: string; location: string }[]): Promise<string[]> {
  const move: string[] = [];
  for (const ts of spaces) {
    const loc = tablespaceTarget({ mode: 'in-place', dataDir: dir }, ts);
    if (!existsSync(loc) || (await isEmptyDir(loc).catch(() => false))) continue;
    const link = path.join(dir, 'pg_tblspc', ts.oid);
    const linked = await readlink(link).then((to) => realpath(path.resolve(path.dirname(link), to)), () => undefined);
    if (linked !== (await realpath(loc))) {
      throw new LifeboatError('TARGET_EXISTS', `tablespace ${ts.oid} location ${loc} is not empty and is not a tablespace of ${dir} (${link} ${linked ? `points to ${linked}` : 'does not exist'})`, {
        hint: 'Lifeboat moves aside only directories the cluster links to; move it away yourself, or restore side by side with --to-datadir DIR --port P',
      });
    }
    move.push(loc);
  }
  return move;
}

/** Extract each tablespace's tar to its target and point tablespace_map at it. */
async function restoreTablespaces(ctx: Ctx, plan: PitrPlan, io: PitrIo): Promise<string[]> {
  const spaces = io.manifest.physical?.tablespaces ?? [];
  const done: string[] = [];
  const lines: string[] = [];
  const marker = path.join(plan.dataDir, `lifeboat-pitr-${plan.id}`);
  for (const ts of spaces) {
    const dest = tablespaceTarget(plan, ts);
    if (existsSync(dest) && (await readdir(dest)).length > 0) {
      throw new LifeboatError('TARGET_EXISTS', `tablespace ${ts.oid} target ${dest} is not empty`, {
        hint: plan.mode === 'in-place' ? 'the move-aside step moves it aside; run it first' : 'remove it, or choose another --to-datadir',
      });
    }
    // recorded before it is made: a redo of this step removes only what this plan made
    await appendFile(marker, `tablespace ${dest}\n`);
    await mkdir(dest, { recursive: true, mode: 0o700 });
    await io.pipeTo(tablespaceObject(ts.oid), 'tar', ['-x', '-C', dest]);
    if (process.getuid?.() === 0) await runTool('chown', ['-R', `${ctx.cluster.config.serverUser ?? 'postgres'}:`, dest]);
    lines.push(`${ts.oid} ${dest}`);
    done.push(`${ts.oid} → ${dest}`);
  }
  // PostgreSQL makes the pg_tblspc links from tablespace_map when recovery starts
  if (lines.length) await writeFile(path.join(plan.dataDir, 'tablespace_map'), lines.join('\n') + '\n');
  return done;
}

/**
 * restore-base failed part way (damage that only shows while extracting, a
 * full disk, a cancel): leave nothing half-restored. Side by side, the partial
 * copy goes (an empty target directory given stays, empty). In place, the
 * partial copy goes, the original data directory and tablespaces moved aside
 * by this plan are put back, and a server that stop-server stopped is started
 * again. The error says what was done; `details.undoneSteps` names the steps
 * that are no longer done, so a later apply runs them again.
 */
async function undoRestore(ctx: Ctx, plan: PitrPlan, io: PitrIo, control: Controller, cause: unknown, existed: boolean): Promise<LifeboatError> {
  const e = toLifeboatError(cause, 'RESTORE_FAILED');
  const dir = plan.dataDir;
  const done: string[] = [];
  const undone: string[] = [];
  const spaces = io.manifest.physical?.tablespaces ?? [];
  try {
    const marker = path.join(dir, `lifeboat-pitr-${plan.id}`);
    const ours = new Set((await readFile(marker, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('tablespace ')).map((l) => l.slice('tablespace '.length)));
    for (const ts of spaces) {
      const t = tablespaceTarget(plan, ts);
      if (ours.has(t)) await rm(t, { recursive: true, force: true });
    }
    if (plan.mode === 'side-by-side') {
      if (existed) for (const f of await readdir(dir)) await rm(path.join(dir, f), { recursive: true, force: true });
      else await rm(dir, { recursive: true, force: true });
      const tsRoot = `${dir}-tablespaces`;
      if (existsSync(tsRoot) && (await readdir(tsRoot)).length === 0) await rm(tsRoot, { recursive: true });
      done.push(`the partial copy in ${dir} was removed`);
    } else {
      const aside = `${dir}.lifeboat-${plan.id}`;
      await rm(dir, { recursive: true, force: true });
      for (const ts of spaces) {
        const tsAside = `${ts.location}.lifeboat-${plan.id}`;
        if (existsSync(tsAside) && !existsSync(ts.location)) {
          await rename(tsAside, ts.location);
          done.push(`tablespace ${ts.location} was put back`);
        }
      }
      if (existsSync(aside)) {
        await rename(aside, dir);
        done.push(`${dir} was put back from ${aside}`);
      }
      undone.push('move-aside');
      const stopped = plan.steps.find((st) => st.name === 'stop-server')?.detail?.startsWith('server stopped');
      if (stopped && !ctx.signal.aborted) {
        await control.start(path.join(dir, `lifeboat-restart-${plan.id}.log`));
        done.push(`the server was started again (${control.describe})`);
        undone.push('stop-server');
      } else if (stopped) {
        done.push(`the server is stopped: start it with ${control.describe}`);
      }
    }
  } catch (undoErr) {
    return new LifeboatError(
      e.code,
      `restoring base backup ${plan.backupId} failed: ${e.message}; putting things back failed too: ${toLifeboatError(undoErr).message}` +
        (done.length ? ` (done: ${done.join('; ')})` : ''),
      {
        hint:
          plan.mode === 'in-place'
            ? `the original data directory is ${existsSync(`${dir}.lifeboat-${plan.id}`) ? `still at ${dir}.lifeboat-${plan.id}` : `back at ${dir}`}; nothing was deleted`
            : `remove ${dir} by hand before a retry`,
        details: { ...e.details, undoneSteps: undone },
      },
    );
  }
  return new LifeboatError(e.code, `restoring base backup ${plan.backupId} failed: ${e.message}; ${done.join('; ')}`, {
    hint: `verify the backup (lifeboat verify ${plan.backupId}); if it is damaged, make a new plan from another one (lifeboat pitr plan --backup ID ...)`,
    details: { ...e.details, undoneSteps: undone },
  });
}

export async function runPitrStep(ctx: Ctx, plan: PitrPlan, name: string, io: PitrIo): Promise<string> {
  const dir = plan.dataDir;
  const marker = path.join(dir, `lifeboat-pitr-${plan.id}`);
  const control = controllerFor(ctx, plan);
  switch (name) {
    case 'stop-server': {
      // what move-aside will refuse is refused before the server is stopped
      await checkMovable(dir, io.manifest.physical?.tablespaces ?? []);
      if (!(await control.running())) return 'server is not running';
      await control.stop();
      if (await control.running()) throw new LifeboatError('COMMAND_FAILED', `the server of ${dir} still runs after ${control.describe} stop`);
      return `server stopped (${control.describe})`;
    }
    case 'move-aside': {
      const aside = `${dir}.lifeboat-${plan.id}`;
      if (existsSync(aside) && !existsSync(dir)) return `already moved to ${aside}`;
      if (existsSync(aside) && existsSync(marker)) return `already moved to ${aside}`;
      if (await control.running()) throw new LifeboatError('USAGE', `the server of ${dir} is running`, { hint: 'run the stop-server step first' });
      const dirExists = existsSync(dir);
      // every check before the first move: a refusal leaves everything where it was
      const toMove = await checkMovable(dir, io.manifest.physical?.tablespaces ?? []);
      // tablespaces first: the data directory moved aside is this step's "done" mark
      const moved: string[] = [];
      for (const loc of toMove) {
        const tsAside = `${loc}.lifeboat-${plan.id}`;
        if (!existsSync(tsAside)) await rename(loc, tsAside);
        moved.push(tsAside);
      }
      if (!dirExists) return `${dir} does not exist: nothing to move aside${moved.length ? `; tablespaces moved to ${moved.join(', ')}` : ''}`;
      await rename(dir, aside);
      return `moved to ${aside}${moved.length ? `; tablespaces to ${moved.join(', ')}` : ''}`;
    }
    case 'check-target': {
      if (existsSync(dir) && !existsSync(marker) && (await readdir(dir)).length > 0) {
        throw new LifeboatError('TARGET_EXISTS', `${dir} is not empty`, { hint: 'choose an empty or new --to-datadir' });
      }
      const tsRoot = `${dir}-tablespaces`;
      if ((io.manifest.physical?.tablespaces.length ?? 0) > 0 && !existsSync(marker) && existsSync(tsRoot) && (await readdir(tsRoot)).length > 0) {
        throw new LifeboatError('TARGET_EXISTS', `${tsRoot} (for the tablespaces) is not empty`, { hint: 'choose another --to-datadir' });
      }
      await checkWritable(dir);
      if ((io.manifest.physical?.tablespaces.length ?? 0) > 0) await checkWritable(`${dir}-tablespaces`);
      if (!(await portFree(plan.port)) && !existsSync(path.join(dir, 'postmaster.pid'))) {
        throw new LifeboatError('USAGE', `port ${plan.port} is in use`, { hint: 'choose another --port' });
      }
      return `${dir} is usable, port ${plan.port} is free`;
    }
    case 'restore-base': {
      if (existsSync(dir) && (await readdir(dir)).length > 0) {
        if (!existsSync(marker)) throw new LifeboatError('TARGET_EXISTS', `${dir} is not empty and was not made by this plan`);
        if (await control.running()) throw new LifeboatError('USAGE', `a server runs on ${dir}`, { hint: 'the base backup was restored and started already; go on with the next step' });
        // our own partial restore: redo it, removing only the tablespace directories it recorded making
        const ours = new Set((await readFile(marker, 'utf8')).split('\n').filter((l) => l.startsWith('tablespace ')).map((l) => l.slice('tablespace '.length)));
        const targets = (io.manifest.physical?.tablespaces ?? []).map((ts) => tablespaceTarget(plan, ts)).filter((t) => ours.has(t));
        await rm(dir, { recursive: true, force: true });
        for (const t of targets) await rm(t, { recursive: true, force: true });
      }
      const existed = existsSync(dir);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await chmod(dir, 0o700); // an existing empty directory keeps its mode otherwise, and PostgreSQL refuses to start on 0755
      await writeFile(marker, `${plan.backupId}\n`);
      try {
        await io.pipeTo('base.tar', 'tar', ['-x', '-C', dir]);
        for (const f of ['postmaster.pid', 'standby.signal', 'recovery.signal']) await rm(path.join(dir, f), { force: true });
        const spaces = await restoreTablespaces(ctx, plan, io);
        if (process.getuid?.() === 0) await runTool('chown', ['-R', `${ctx.cluster.config.serverUser ?? 'postgres'}:`, dir]);
        return `base backup ${plan.backupId} restored into ${dir}${spaces.length ? `; tablespaces ${spaces.join(', ')}` : ''}`;
      } catch (err) {
        throw await undoRestore(ctx, plan, io, control, err, existed);
      }
    }
    case 'write-recovery': {
      const conf = path.join(dir, 'postgresql.auto.conf');
      const old = existsSync(conf) ? await readFile(conf, 'utf8') : '';
      const kept = old.includes(MARK) ? old.slice(0, old.indexOf(MARK)) : old;
      const lines = Object.entries(recoverySettings(plan, ctx.cluster.config)).map(([k, v]) => `${k} = ${quoteLiteral(v)}`);
      await writeFile(conf, `${kept}${kept.endsWith('\n') || !kept ? '' : '\n'}${MARK} (plan ${plan.id})\n${lines.join('\n')}\n`);
      await writeFile(path.join(dir, 'recovery.signal'), '');
      if (process.getuid?.() === 0) await runTool('chown', [`${ctx.cluster.config.serverUser ?? 'postgres'}:`, conf, path.join(dir, 'recovery.signal')]);
      return lines.join('; ');
    }
    case 'start': {
      if (await control.running()) return 'already running';
      await control.start(path.join(dir, 'lifeboat-recovery.log'));
      return `started on port ${plan.port} (${control.describe})`;
    }
    case 'follow':
      return followRecovery(ctx, plan, control, io);
    case 'verify': {
      if (plan.action === 'shutdown') {
        if (await control.running()) throw new LifeboatError('RESTORE_FAILED', 'the server is still running; it should have shut down at the target');
        return 'server shut down at the target';
      }
      await checkOwnServer(ctx, plan);
      const dbs = (await sqlOnPort(ctx, plan, 'SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1')).split('\n').filter(Boolean);
      const state = await sqlOnPort(ctx, plan, "SELECT CASE WHEN pg_is_in_recovery() THEN 'in recovery (paused)' ELSE 'promoted, read-write' END");
      const counts: string[] = [];
      for (const db of dbs) {
        const [tables, rows] = (await sqlOnPort(ctx, plan, ROW_COUNTS, db)).trim().split('|');
        counts.push(`${db} ${tables} tables/${rows} rows`);
        ctx.log('info', `verify: ${db}: ${tables} tables, ${rows} rows (exact counts)`);
      }
      let query = '';
      if (plan.verifyQuery) {
        const out = (await sqlOnPort(ctx, plan, plan.verifyQuery, defaultDatabase(ctx.cluster.config))).trim().split('\n');
        for (const l of out.slice(0, 20)) ctx.log('info', `verify query: ${l}`);
        query = `; verify query returned ${plural(out.filter(Boolean).length, 'row')}: ${out.slice(0, 3).join(' / ').slice(0, 200)}`;
      }
      return `server answers on port ${plan.port}: ${state}; ${counts.join(', ')}${query}`;
    }
  }
  throw new LifeboatError('USAGE', `unknown PITR step ${name}`);
}

/** Exact row counts of every ordinary table in one query: `tables|rows`. */
const ROW_COUNTS = `SELECT count(*) || '|' || coalesce(sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text::bigint), 0)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`;

async function recoveryLogTail(dir: string): Promise<string> {
  try {
    const lines = (await readFile(path.join(dir, 'lifeboat-recovery.log'), 'utf8')).trim().split('\n');
    // the last FATAL or PANIC with the lines that say why (PostgreSQL logs the cause just before:
    // `invalid value for parameter ...`, `could not restore file ...`)
    let fatal = lines.length - 1;
    while (fatal >= 0 && !/FATAL|PANIC/.test(lines[fatal]!)) fatal--;
    if (fatal >= 0) return lines.slice(Math.max(0, fatal - 2), fatal + 1).filter((l) => /LOG|DETAIL|HINT|FATAL|PANIC|ERROR|lifeboat/.test(l)).map((l) => l.trim()).join(' | ');
    return lines.filter((l) => /ERROR/.test(l)).slice(-3).join(' | ');
  } catch {
    return '';
  }
}

/**
 * The timeline recovery replayed last: after a promotion, the parent named in
 * the newest history file in pg_wal (the new timeline's own); before, or when
 * it cannot be read, the plan's.
 */
async function replayedTimeline(plan: PitrPlan): Promise<number> {
  try {
    const newest = (await readdir(path.join(plan.dataDir, 'pg_wal'))).filter((f) => /^[0-9A-F]{8}\.history$/.test(f)).sort().at(-1);
    if (!newest) return plan.wal.timeline;
    return parseHistory(await readFile(path.join(plan.dataDir, 'pg_wal', newest), 'utf8')).at(-1)?.parent ?? plan.wal.timeline;
  } catch {
    return plan.wal.timeline;
  }
}

/**
 * Recovery to latest ends where restore_command first has no segment to give.
 * PostgreSQL takes that for the end of the archive and promotes, so a segment
 * that could not be had (removed after the plan was made, a storage that
 * answered "not found", a restore_command that is not ours) would end recovery
 * early and look like success. The plan knows where archived WAL ended: the
 * last byte replayed must lie in that segment or after it.
 */
async function checkReachedPlannedEnd(plan: PitrPlan, io: PitrIo, lsn: string): Promise<void> {
  const segSize = BigInt(io.manifest.physical?.walSegmentSize ?? 16 * 1024 * 1024);
  const to = plan.wal.to;
  const plannedEnd = segmentNumber(to, segSize);
  let reached: bigint;
  try {
    reached = parseLsn(lsn);
  } catch {
    throw new LifeboatError('RESTORE_FAILED', `the server was promoted but did not say how far it replayed (${JSON.stringify(lsn)}); the plan counted WAL up to ${to}`);
  }
  const lastByte = reached > 0n ? reached - 1n : 0n;
  if (lastByte / segSize >= plannedEnd) return;
  const timeline = await replayedTimeline(plan);
  const missing = segmentName(timeline, (lastByte / segSize + 1n) * segSize, Number(segSize));
  throw new LifeboatError(
    'RESTORE_FAILED',
    `recovery ended early: the server was promoted after replaying up to ${lsn}, but the plan counted archived WAL up to ${to}; ` +
      `WAL segment ${missing} (timeline ${timeline}) could not be fetched, so every transaction after ${lsn} is missing from ${plan.dataDir}`,
    {
      details: { missingSegment: missing, reachedLsn: lsn, plannedLast: to },
      hint:
        `do not let clients use this server: stop it (pg_ctl -D ${plan.dataDir} stop), check the archive (lifeboat wal verify -c ${plan.cluster}), ` +
        'put the segment back or make a new plan, then run the recovery again from the restore-base step',
    },
  );
}

/** How long a running server may refuse connections for a reason other than "starting up". */
const UNREACHABLE_MS = 15_000;
/** How often the follow step says how far recovery got. */
const REPORT_MS = 10_000;

/** Poll the recovering server until it reaches the target (or stops). */
async function followRecovery(ctx: Ctx, plan: PitrPlan, control: Controller, io: PitrIo): Promise<string> {
  const deadline = Date.now() + 30 * 60_000;
  let last = '';
  let downSince: number | undefined;
  let unreachableSince: number | undefined;
  let lastReport = Date.now();
  // progress in WAL bytes from the backup's start; to latest, the plan's end of WAL is the total
  const ph = io.manifest.physical;
  const startLsn = ph ? parseLsn(ph.startLsn) : 0n;
  const seg = BigInt(ph?.walSegmentSize ?? 16 * 1024 * 1024);
  const endLsn = (segmentNumber(plan.wal.to, seg) + 1n) * seg;
  const totalBytes = plan.target.kind === 'latest' && endLsn > startLsn ? Number(endLsn - startLsn) : undefined;
  while (Date.now() < deadline) {
    ctx.signal.throwIfAborted();
    const running = await control.running();
    // just after `pg_ctl start -W` the postmaster may not have written its pid file yet
    if (!running && (downSince ??= Date.now()) > Date.now() - 5000) {
      await new Promise((r) => setTimeout(r, 300));
      continue;
    }
    if (running) downSince = undefined;
    if (!running) {
      const log = await readFile(path.join(plan.dataDir, 'lifeboat-recovery.log'), 'utf8').catch(() => '');
      if (plan.action === 'shutdown' && /recovery stopping|shutting down|database system is shut down/.test(log) && !/FATAL/.test(log)) {
        return `recovery stopped at the target and the server shut down (${last || 'no progress seen'})`;
      }
      throw new LifeboatError(
        'RESTORE_FAILED',
        `the recovering server stopped (${last || 'before it accepted a connection'}): ${(await recoveryLogTail(plan.dataDir)) || 'see ' + control.logHint}`,
        { hint: 'fix the cause, then run this step again: lifeboat pitr apply PLAN --step start' },
      );
    }
    let row: string;
    try {
      row = await sqlOnPort(
        ctx,
        plan,
        "SELECT pg_is_in_recovery() || '|' || coalesce(pg_last_wal_replay_lsn()::text, '') || '|' || coalesce(pg_last_xact_replay_timestamp()::text, '') || '|' || CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE '' END",
      );
    } catch (err) {
      // "starting up" / "not yet accepting connections": replaying WAL before consistency, can take long.
      // Anything else (no socket, refused, authentication) will not go away by waiting: say so soon.
      const why = ((err as Error).message.split('\n').find((l) => /error|FATAL|could not/i.test(l)) ?? (err as Error).message).replace(/^psql: (error: )?/, '').trim();
      if (/starting up|not yet accepting connections|recovery mode/.test(why)) unreachableSince = undefined;
      else if (Date.now() - (unreachableSince ??= Date.now()) > UNREACHABLE_MS) {
        const tail = await recoveryLogTail(plan.dataDir);
        throw new LifeboatError('RESTORE_FAILED', `the recovering server runs but cannot be reached on port ${plan.port} for ${UNREACHABLE_MS / 1000} s: ${why}${tail ? `; its log: ${tail}` : ''}`, {
          hint: `see ${control.logHint}; check where it listens (listen_addresses, unix_socket_directories in ${plan.dataDir}/postgresql.auto.conf) and pg_hba.conf`,
        });
      }
      if (Date.now() - lastReport > REPORT_MS) {
        lastReport = Date.now();
        ctx.log('info', `waiting for the server to accept connections: ${why}`);
      }
      await new Promise((r) => setTimeout(r, 300));
      continue;
    }
    unreachableSince = undefined;
    await checkOwnServer(ctx, plan);
    const [inRecovery, lsn, ts, pause] = row.trim().split('|');
    last = `replayed up to ${lsn || '?'}${ts ? ` (last commit ${ts})` : ''}`;
    if (lsn && /^[0-9A-F]+\/[0-9A-F]+$/i.test(lsn)) ctx.progress({ phase: 'recovering', bytes: Math.max(0, Number(parseLsn(lsn) - startLsn)), ...(totalBytes ? { totalBytes } : {}) });
    if (Date.now() - lastReport > REPORT_MS) {
      lastReport = Date.now();
      ctx.log('info', `recovering: ${last}`);
    } else ctx.log('debug', last);
    if (inRecovery === 'false') {
      if (plan.target.kind === 'latest') await checkReachedPlannedEnd(plan, io, lsn ?? '');
      return `recovery finished and the server was promoted; ${last}`;
    }
    if (pause === 'paused') return `recovery paused at the target; ${last}`;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new LifeboatError('RESTORE_FAILED', `recovery did not reach the target in 30 minutes (${last || 'the server never accepted a connection'})`, {
    hint: `see ${control.logHint}; the server still runs: stop it or run this step again to keep waiting`,
  });
}
