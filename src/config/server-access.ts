import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { deepestExisting, deniedBecause, type AccessWant, type Denial, type OsUser } from '../core/access.js';

/**
 * Can another OS user (the one PostgreSQL runs archive_command as) use a path?
 * The verdict comes from the OS where it can be asked: access(2) when that user
 * is this process's, `runuser ... test` when this process is root (ACLs, groups
 * and mount options count); otherwise from the mode bits alone. The reason
 * always comes from the mode bits of the path and the directories above it.
 */

/** uid and groups of an OS user (`id`), or undefined when there is no such user. */
export function lookupOsUser(name: string): OsUser | undefined {
  try {
    const id = (args: string[]) => execFileSync('id', [...args, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return { name, uid: Number(id(['-u'])), gids: id(['-G']).split(/\s+/).map(Number) };
  } catch {
    return undefined;
  }
}

/** The primary group name of an OS user (for chgrp lines), else the user's name. */
export function primaryGroup(name: string): string {
  try {
    return execFileSync('id', ['-gn', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || name;
  } catch {
    return name;
  }
}

function osAllows(user: OsUser, target: string, want: AccessWant): boolean | undefined {
  const at = want === 'write' ? deepestExisting(target) : target;
  if (process.geteuid?.() === user.uid) {
    try {
      accessSync(at, want === 'read' ? constants.R_OK : want === 'exec' ? constants.X_OK : constants.W_OK | constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }
  if (process.geteuid?.() !== 0) return undefined;
  const test = want === 'read' ? ['-r', at] : want === 'exec' ? ['-x', at] : ['-w', at, '-a', '-x', at];
  try {
    execFileSync('runuser', ['-u', user.name, '--', 'test', ...test], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as { status?: number }).status === 1 ? false : undefined; // runuser itself failed: cannot tell
  }
}

/** Why `user` may not use `target` for `want`; undefined when it may (or nothing can tell). */
export function deniedTo(user: OsUser, target: string, want: AccessWant): Denial | undefined {
  const bits = deniedBecause(target, want, user);
  const os = osAllows(user, target, want);
  if (os === true) return undefined;
  if (os === false && !bits) return { path: target, kind: 'use', text: `${target}: ${user.name} may not ${want === 'write' ? 'write there' : want === 'exec' ? 'run it' : 'read it'} (an ACL or the mount denies it)` };
  return bits;
}
