/**
 * The background pusher of async WAL archiving (`lifeboat wal push --daemon`,
 * started detached by `wal push --async`; never by hand).
 *
 * It stores the segments PostgreSQL has marked ready (pg_wal/archive_status/
 * <name>.ready), oldest first, `walArchive.parallel` at a time, and writes
 * ok/<name> once a segment is durable in the repository, or error/<name> with
 * the message when it is not. It reads segments in place and never touches the
 * .ready/.done files (PostgreSQL's). After a failure it slows down: one segment
 * (the oldest) at a time, 1 s, 2 s, ... up to 30 s apart, until one succeeds.
 * It leaves after `walArchive.idleSeconds` without work, when its lock was taken
 * over, or on SIGTERM.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { pushWalFile } from './push.js';
import { Spool } from './spool.js';
import { resolveWalTarget, type WalTarget } from './target.js';

export interface PusherOptions {
  configArg?: string;
  cluster: string;
  spoolRoot: string;
  pgWal: string;
}

/** PostgreSQL's ready files, oldest first (names sort in WAL order). */
export async function readyNames(pgWal: string): Promise<string[]> {
  const names = await readdir(path.join(pgWal, 'archive_status')).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.ready')).map((n) => n.slice(0, -'.ready'.length)).sort();
}

/** The message archive_command prints while too much WAL waits (never dropping any). */
export function queueFullError(waiting: number, t: Pick<WalTarget, 'cluster' | 'walArchive'>, logFile: string): LifeboatError {
  return new LifeboatError(
    'QUEUE_FULL',
    `${waiting} WAL segments wait to be archived, more than walArchive.maxQueue (${t.walArchive.maxQueue}) of cluster ${t.cluster} allows; none was dropped: PostgreSQL keeps them in pg_wal and retries`,
    { hint: `the repository is failing or too slow (see ${logFile}); fix it, or raise clusters.${t.cluster}.walArchive.maxQueue; watch pg_wal's free space meanwhile` },
  );
}

export async function runPusher(o: PusherOptions): Promise<number> {
  const spool = new Spool(o.spoolRoot, o.cluster);
  await spool.ensure();
  const storedByStarter = spool.storingByStarter(); // read before tryLock removes pusher.starting
  if (!spool.tryLock(o.pgWal)) return 0; // another pusher is at work
  let stopping = false;
  const stop = () => {
    stopping = true;
    wake();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('exit', () => spool.releaseLock());

  let wakeUp: (() => void) | undefined;
  const wake = () => {
    const w = wakeUp;
    wakeUp = undefined;
    w?.();
  };
  const watchers: FSWatcher[] = [];
  try {
    const w = watch(path.join(o.pgWal, 'archive_status'), () => wake()); // a new .ready: start at once
    w.on('error', () => undefined);
    watchers.push(w);
  } catch {
    /* polling below still works */
  }
  const nap = (ms: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      wakeUp = () => {
        clearTimeout(timer);
        r();
      };
    });

  await spool.removeTemps();
  spool.log(`pusher started for cluster ${o.cluster}, pg_wal ${o.pgWal}`);

  let target: WalTarget | undefined;
  let configStamp = '';
  const loadTarget = async (): Promise<WalTarget> => {
    const st = target ? await stat(target.configPath).catch(() => undefined) : undefined;
    const stamp = st ? `${st.mtimeMs}:${st.size}` : '';
    if (!target || stamp !== configStamp) {
      target = await resolveWalTarget(o.configArg, o.cluster);
      const now = await stat(target.configPath).catch(() => undefined);
      configStamp = now ? `${now.mtimeMs}:${now.size}` : '';
    }
    return target;
  };

  const inflight = new Map<string, Promise<void>>();
  const validAcks = new Set<string>();
  // ready files to leave alone until a time: an acknowledgement archive_command
  // just took (PostgreSQL is marking the file done; if it still asks after 10 s,
  // the answer got lost: store again), a file gone from pg_wal, and the segment
  // the call that started this pusher is storing itself (3 s: that push takes
  // well under a second; if it failed, the pusher takes over soon after)
  const leaveUntil = new Map<string, number>();
  if (storedByStarter) leaveUntil.set(storedByStarter, Date.now() + 3_000);
  let failures = 0;
  let retryAt = 0;
  let lastWork = Date.now();
  let lastSweep = 0;
  let queueFull = false;
  let stored = 0;

  const pushOne = (name: string, t: WalTarget) => {
    const started = Date.now();
    const threads = t.walArchive.parallel > 1 ? 1 : 0;
    const job = (async () => {
      try {
        const r = await pushWalFile(t, path.join(o.pgWal, name), { threads });
        await spool.writeAck(name, r.key);
        validAcks.add(name);
        await spool.removeError(name);
        stored++;
        failures = 0;
        spool.log(`${r.alreadyArchived ? 'already archived' : 'stored'} ${name} (${r.size} bytes${r.alreadyArchived ? '' : ` -> ${r.storedSize}`}, ${Date.now() - started} ms)`);
      } catch (err) {
        const e = toLifeboatError(err, 'STORAGE_FAILED');
        if (!(await stat(path.join(o.pgWal, name)).catch(() => undefined))) {
          // a .ready without its file: PostgreSQL removes such orphans itself
          leaveUntil.set(name, Date.now() + 10_000);
          spool.log(`skipped ${name}: the file is gone (${e.message})`);
          return;
        }
        failures++;
        retryAt = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
        // a segment PostgreSQL is done with (archived another way) needs no error
        if (await stat(path.join(o.pgWal, 'archive_status', `${name}.ready`)).catch(() => undefined)) await spool.writeError(name, e).catch(() => undefined);
        spool.log(`FAILED ${name}: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`);
      } finally {
        inflight.delete(name);
        wake();
      }
    })();
    inflight.set(name, job);
  };

  while (!stopping) {
    if (!spool.ownsLock()) {
      spool.log('the lock was taken over by another pusher; leaving');
      break;
    }
    spool.maybeRotateLog();
    const ready = await readyNames(o.pgWal);
    const readySet = new Set(ready);
    if (Date.now() - lastSweep > 5000) {
      lastSweep = Date.now();
      // acknowledgements and errors of files PostgreSQL is done with
      for (const n of await spool.names('ok')) if (!readySet.has(n)) await spool.removeAck(n);
      for (const n of await spool.names('error')) if (!readySet.has(n) && !inflight.has(n)) await spool.removeError(n);
    }
    // what still needs storing: ready, without a valid acknowledgement (checked once per name)
    const okNames = new Set(await spool.names('ok'));
    for (const n of validAcks) {
      if (okNames.has(n)) continue;
      validAcks.delete(n);
      leaveUntil.set(n, Date.now() + 10_000); // archive_command took it
    }
    for (const n of leaveUntil.keys()) if (!readySet.has(n)) leaveUntil.delete(n);
    const pending: string[] = [];
    let waiting = 0;
    for (const name of ready) {
      if ((leaveUntil.get(name) ?? 0) > Date.now()) continue;
      if (okNames.has(name)) {
        if (validAcks.has(name)) continue;
        if ((await spool.validAck(name, path.join(o.pgWal, name))) === 'valid') {
          validAcks.add(name);
          continue;
        }
        await spool.removeAck(name); // older than the segment: not for this file
      }
      waiting++;
      if (!inflight.has(name)) pending.push(name);
    }

    let t: WalTarget | undefined;
    try {
      t = await loadTarget();
    } catch (err) {
      const e = toLifeboatError(err);
      if (pending[0] && Date.now() >= retryAt) {
        failures++;
        retryAt = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
        await spool.writeError(pending[0], e).catch(() => undefined);
        spool.log(`FAILED to read the config: ${e.message}`);
      }
    }

    if (t) {
      // archive_command calls fail while this holds (src/wal/async-push.ts); the pusher keeps going
      const full = waiting > t.walArchive.maxQueue;
      if (full !== queueFull) spool.log(full ? `queue full: ${waiting} segments wait, more than walArchive.maxQueue (${t.walArchive.maxQueue})` : 'queue below walArchive.maxQueue again');
      queueFull = full;
    }

    if (pending.length === 0 && inflight.size === 0) {
      const idleMs = (t?.walArchive.idleSeconds ?? 60) * 1000;
      if (Date.now() - lastWork >= idleMs) break;
      await nap(Math.min(1000, idleMs - (Date.now() - lastWork)));
      continue;
    }
    lastWork = Date.now();

    if (t) {
      // after a failure: the oldest segment alone, not before its retry time
      const slots = failures > 0 ? (inflight.size === 0 && Date.now() >= retryAt ? 1 : 0) : t.walArchive.parallel - inflight.size;
      for (const name of pending.slice(0, Math.max(0, slots))) pushOne(name, t);
    }
    const delay = failures > 0 ? Math.max(50, retryAt - Date.now()) : 1000;
    await Promise.race([nap(delay), ...inflight.values()]);
  }

  for (const w of watchers) w.close();
  await Promise.allSettled(inflight.values());
  spool.log(`pusher leaving (${stopping ? 'asked to stop' : 'idle'}; ${stored} segments stored this run)`);
  spool.releaseLock();
  return 0;
}
