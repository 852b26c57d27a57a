import { expect, test } from 'vitest';
import { toolError } from '../../src/core/exec.js';

// An agent started from a directory its user cannot enter (runuser/sudo from
// root's home) could not start any tool, and said only "psql failed (failure)".
test('a tool that cannot be started says why, not "failed (failure)"', async () => {
  const e = toolError('psql', Object.assign(new Error('spawn psql EACCES'), { code: 'EACCES' }));
  expect(e.message).toMatch(/^psql could not be started: EACCES \(permission denied; is the working directory .+ readable/);
  expect(e.hint).toMatch(/cd \//);
});
