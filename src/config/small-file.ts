import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { LifeboatError } from '../core/errors.js';

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
    throw new LifeboatError('CONFIG_INVALID', `${what} ${file}: cannot be read (${code ?? (err as Error).message})`, {
      hint: code === 'EACCES' ? `give the agent's OS user read access to ${file}` : `check the path ${file}`,
    });
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
