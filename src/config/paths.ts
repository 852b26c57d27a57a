import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unreadable } from './small-file.js';

// Where the config and the state live. No zod here: the WAL hooks
// (src/wal/target.ts) use the same lookup without loading the schema.

/** Where the agent looks for its config, in order. */
export function configCandidates(explicit?: string, env: NodeJS.ProcessEnv = process.env): { path: string; source: string }[] {
  if (explicit) return [{ path: path.resolve(explicit), source: '--config' }];
  if (env.LIFEBOAT_CONFIG) return [{ path: path.resolve(env.LIFEBOAT_CONFIG), source: '$LIFEBOAT_CONFIG' }];
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return [
    { path: path.join(xdg, 'lifeboat', 'config.json'), source: 'XDG config dir' },
    { path: '/etc/lifeboat/config.json', source: '/etc/lifeboat' },
  ];
}

/**
 * The first candidate that is there. One this OS user may not even look for
 * (a directory above it it may not enter, like root's 0700 home, where
 * `runuser` keeps HOME) is named in an error when no later candidate is there,
 * never taken for "no config exists".
 */
export function findConfig(candidates: { path: string; source: string }[]): { path: string; source: string } | undefined {
  let blocked: { path: string; err: unknown } | undefined;
  for (const c of candidates) {
    try {
      statSync(c.path);
      return c;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'EACCES' || code === 'EPERM') && !blocked) blocked = { path: c.path, err };
      // ENOENT, ENOTDIR, ELOOP...: not there; the next candidate
    }
  }
  if (!blocked) return undefined;
  const others = candidates.map((c) => c.path).filter((p) => p !== blocked!.path);
  throw unreadable('config', blocked.path, blocked.err, others.length ? ` (and there is none in ${others.join(', ')})` : '');
}

/** Where state (job log, cache, locks, WAL spool) lives, given the config's `stateDir`. */
export function stateDirPath(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  if (env.LIFEBOAT_STATE_DIR) return path.resolve(env.LIFEBOAT_STATE_DIR);
  if (process.getuid?.() === 0) return '/var/lib/lifeboat';
  const xdg = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(xdg, 'lifeboat');
}
