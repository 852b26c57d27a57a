import { readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/**
 * Why an OS user may not use a path, in words an admin can act on
 * ("/root is drwx------ root:root"), worked out from the mode bits of the path
 * and every directory above it. Used to explain an EACCES this process got,
 * and to tell whether another OS user (the one the server runs archive_command
 * as) can read the config and write the repository. Mode bits only: ACLs and
 * mount options are not seen (callers that can ask the OS do so for the verdict).
 */

/** An OS user as the kernel checks it: uid and every group id. */
export interface OsUser {
  name: string;
  uid: number;
  gids: number[];
}

/** read: open a file; write: create and replace entries in a directory; exec: run a file. */
export type AccessWant = 'read' | 'write' | 'exec';

/** This process's user (effective ids). */
export function currentOsUser(name: string): OsUser {
  return { name, uid: process.geteuid?.() ?? -1, gids: process.getgroups?.() ?? [] };
}

function idName(file: string, id: number): string {
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[2] === String(id) && f[0]) return f[0];
    }
  } catch {
    // no /etc/passwd (or /etc/group) readable: the number says it
  }
  return String(id);
}

/** The name of a uid (/etc/passwd), else the number. */
export const userNameOf = (uid: number): string => idName('/etc/passwd', uid);

/** The name of a gid (/etc/group), else the number. */
export const groupNameOf = (gid: number): string => idName('/etc/group', gid);

/** `drwx------ root:root`: mode, owner and group of a path, as ls shows them. */
export function describeStat(st: Stats): string {
  const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => ((st.mode >> (8 - i)) & 1 ? c : '-')).join('');
  return `${kind}${bits} ${userNameOf(st.uid)}:${groupNameOf(st.gid)}`;
}

function allows(st: Stats, who: OsUser, bit: 4 | 2 | 1): boolean {
  if (who.uid === 0) return bit !== 1 || st.isDirectory() || (st.mode & 0o111) !== 0;
  const shift = st.uid === who.uid ? 6 : who.gids.includes(st.gid) ? 3 : 0; // the owner's class wins, even when it grants less
  return ((st.mode >> shift) & bit) !== 0;
}

function statOf(p: string): { st?: Stats; code?: string } {
  try {
    return { st: statSync(p) };
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code ?? 'EIO' };
  }
}

/** The deepest part of `abs` this process can stat, and why the next one could not be. */
function walkUp(abs: string): { existing: string; missing?: string } {
  let existing = abs;
  let missing: string | undefined;
  for (let s = statOf(existing); !s.st && path.dirname(existing) !== existing; s = statOf(existing)) {
    missing = s.code;
    existing = path.dirname(existing);
  }
  return missing === undefined ? { existing } : { existing, missing };
}

/** The deepest existing part of a path (where something new under it would be created). */
export const deepestExisting = (target: string): string => walkUp(path.resolve(target)).existing;

/** Why an OS user may not use a path: which path stops it, and how. */
export interface Denial {
  /** The path that stops it: a directory above the target, the deepest existing one, or the target. */
  path: string;
  /** enter: a directory above may not be searched; use: the path itself (read, write in, run); missing: not there. */
  kind: 'enter' | 'use' | 'missing';
  /** One line: `/root is drwx------ root:root (postgres may not enter it)`. */
  text: string;
}

/**
 * Why `who` may not use `target` for `want`, or undefined when the mode bits
 * allow it (or this process cannot see enough to tell). A write target that
 * does not exist yet is judged by the deepest directory that does (where it
 * would be created). Stats are taken as this process.
 */
export function deniedBecause(target: string, want: AccessWant, who: OsUser): Denial | undefined {
  const abs = path.resolve(target);
  const { existing, missing } = walkUp(abs);
  const parts = existing.split(path.sep).filter(Boolean);
  const dirs = parts.map((_, i) => path.sep + parts.slice(0, i).join(path.sep));
  if (existing !== abs) dirs.push(existing);
  for (const dir of dirs) {
    const { st } = statOf(dir);
    if (st && !allows(st, who, 1)) return { path: dir, kind: 'enter', text: `${dir} is ${describeStat(st)} (${who.name} may not enter it)` };
  }
  const { st } = statOf(existing);
  if (!st) return undefined;
  if (existing !== abs) {
    if (missing !== 'ENOENT' && missing !== 'ENOTDIR') return undefined; // this process may not look further: cannot tell
    if (want !== 'write') return { path: abs, kind: 'missing', text: `${abs} does not exist` };
  }
  const use = (verb: string): Denial => ({ path: existing, kind: 'use', text: `${existing} is ${describeStat(st)} (${who.name} may not ${verb})` });
  if (want === 'read' && !allows(st, who, 4)) return use('read it');
  if (want === 'exec' && !allows(st, who, 1)) return use('run it');
  if (want === 'write') {
    if (!st.isDirectory()) return { path: existing, kind: 'use', text: `${existing} is not a directory` };
    if (!allows(st, who, 2) || !allows(st, who, 1)) return use('write in it');
  }
  return undefined;
}
