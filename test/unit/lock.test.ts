import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { acquireLock, lockForJob, type HeldLock, type LockInfo } from '../../src/runtime/lock.js';
import { LifeboatError } from '../../src/core/errors.js';

let stateDir: string;
let held: HeldLock[];
const lockFile = (cluster = 'main') => path.join(stateDir, 'locks', `${cluster}.lock`);
const readLock = (cluster = 'main') => JSON.parse(readFileSync(lockFile(cluster), 'utf8')) as LockInfo;

function take(cluster: string, job: string): HeldLock {
  const l = acquireLock(stateDir, cluster, job);
  held.push(l);
  return l;
}

function writeLock(info: Partial<LockInfo> | string, cluster = 'main'): void {
  mkdirSync(path.dirname(lockFile(cluster)), { recursive: true });
  writeFileSync(lockFile(cluster), typeof info === 'string' ? info : JSON.stringify(info));
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => resolve());
  });
  expect(() => process.kill(pid, 0)).toThrow(); // really gone
  return pid;
}

function lockedError(fn: () => unknown): LifeboatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe('LOCKED');
    return err as LifeboatError;
  }
  throw new Error('expected a LOCKED error, the lock was taken');
}

beforeEach(() => {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-lock-'));
  held = [];
});

afterEach(() => {
  for (const l of held) l.release();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('acquireLock', () => {
  test('writes a private lock file naming this process, host and job', () => {
    const before = Date.now();
    const l = take('main', 'job-1');
    expect(l.clearedStale).toBeUndefined();
    const info = readLock();
    expect(info).toMatchObject({ pid: process.pid, host: os.hostname(), job: 'job-1' });
    expect(Date.parse(info.startedAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(statSync(lockFile()).mode & 0o777).toBe(0o600);
  });

  test('a second acquire while held fails with LOCKED naming the job and pid', () => {
    take('main', 'job-1');
    const err = lockedError(() => take('main', 'job-2'));
    expect(err.message).toContain('cluster main is busy');
    expect(err.message).toContain('job job-1');
    expect(err.message).toContain(`pid ${process.pid}`);
    expect(err.hint).toMatch(/lifeboat jobs/);
    // the holder's lock is untouched
    expect(readLock().job).toBe('job-1');
  });

  test('locks are per cluster', () => {
    take('main', 'job-1');
    const other = take('reporting', 'job-2');
    expect(other.clearedStale).toBeUndefined();
    expect(readLock('reporting').job).toBe('job-2');
  });

  test('release removes the file, and the cluster can be locked again', () => {
    const l = take('main', 'job-1');
    expect(existsSync(lockFile())).toBe(true);
    l.release();
    expect(existsSync(lockFile())).toBe(false);
    l.release(); // twice is harmless
    const again = take('main', 'job-2');
    expect(again.clearedStale).toBeUndefined();
    expect(readLock().job).toBe('job-2');
  });

  test("release never removes someone else's lock", () => {
    const first = take('main', 'job-1');
    unlinkSync(lockFile()); // e.g. removed by hand, then taken by another job
    take('main', 'job-2');
    first.release();
    expect(existsSync(lockFile())).toBe(true);
    expect(readLock().job).toBe('job-2');
  });

  test('a lock left by a dead process is cleared and reported in clearedStale', async () => {
    const pid = await deadPid();
    const stale: LockInfo = { pid, host: os.hostname(), job: 'crashed-job', startedAt: '2026-11-21T03:00:00.000Z' };
    writeLock(stale);
    const l = take('main', 'job-new');
    expect(l.clearedStale).toEqual(stale);
    expect(readLock()).toMatchObject({ pid: process.pid, job: 'job-new' });
  });

  test('an empty or half-written lock file is treated as stale', () => {
    writeLock('{"pid": 12');
    const l = take('main', 'job-new');
    expect(l.clearedStale).toMatchObject({ pid: 0, job: 'unknown' });
    expect(readLock().job).toBe('job-new');
  });

  test('a lock held by a live process on this host is not cleared', () => {
    // pid 1 is always alive (EPERM counts as alive for an unprivileged user)
    writeLock({ pid: 1, host: os.hostname(), job: 'running-elsewhere', startedAt: '2026-11-21T03:00:00.000Z' });
    const err = lockedError(() => take('main', 'job-new'));
    expect(err.message).toContain('job running-elsewhere (pid 1)');
    expect(readLock().job).toBe('running-elsewhere');
  });

  test('a lock of another host is not cleared, even when its pid is dead here', async () => {
    const pid = await deadPid();
    const theirs: LockInfo = { pid, host: 'db-other.example', job: 'their-job', startedAt: '2026-11-21T03:00:00.000Z' };
    writeLock(theirs);
    const text = readFileSync(lockFile(), 'utf8');
    const err = lockedError(() => take('main', 'job-new'));
    expect(err.message).toContain('locked by db-other.example');
    expect(err.message).toContain(`pid ${pid}`);
    expect(err.message).toContain('their-job');
    expect(err.hint).toContain(lockFile());
    expect(readFileSync(lockFile(), 'utf8')).toBe(text);
  });
});

describe('lockForJob', () => {
  test('tells the job log about a stale lock it cleared', async () => {
    const pid = await deadPid();
    writeLock({ pid, host: os.hostname(), job: 'crashed-job', startedAt: '2026-11-21T03:00:00.000Z' });
    const logs: string[] = [];
    const l = lockForJob(stateDir, 'main', { id: 'job-7', log: (_level, message) => logs.push(message) });
    held.push(l);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain(`cleared a stale lock of cluster main left by pid ${pid} (job crashed-job`);
    expect(logs[0]).toContain('lifeboat repo gc');
    expect(readLock().job).toBe('job-7');
  });

  test('says nothing when there was no stale lock', () => {
    const logs: string[] = [];
    held.push(lockForJob(stateDir, 'main', { id: 'job-8', log: (_l, m) => logs.push(m) }));
    expect(logs).toEqual([]);
  });
});

describe('plan locks', () => {
  test('one walk of a recovery plan at a time: a second is refused naming the plan; other plans and the cluster are free', () => {
    const plan = 'plans/pitr-20261204040000-ab12';
    held.push(acquireLock(stateDir, plan, 'job-1', 'recovery plan pitr-20261204040000-ab12'));
    const e = lockedError(() => acquireLock(stateDir, plan, 'job-2', 'recovery plan pitr-20261204040000-ab12'));
    expect(e.message).toBe(`recovery plan pitr-20261204040000-ab12 is busy: job job-1 (pid ${process.pid}) has held its lock since ${readLock(plan).startedAt}`);
    expect(existsSync(path.join(stateDir, 'locks', 'plans', 'pitr-20261204040000-ab12.lock'))).toBe(true);
    take('plans/pitr-20261204040000-cd34', 'job-3');
    take('main', 'job-4');
  });
});
