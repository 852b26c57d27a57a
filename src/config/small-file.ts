import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { currentOsUser, deniedBecause, describeStat, groupNameOf } from '../core/access.js';
import { LifeboatError, osUserName } from '../core/errors.js';

/** A config is a few KiB; a bigger file is the wrong file (or /dev/zero). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * Read a small file Lifeboat owns or is pointed at (config, state, job specs)
 * with a size cap: a regular file only (not /dev/zero, a FIFO or a directory),
 * at most `maxBytes`, else one error naming the file. Reading stops at the cap
 * even when the file grows while being read.
 */
export function readSmallFile(file: string, what: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw unreadable(what, file, err);
    throw new LifeboatError('CONFIG_INVALID', `${what} ${file}: cannot be read (${code ?? (err as Error).message})`, { hint: `check the path ${file}` });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LifeboatError('CONFIG_INVALID', `${what} ${file} is not a regular file`, { hint: `point it at a JSON file` });
    if (st.size > maxBytes) throw new LifeboatError('CONFIG_INVALID', `${what} ${file} is ${st.size} bytes, more than the ${maxBytes} a ${what} can be`, { hint: `check that ${file} is the right file` });
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r === 0) break;
      n += r;
      if (n > maxBytes) throw new LifeboatError('CONFIG_INVALID', `${what} ${file} is more than ${maxBytes} bytes`, { hint: `check that ${file} is the right file` });
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A file this OS user may not read (EACCES), named as such: which user, what
 * stops it (the file's mode, or a directory above it such as a 0700 home) and
 * what to change. Not "no config found": the server's OS user running
 * archive_command against root's config must learn that the file is there.
 */
export function unreadable(what: string, file: string, cause?: unknown, more = ''): LifeboatError {
  const me = osUserName();
  const denial = deniedBecause(file, 'read', currentOsUser(me));
  const seen = existsSync(file);
  const why = denial?.text ?? (seen ? `${file} is ${describeStat(statSync(file))} (an ACL or the mount may deny it)` : (cause as Error | undefined)?.message ?? 'permission denied');
  const group = groupNameOf(process.getegid?.() ?? -1);
  const hint = denial?.kind === 'enter'
    ? `${me} must be able to read it: put it where ${me} can${what === 'config' ? ` (e.g. /etc/lifeboat/config.json, owner root, group ${group}, mode 640) and point --config there` : ''}, or run lifeboat as ${me} with its own ${what}`
    : `let ${me} read it (chgrp ${group} ${file} && chmod g+r ${file}), or run lifeboat as ${me} with its own ${what}`;
  return new LifeboatError('FILE_ACCESS', `${what} ${file} ${seen ? 'exists' : 'may exist'} but user ${me} may not read it: ${why}${more}`, { hint, ...(cause ? { cause } : {}) });
}
