import { readFileSync } from 'node:fs';

/** Does a process with this pid exist (ours or, EPERM, another user's)? */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The kernel's start time of a process (field 22 of /proc/<pid>/stat, clock
 * ticks since boot): with the pid it names one process for good, so a reused
 * pid is never mistaken for it. Undefined where /proc is not available.
 */
export function processStart(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
