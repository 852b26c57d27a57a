import { readFileSync } from 'node:fs';

/**
 * Does a process with this pid run (ours or, EPERM, another user's)? A zombie
 * does not: killed and never reaped (a container whose pid 1 reaps nothing),
 * it still answers kill(0) but holds no lock and does no work.
 */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc: kill(0) answered
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
