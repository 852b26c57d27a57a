import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { AgentState } from '../../src/runtime/state.js';
import { readSmallFile } from '../../src/config/small-file.js';

// Issue 10 items 11 and 17: files Lifeboat writes are 0600 whatever the umask;
// files it reads are bounded and must be regular files.

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('state.json is written 0600 under umask 000, and an old 0644 one is tightened', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-modes-'));
  dirs.push(dir);
  const old = process.umask(0);
  try {
    const state = new AgentState(path.join(dir, 'state'));
    await state.update((d) => void (d.plans = {}));
    expect((await stat(path.join(dir, 'state', 'state.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'state'))).mode & 0o777).toBe(0o700);
    await writeFile(path.join(dir, 'state', 'state.json'), '{"version":1,"jobs":[],"catalog":{},"plans":{}}', { mode: 0o644 });
    const again = new AgentState(path.join(dir, 'state'));
    expect((await stat(path.join(dir, 'state', 'state.json'))).mode & 0o777).toBe(0o600);
    expect((await again.read()).version).toBe(1);
  } finally {
    process.umask(old);
  }
});

test('small files: /dev/zero, a directory and an oversized file are refused, naming the file', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-small-'));
  dirs.push(dir);
  expect(() => readSmallFile('/dev/zero', 'config', 1024)).toThrow(/config \/dev\/zero is not a regular file/);
  expect(() => readSmallFile('/dev/urandom', 'config', 1024)).toThrow(/is not a regular file/);
  expect(() => readSmallFile(dir, 'config', 1024)).toThrow(new RegExp(`config ${dir} is not a regular file`));
  const big = path.join(dir, 'big.json');
  await writeFile(big, 'x'.repeat(2048));
  expect(() => readSmallFile(big, 'config', 1024)).toThrow(new RegExp(`config ${big} is 2048 bytes, more than the 1024`));
  expect(readSmallFile(big, 'config', 4096)).toHaveLength(2048);
});
