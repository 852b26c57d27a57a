import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { splitExitMark, withExitMark } from '../../src/fleet/ssh-transport.js';

// runRemote's commands also print their exit status as a last line, for the
// channel that closes without an exit-status message (seen on a loaded host).
// Run the wrapped commands with sh, as an SSH server's login shell does.
const run = (cmd: string) => {
  const r = spawnSync('sh', ['-c', withExitMark(cmd)], { encoding: 'utf8' });
  return { status: r.status, ...splitExitMark(r.stdout), stderr: r.stderr };
};

describe('the exit mark', () => {
  test.each([
    ['printf %s hello', 0, 'hello'],
    ['echo two; echo lines', 0, 'two\nlines\n'],
    ['printf ""', 0, ''],
    ['exit 3', 3, ''],
    ['false', 1, ''],
    ['/no/such/tool --version', 127, ''],
  ])('%s: the status is kept, stdout is what the command printed', (cmd, status, stdout) => {
    const r = run(cmd);
    expect(r.status).toBe(status);
    expect(r.stdout).toBe(stdout);
    // an explicit exit skips the mark: then only the server's exit-status tells
    if (!cmd.startsWith('exit')) expect(r.code).toBe(status);
  });

  test('a command killed before the mark leaves stdout as it was and no status', () => {
    expect(splitExitMark('partial output')).toEqual({ stdout: 'partial output' });
  });
});
