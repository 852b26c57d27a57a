/**
 * `lifeboat wal push --async %p`: what bin/lifeboat-archive runs when the spool
 * holds no answer for %p yet.
 *
 * - A pusher runs (or was just started): wait (walArchive.waitSeconds) for its
 *   acknowledgement of %p, restarting it if it dies.
 * - None runs: store %p here and now, as the sync hook does (a lone segment
 *   after a quiet spell should not wait for a process to start), and start a
 *   detached pusher when more segments wait behind it.
 * - %p is not queued by PostgreSQL (no archive_status/<name>.ready: a call by
 *   hand), or no pusher can run (spool not writable, process cannot start):
 *   store it here.
 * More than walArchive.maxQueue segments waiting fails the call (QUEUE_FULL).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { classifyWalFile } from '../core/wal.js';
import { pushWalFile, type WalPushResult } from './push.js';
import { queueFullError, readyNames } from './pusher.js';
import { errorLines, Spool } from './spool.js';
import type { WalTarget } from './target.js';

export type AsyncPushOutcome =
  | { how: 'acknowledged'; name: string }
  | { how: 'direct'; name: string; result: WalPushResult; warning?: string }
  /** The pusher reported a failure: these lines go to stderr, exit 1. */
  | { how: 'failed'; name: string; lines: string };

export interface AsyncPushOptions {
  spoolRoot: string;
  /** argv to start `lifeboat wal push --daemon` (node, script). */
  lifeboat: string[];
}

async function direct(t: WalTarget, file: string, warning?: string, spool?: Spool): Promise<AsyncPushOutcome> {
  const started = Date.now();
  const name = path.basename(file);
  try {
    const result = await pushWalFile(t, file);
    spool?.log(`${result.alreadyArchived ? 'already archived' : 'stored'} ${name} directly (${result.size} bytes${result.alreadyArchived ? '' : ` -> ${result.storedSize}`}, ${Date.now() - started} ms)`);
    return { how: 'direct', name: result.name, result, ...(warning ? { warning } : {}) };
  } catch (err) {
    const e = toLifeboatError(err, 'STORAGE_FAILED');
    spool?.log(`FAILED ${name}: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''} (directly)`);
    throw e;
  }
}

/** Start a detached pusher; false when the process could not be started. */
async function startPusher(t: WalTarget, spool: Spool, pgWal: string, o: AsyncPushOptions, storing?: string): Promise<boolean> {
  let out: number | 'ignore' = 'ignore';
  try {
    out = openSync(spool.logFile, 'a', 0o600); // its crash output, if any, lands in its log
  } catch {
    /* no log then */
  }
  const [cmd, ...pre] = o.lifeboat;
  const child = spawn(cmd!, [...pre, '--config', t.configPath, 'wal', 'push', '--daemon', '--cluster', t.cluster, '--spool', o.spoolRoot, '--pg-wal', pgWal], {
    detached: true, // its own process group: PostgreSQL's signals to archive_command do not reach it
    stdio: ['ignore', out, out],
    cwd: spool.dir,
  });
  const ok = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  child.unref();
  if (ok && child.pid) await spool.markStarting(child.pid, storing).catch(() => undefined);
  if (typeof out === 'number') closeSync(out); // the child has its own copy
  return ok;
}

export async function asyncPush(t: WalTarget, file: string, o: AsyncPushOptions): Promise<AsyncPushOutcome> {
  const name = path.basename(file);
  classifyWalFile(name);
  const walFile = path.resolve(file);
  const pgWal = path.dirname(walFile);
  const spool = new Spool(o.spoolRoot, t.cluster);
  try {
    await spool.ensure();
  } catch (err) {
    return direct(t, file, `the spool ${spool.dir} is not usable (${(err as Error).message}); stored ${name} directly`);
  }

  const answer = async (): Promise<AsyncPushOutcome | undefined> => {
    const ack = await spool.validAck(name, walFile);
    if (ack === 'valid') {
      await spool.removeAck(name);
      return { how: 'acknowledged', name };
    }
    if (ack === 'stale') await spool.removeAck(name);
    const lines = await spool.takeError(name);
    if (lines !== undefined) return { how: 'failed', name, lines };
    return undefined;
  };

  const first = await answer();
  if (first) return first;
  // not queued by PostgreSQL: nothing for a pusher to find, store it here
  if (!existsSync(path.join(pgWal, 'archive_status', `${name}.ready`))) return direct(t, file, undefined, spool);

  let holder = spool.lockHolder();
  if (holder && holder.pgWal !== pgWal) {
    throw new LifeboatError('USAGE', `the spool ${spool.dir} belongs to the pusher of another data directory (${holder.pgWal}), not ${pgWal}`, {
      hint: 'give each PostgreSQL cluster its own cluster name or walArchive.spoolDir',
    });
  }
  let starts = 0;
  const ensurePusher = async (storing?: string): Promise<boolean> => {
    holder = spool.lockHolder();
    if (holder || spool.starting()) return true;
    if (starts >= 3) return false;
    starts++;
    return startPusher(t, spool, pgWal, o, storing);
  };

  // the bound: too much WAL waiting fails loudly (the pusher keeps draining)
  const ready = await readyNames(pgWal);
  const acked = new Set(await spool.names('ok'));
  const waiting = ready.filter((n) => !acked.has(n)).length;
  if (waiting > t.walArchive.maxQueue) {
    if (!spool.starting()) await ensurePusher();
    return { how: 'failed', name, lines: errorLines(queueFullError(waiting, t, spool.logFile)) };
  }

  if (!holder && !spool.starting()) {
    // No pusher: store this file now rather than wait for one to start (a lone
    // segment after a quiet spell costs what sync archiving costs); start one
    // for the others waiting behind it.
    if (waiting > 1) await ensurePusher(name);
    return direct(t, file, undefined, spool);
  }

  let wake: (() => void) | undefined;
  const watchers: FSWatcher[] = [];
  for (const dir of [spool.okDir, spool.errorDir]) {
    try {
      const w = watch(dir, () => wake?.());
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      /* poll */
    }
  }
  try {
    const deadline = Date.now() + t.walArchive.waitSeconds * 1000;
    let lastCheck = Date.now();
    while (Date.now() < deadline) {
      const a = await answer();
      if (a) return a;
      if (Date.now() - lastCheck > 500) {
        lastCheck = Date.now();
        if (!spool.lockHolder() && !spool.starting()) {
          // the pusher left (idle just now, or killed): start another, or store it here
          await new Promise((r) => setTimeout(r, 50));
          const b = await answer();
          if (b) return b;
          if (!(await ensurePusher())) return direct(t, file, `the background pusher stopped and could not be restarted; stored ${name} directly`);
        }
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 100);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      wake = undefined;
    }
  } finally {
    for (const w of watchers) w.close();
  }
  const e = new LifeboatError('STORAGE_FAILED', `the background pusher did not store ${name} within walArchive.waitSeconds (${t.walArchive.waitSeconds} s); PostgreSQL retries`, {
    hint: `see ${spool.logFile}`,
  });
  return { how: 'failed', name, lines: errorLines(toLifeboatError(e)) };
}
