import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { prune } from '../../src/agent/runner.js';

// A runner killed before it wrote its record left ID.spec.json and ID.log that
// no job lists and nothing removed (found by the kill -9 test).
test('prune removes the files of a job without a record once they are old, and nothing else', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-jobs-'));
  try {
    const old = new Date(Date.now() - 3600_000);
    const files: Record<string, boolean> = {
      '20261204010000-aaaaaa.spec.json': true, // orphan, old: goes
      '20261204010000-aaaaaa.log': true,
      '20261204020000-bbbbbb.spec.json': false, // orphan but new: a runner may be starting
      '20261204030000-cccccc.json': false, // a record: its files stay
      '20261204030000-cccccc.log': false,
      'notes.txt': false,
    };
    for (const [name, isOld] of Object.entries(files)) {
      await writeFile(path.join(dir, name), name.endsWith('.json') && name.includes('cccccc') ? JSON.stringify({ id: '20261204030000-cccccc', type: 'backup', params: {}, pid: 1, startedAt: old.toISOString(), status: 'succeeded', finishedAt: old.toISOString(), steps: [], bytes: 0 }) : 'x');
      if (isOld || name.includes('cccccc')) await utimes(path.join(dir, name), old, old);
    }
    prune(dir);
    expect((await readdir(dir)).sort()).toEqual(['20261204020000-bbbbbb.spec.json', '20261204030000-cccccc.json', '20261204030000-cccccc.log', 'notes.txt']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
