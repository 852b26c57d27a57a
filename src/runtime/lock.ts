import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../core/errors.js';
import { pidAlive } from '../core/proc.js';

export interface LockInfo {
  pid: number;
  host: string;
  job: string;
  startedAt: string;
}

export interface HeldLock {
  release(): void;
  /** Set when a stale lock (dead pid) was found and cleared. */
  clearedStale?: LockInfo;
}

/**
 * A lock file (O_EXCL) per cluster, or per recovery plan: two backups of one
 * cluster on this host never overlap, nor two walks of one plan; a lock whose
 * process is gone is reported and cleared. `name` is the file's name (a cluster
 * name, or `plans/<id>`), `what` the words for it in messages.
 */
export function acquireLock(stateDir: string, name: string, job: string, what = `cluster ${name}`): HeldLock {
  const file = path.join(stateDir, 'locks', `${name}.lock`);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const info: LockInfo = { pid: process.pid, host: os.hostname(), job, startedAt: new Date().toISOString() };
  let clearedStale: LockInfo | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      const held: HeldLock = {
        release: () => {
          try {
            const cur = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
            if (cur.pid === info.pid && cur.job === info.job) unlinkSync(file);
          } catch {
            /* already gone */
          }
        },
      };
      if (clearedStale) held.clearedStale = clearedStale;
      return held;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: LockInfo | undefined;
    try {
      holder = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      holder = undefined; // empty or half-written: treat as stale
    }
    if (holder && holder.host === info.host && pidAlive(holder.pid)) {
      throw new LifeboatError('LOCKED', `${what} is busy: job ${holder.job} (pid ${holder.pid}) has held its lock since ${holder.startedAt}`, {
        hint: `wait for it to finish (lifeboat jobs attach ${holder.job} follows it, lifeboat jobs cancel ${holder.job} stops it); two jobs that write one cluster, or walk one plan, never run at once`,
      });
    }
    if (holder && holder.host !== info.host) {
      throw new LifeboatError('LOCKED', `${what} is locked by ${holder.host} (pid ${holder.pid}, job ${holder.job})`, {
        hint: `if that host is gone, remove ${file}`,
      });
    }
    clearedStale = holder ?? { pid: 0, host: info.host, job: 'unknown', startedAt: 'unknown' };
    try {
      unlinkSync(file);
    } catch {
      /* raced with another cleaner */
    }
  }
  throw new LifeboatError('LOCKED', `could not take the lock of ${what}`);
}

/** Take a cluster's (or a plan's) lock for a job, telling the job's log about a stale lock it cleared. */
export function lockForJob(stateDir: string, name: string, job: { id: string; log(level: 'warn', message: string): void }, what = `cluster ${name}`): HeldLock {
  const lock = acquireLock(stateDir, name, job.id, what);
  if (lock.clearedStale) {
    const s = lock.clearedStale;
    job.log('warn', `cleared a stale lock of ${what} left by pid ${s.pid} (job ${s.job}, since ${s.startedAt}); "lifeboat repo gc" removes what an interrupted backup left`);
  }
  return lock;
}
