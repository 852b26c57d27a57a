import os from 'node:os';
import path from 'node:path';

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

/** Where state (job log, cache, locks, WAL spool) lives, given the config's `stateDir`. */
export function stateDirPath(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  if (env.LIFEBOAT_STATE_DIR) return path.resolve(env.LIFEBOAT_STATE_DIR);
  if (process.getuid?.() === 0) return '/var/lib/lifeboat';
  const xdg = env.XDG_STATE_HOME || path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(xdg, 'lifeboat');
}
