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

/** The pusher process: takes the cluster's lock (another pusher at work: leaves at once) and runs until it leaves. Exit status 0. */
export async function runPusher(o: PusherOptions): Promise<number> {
  const spool = new Spool(o.spoolRoot, o.cluster);
  await spool.ensure();
  const storedByStarter = spool.storingByStarter(); // read before tryLock removes pusher.starting
  if (!spool.tryLock(o.pgWal)) return 0; // another pusher is at work
  await new Pusher(o, spool).run(storedByStarter);
  return 0;
}

/** The pusher's one nap, which a new .ready, an ended push or a stop cuts short. */
class Alarm {
  private wakeUp: (() => void) | undefined;

  /** Ends the nap under way, if any. */
  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Sleeps `ms`, or until wake(). */
  nap(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        r();
      };
    });
  }
}

/** The cluster's WAL target, resolved again only when the config file changed (its mtime and size). */
class TargetCache {
  private target: WalTarget | undefined;
  private configStamp = '';

  constructor(
    private readonly configArg: string | undefined,
    private readonly cluster: string,
  ) {}

  async load(): Promise<WalTarget> {
    const st = this.target ? await stat(this.target.configPath).catch(() => undefined) : undefined;
    const stamp = st ? `${st.mtimeMs}:${st.size}` : '';
    if (!this.target || stamp !== this.configStamp) {
      this.target = await resolveWalTarget(this.configArg, this.cluster);
      const now = await stat(this.target.configPath).catch(() => undefined);
      this.configStamp = now ? `${now.mtimeMs}:${now.size}` : '';
    }
    return this.target;
  }
}

/** One run of the pusher, holding the lock: the state its rounds and pushes share. */
class Pusher {
  private stopping = false;
  private readonly alarm = new Alarm();
  private readonly watchers: FSWatcher[] = [];
  private readonly targets: TargetCache;
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly validAcks = new Set<string>();
  /**
   * Ready files to leave alone until a time: an acknowledgement archive_command
   * just took (PostgreSQL is marking the file done; if it still asks after 10 s,
   * the answer got lost: store again), a file gone from pg_wal, and the segment
   * the call that started this pusher is storing itself (3 s: that push takes
   * well under a second; if it failed, the pusher takes over soon after).
   */
  private readonly leaveUntil = new Map<string, number>();
  private failures = 0;
  private retryAt = 0;
  private lastWork = 0;
  private lastSweep = 0;
  private queueFull = false;
  private stored = 0;

  constructor(
    private readonly o: PusherOptions,
    private readonly spool: Spool,
  ) {
    this.targets = new TargetCache(o.configArg, o.cluster);
  }

  /** Start, rounds until it is time to leave, leave. */
  async run(storedByStarter: string | undefined): Promise<void> {
    this.listen();
    await this.spool.removeTemps();
    this.spool.log(`pusher started for cluster ${this.o.cluster}, pg_wal ${this.o.pgWal}`);
    if (storedByStarter) this.leaveUntil.set(storedByStarter, Date.now() + 3_000);
    this.lastWork = Date.now();
    while (!this.stopping) if (!(await this.round())) break;
    await this.leave();
  }

  /** SIGTERM and SIGINT stop it, exit releases the lock, a watch on archive_status wakes it for a new .ready. */
  private listen(): void {
    const stop = () => {
      this.stopping = true;
      this.alarm.wake();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('exit', () => this.spool.releaseLock());
    try {
      const w = watch(path.join(this.o.pgWal, 'archive_status'), () => this.alarm.wake()); // a new .ready: start at once
      w.on('error', () => undefined);
      this.watchers.push(w);
    } catch {
      /* polling below still works */
    }
  }

  /** One round: tidy the spool, see what waits, start what may start, nap until a push ends or it is time to look again. False: leave. */
  private async round(): Promise<boolean> {
    if (!this.spool.ownsLock()) {
      this.spool.log('the lock was taken over by another pusher; leaving');
      return false;
    }
    this.spool.maybeRotateLog();
    const ready = await readyNames(this.o.pgWal);
    const readySet = new Set(ready);
    await this.sweep(readySet);
    const { pending, waiting } = await this.waitingOf(ready, readySet);
    const t = await this.target(pending[0]);
    if (t) this.noteQueue(waiting, t);
    if (pending.length === 0 && this.inflight.size === 0) return this.idle(t);
    this.lastWork = Date.now();
    if (t) this.startPushes(pending, t);
    const delay = this.failures > 0 ? Math.max(50, this.retryAt - Date.now()) : 1000;
    await Promise.race([this.alarm.nap(delay), ...this.inflight.values()]);
    return true;
  }

  /** Every 5 s: removes the acknowledgements and errors of files PostgreSQL is done with. */
  private async sweep(readySet: Set<string>): Promise<void> {
    if (Date.now() - this.lastSweep <= 5000) return;
    this.lastSweep = Date.now();
    for (const n of await this.spool.names('ok')) if (!readySet.has(n)) await this.spool.removeAck(n);
    for (const n of await this.spool.names('error')) if (!readySet.has(n) && !this.inflight.has(n)) await this.spool.removeError(n);
  }

  /** What still needs storing: ready, not left alone, without a valid acknowledgement. `waiting` counts them all, `pending` those not in flight. */
  private async waitingOf(ready: string[], readySet: Set<string>): Promise<{ pending: string[]; waiting: number }> {
    const okNames = new Set(await this.spool.names('ok'));
    this.forgetTaken(okNames, readySet);
    const pending: string[] = [];
    let waiting = 0;
    for (const name of ready) {
      if ((this.leaveUntil.get(name) ?? 0) > Date.now()) continue;
      if (okNames.has(name) && (await this.acked(name))) continue;
      waiting++;
      if (!this.inflight.has(name)) pending.push(name);
    }
    return { pending, waiting };
  }

  /** Acknowledgements gone from ok/ were taken by archive_command: leave their files alone 10 s. Files no longer ready need no leaving alone. */
  private forgetTaken(okNames: Set<string>, readySet: Set<string>): void {
    for (const n of this.validAcks) {
      if (okNames.has(n)) continue;
      this.validAcks.delete(n);
      this.leaveUntil.set(n, Date.now() + 10_000); // archive_command took it
    }
    for (const n of this.leaveUntil.keys()) if (!readySet.has(n)) this.leaveUntil.delete(n);
  }

  /** Whether the segment's acknowledgement is valid (checked once per name); one that is not is removed. */
  private async acked(name: string): Promise<boolean> {
    if (this.validAcks.has(name)) return true;
    if ((await this.spool.validAck(name, path.join(this.o.pgWal, name))) === 'valid') {
      this.validAcks.add(name);
      return true;
    }
    await this.spool.removeAck(name); // older than the segment: not for this file
    return false;
  }

  /** The WAL target; when the config cannot be read, the oldest pending segment gets the error (at its retry time) and the pusher backs off. */
  private async target(oldest: string | undefined): Promise<WalTarget | undefined> {
    try {
      return await this.targets.load();
    } catch (err) {
      const e = toLifeboatError(err);
      if (oldest && Date.now() >= this.retryAt) {
        this.backOff();
        await this.spool.writeError(oldest, e).catch(() => undefined);
        this.spool.log(`FAILED to read the config: ${e.message}`);
      }
      return undefined;
    }
  }

  /** One more failure in a row: the next try waits 1 s, 2 s, ... up to 30 s. */
  private backOff(): void {
    this.failures++;
    this.retryAt = Date.now() + Math.min(30_000, 1000 * 2 ** Math.min(this.failures - 1, 5));
  }

  /** Logs when the queue goes over walArchive.maxQueue, and when it is below again. */
  private noteQueue(waiting: number, t: WalTarget): void {
    // archive_command calls fail while this holds (src/wal/async-push.ts); the pusher keeps going
    const full = waiting > t.walArchive.maxQueue;
    if (full !== this.queueFull) this.spool.log(full ? `queue full: ${waiting} segments wait, more than walArchive.maxQueue (${t.walArchive.maxQueue})` : 'queue below walArchive.maxQueue again');
    this.queueFull = full;
  }

  /** Nothing to do: false after walArchive.idleSeconds without work, else a nap of up to 1 s. */
  private async idle(t: WalTarget | undefined): Promise<boolean> {
    const idleMs = (t?.walArchive.idleSeconds ?? 60) * 1000;
    if (Date.now() - this.lastWork >= idleMs) return false;
    await this.alarm.nap(Math.min(1000, idleMs - (Date.now() - this.lastWork)));
    return true;
  }

  /** Fills the free slots, oldest first; after a failure, the oldest segment alone, not before its retry time. */
  private startPushes(pending: string[], t: WalTarget): void {
    const slots = this.failures > 0 ? (this.inflight.size === 0 && Date.now() >= this.retryAt ? 1 : 0) : t.walArchive.parallel - this.inflight.size;
    for (const name of pending.slice(0, Math.max(0, slots))) this.pushOne(name, t);
  }

  /** Stores one segment in the background: in inflight until it ends, which wakes the round. */
  private pushOne(name: string, t: WalTarget): void {
    const job = (async () => {
      try {
        await this.store(name, t);
      } catch (err) {
        await this.pushFailed(name, err);
      } finally {
        this.inflight.delete(name);
        this.alarm.wake();
      }
    })();
    this.inflight.set(name, job);
  }

  /** Pushes the segment, writes ok/<name>, removes error/<name>; a success ends a run of failures. */
  private async store(name: string, t: WalTarget): Promise<void> {
    const started = Date.now();
    const threads = t.walArchive.parallel > 1 ? 1 : 0;
    const r = await pushWalFile(t, path.join(this.o.pgWal, name), { threads });
    await this.spool.writeAck(name, r.key);
    this.validAcks.add(name);
    await this.spool.removeError(name);
    this.stored++;
    this.failures = 0;
    this.spool.log(`${r.alreadyArchived ? 'already archived' : 'stored'} ${name} (${r.size} bytes${r.alreadyArchived ? '' : ` -> ${r.storedSize}`}, ${Date.now() - started} ms)`);
  }

  /** A push failed: a segment gone from pg_wal is left alone 10 s; otherwise back off and write error/<name> while PostgreSQL still asks for it. */
  private async pushFailed(name: string, err: unknown): Promise<void> {
    const e = toLifeboatError(err, 'STORAGE_FAILED');
    if (!(await stat(path.join(this.o.pgWal, name)).catch(() => undefined))) {
      // a .ready without its file: PostgreSQL removes such orphans itself
      this.leaveUntil.set(name, Date.now() + 10_000);
      this.spool.log(`skipped ${name}: the file is gone (${e.message})`);
      return;
    }
    this.backOff();
    // a segment PostgreSQL is done with (archived another way) needs no error
    if (await stat(path.join(this.o.pgWal, 'archive_status', `${name}.ready`)).catch(() => undefined)) await this.spool.writeError(name, e).catch(() => undefined);
    this.spool.log(`FAILED ${name}: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`);
  }

  /** Stops watching, waits for the pushes under way, says why it leaves and releases the lock. */
  private async leave(): Promise<void> {
    for (const w of this.watchers) w.close();
    await Promise.allSettled(this.inflight.values());
    this.spool.log(`pusher leaving (${this.stopping ? 'asked to stop' : 'idle'}; ${this.stored} segments stored this run)`);
    this.spool.releaseLock();
  }
}
