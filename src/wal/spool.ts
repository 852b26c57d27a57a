/**
 * The async-archiving spool of one cluster: `<spoolDir>/<cluster>/`.
 *
 *   ok/<name>       the background pusher stored <name> durably (written after
 *                   Storage.put resolved, never before); archive_command removes
 *                   it and returns 0. Valid only when newer than the WAL file
 *                   (a leftover of an older cluster with the same segment names
 *                   is never taken for this one).
 *   error/<name>    storing <name> failed: the lines archive_command prints
 *                   before exiting 1 (PostgreSQL logs them and retries).
 *   pusher.pid      the running pusher: pid, its start time (from /proc), pg_wal.
 *   pusher.starting the pid of a pusher just started, until it holds the lock.
 *   pusher.log      what the pusher did (rotated at 1 MiB, one old copy kept).
 *
 * No WAL data is copied here: the pusher reads segments where PostgreSQL keeps
 * them (pg_wal) until archive_command reports them stored. The spool holds a
 * few dozen bytes per ready segment.
 */
import { closeSync, fstatSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { LifeboatError } from '../core/errors.js';
import { pidAlive, processStart } from '../core/proc.js';

const LOG_MAX = 1024 * 1024;

export interface PusherLock {
  pid: number;
  /** Process start time (clock ticks since boot) from /proc, '-' where unknown. */
  start: string;
  pgWal: string;
}

/** The lines of an error file: as the sync hook prints errors. */
export function errorLines(e: Pick<LifeboatError, 'message' | 'hint'>): string {
  const one = (s: string) => s.replace(/\s*\n\s*/g, ' ');
  return `lifeboat: wal push: ${one(e.message)}\n${e.hint ? `  hint: ${one(e.hint)}\n` : ''}`;
}

export class Spool {
  readonly dir: string;
  readonly okDir: string;
  readonly errorDir: string;
  readonly pidFile: string;
  readonly logFile: string;

  constructor(root: string, readonly cluster: string) {
    this.dir = path.join(root, cluster);
    this.okDir = path.join(this.dir, 'ok');
    this.errorDir = path.join(this.dir, 'error');
    this.pidFile = path.join(this.dir, 'pusher.pid');
    this.logFile = path.join(this.dir, 'pusher.log');
  }

  async ensure(): Promise<void> {
    await mkdir(this.okDir, { recursive: true, mode: 0o700 });
    await mkdir(this.errorDir, { recursive: true, mode: 0o700 });
  }

  /** Write `file` atomically (temporary name in the same directory, then rename). */
  private async atomicWrite(file: string, text: string): Promise<void> {
    const tmp = path.join(path.dirname(file), `.tmp-${path.basename(file)}-${process.pid}`);
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, file);
  }

  /** An acknowledgement counts only when newer than the WAL file it is for. */
  async validAck(name: string, walFile: string): Promise<'valid' | 'stale' | 'none'> {
    const ack = await stat(path.join(this.okDir, name), { bigint: true }).catch(() => undefined);
    if (!ack) return 'none';
    const seg = await stat(walFile, { bigint: true }).catch(() => undefined);
    return seg && ack.mtimeNs > seg.mtimeNs ? 'valid' : 'stale';
  }

  async writeAck(name: string, key: string): Promise<void> {
    await this.atomicWrite(path.join(this.okDir, name), `${key}\n`);
  }

  async removeAck(name: string): Promise<void> {
    await rm(path.join(this.okDir, name), { force: true });
  }

  async writeError(name: string, e: Pick<LifeboatError, 'message' | 'hint'>): Promise<void> {
    await this.atomicWrite(path.join(this.errorDir, name), errorLines(e));
  }

  async errorStat(name: string): Promise<Stats | undefined> {
    return stat(path.join(this.errorDir, name)).catch(() => undefined);
  }

  /** Read and remove an error file (it is reported once; the pusher then retries). */
  async takeError(name: string): Promise<string | undefined> {
    const file = path.join(this.errorDir, name);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) await rm(file, { force: true });
    return text;
  }

  async removeError(name: string): Promise<void> {
    await rm(path.join(this.errorDir, name), { force: true });
  }

  async names(dir: 'ok' | 'error'): Promise<string[]> {
    return (await readdir(dir === 'ok' ? this.okDir : this.errorDir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  }

  /** Remove temporary files a killed writer left behind. */
  async removeTemps(): Promise<void> {
    for (const d of [this.okDir, this.errorDir, this.dir]) {
      for (const n of await readdir(d).catch(() => [] as string[])) if (n.startsWith('.tmp-')) await rm(path.join(d, n), { force: true });
    }
  }

  // --- the pusher's lock ------------------------------------------------------

  readLock(): PusherLock | undefined {
    let text: string;
    try {
      text = readFileSync(this.pidFile, 'utf8');
    } catch {
      return undefined;
    }
    return parseLock(text);
  }

  /** The lock's owner: a live process that is still the one that took it. */
  lockHolder(): PusherLock | undefined {
    const l = this.readLock();
    return l && holds(l) ? l : undefined;
  }

  /**
   * Take the lock for this process; false when a live pusher holds it. A lock
   * whose process is gone (killed) is taken over. Two processes taking over at
   * the same moment can both run for a while: each pusher checks that the lock
   * is still its own between pushes and leaves when it is not (pushes are
   * idempotent, so the overlap is only wasted work).
   */
  tryLock(pgWal: string): boolean {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(this.pidFile, 'wx', 0o600);
        try {
          writeSync(fd, `${process.pid}\n${processStart('self') ?? '-'}\n${pgWal}\n`);
        } finally {
          closeSync(fd);
        }
        rmSyncQuiet(this.startingFile);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let text: string;
      try {
        text = readFileSync(this.pidFile, 'utf8');
      } catch {
        continue; // removed meanwhile: try again
      }
      const l = parseLock(text);
      if (l && holds(l)) return false;
      // stale (or unreadable): remove it if it is still the file we judged, then race for it
      try {
        if (readFileSync(this.pidFile, 'utf8') === text) rmSync(this.pidFile, { force: true });
      } catch {
        /* gone already */
      }
    }
    return false;
  }

  /** Written by `wal push --async` when it starts a pusher, until that pusher holds the lock. */
  get startingFile(): string {
    return path.join(this.dir, 'pusher.starting');
  }

  /** `storing`: the segment the starting call stores itself (the new pusher leaves it alone). */
  async markStarting(pid: number, storing?: string): Promise<void> {
    await this.atomicWrite(this.startingFile, `${pid}\n${storing ?? ''}\n`);
  }

  /** The segment named in pusher.starting (read by the pusher before it takes the lock). */
  storingByStarter(): string | undefined {
    try {
      return readFileSync(this.startingFile, 'utf8').split('\n')[1] || undefined;
    } catch {
      return undefined;
    }
  }

  /** A pusher was started moments ago (its process lives) and is not holding the lock yet. */
  starting(): boolean {
    try {
      const st = statSync(this.startingFile);
      if (Date.now() - st.mtimeMs > 10_000) return false;
      const pid = Number(readFileSync(this.startingFile, 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 && pidAlive(pid);
    } catch {
      return false;
    }
  }

  ownsLock(): boolean {
    const l = this.readLock();
    return l?.pid === process.pid;
  }

  releaseLock(): void {
    if (this.ownsLock()) rmSyncQuiet(this.pidFile);
  }

  // --- the pusher's log -------------------------------------------------------

  private logFd: number | undefined;

  log(line: string): void {
    try {
      if (this.logFd === undefined) {
        rotate(this.logFile);
        this.logFd = openSync(this.logFile, 'a', 0o600);
      }
      writeSync(this.logFd, `${new Date().toISOString()} [${process.pid}] ${line}\n`);
    } catch {
      /* logging must never stop archiving */
    }
  }

  /** Start a new log file when this one outgrew its bound (called between pushes). */
  maybeRotateLog(): void {
    try {
      if (this.logFd !== undefined && fstatSync(this.logFd).size > LOG_MAX) {
        closeSync(this.logFd);
        this.logFd = undefined; // the next line rotates and reopens
      }
    } catch {
      /* ignore */
    }
  }
}

function parseLock(text: string): PusherLock | undefined {
  const [pid, start, pgWal] = text.split('\n');
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return { pid: n, start: start || '-', pgWal: pgWal ?? '' };
}

function holds(l: PusherLock): boolean {
  if (!pidAlive(l.pid)) return false;
  const now = processStart(l.pid);
  return l.start === '-' || now === undefined || now === l.start; // a different start time: the pid was reused
}

function rotate(file: string): void {
  try {
    if (statSync(file).size > LOG_MAX) renameSync(file, `${file}.1`);
  } catch {
    /* no log yet */
  }
}

function rmSyncQuiet(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    /* ignore */
  }
}
