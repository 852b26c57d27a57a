import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { deniedBecause, describeStat, userNameOf } from '../../src/core/access.js';
import { statSync } from 'node:fs';

// Why an OS user may not use a path, from the mode bits (issue 11 item 9).
let dir: string;
const other = { name: 'someone', uid: 4_000_123, gids: [4_000_123] }; // owns nothing here
const me = () => ({ name: 'me', uid: process.geteuid!(), gids: process.getgroups!() });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-access-'));
  await mkdir(path.join(dir, 'home', 'sub'), { recursive: true });
  await writeFile(path.join(dir, 'home', 'sub', 'config.json'), '{}', { mode: 0o600 });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('a directory above it that may not be entered is named, with its mode and owner', async () => {
  await chmod(dir, 0o755);
  await chmod(path.join(dir, 'home'), 0o700);
  const d = deniedBecause(path.join(dir, 'home', 'sub', 'config.json'), 'read', other);
  const owner = `${userNameOf(process.geteuid!())}`;
  expect(d).toMatchObject({ kind: 'enter', path: path.join(dir, 'home') });
  expect(d!.text).toMatch(new RegExp(`^${path.join(dir, 'home')} is drwx------ ${owner}:\\S+ \\(someone may not enter it\\)$`));
  expect(deniedBecause(path.join(dir, 'home', 'sub', 'config.json'), 'read', me())).toBeUndefined();
});

test('the file itself; a directory to write in; what does not exist', async () => {
  await chmod(path.join(dir, 'home'), 0o755);
  const file = path.join(dir, 'home', 'sub', 'config.json');
  expect(deniedBecause(file, 'read', other)).toMatchObject({ kind: 'use', path: file, text: expect.stringContaining('-rw------- ') });
  await chmod(file, 0o644);
  expect(deniedBecause(file, 'read', other)).toBeUndefined();
  // a write target not made yet is judged where it would be created
  expect(deniedBecause(path.join(dir, 'home', 'sub', 'wal', 'x'), 'write', other)).toMatchObject({ kind: 'use', path: path.join(dir, 'home', 'sub'), text: expect.stringContaining('(someone may not write in it)') });
  expect(deniedBecause(path.join(dir, 'home', 'nothing.json'), 'read', other)).toMatchObject({ kind: 'missing' });
  // the owner's class decides, even when the group's or others' bits would allow more
  await chmod(file, 0o044);
  expect(deniedBecause(file, 'read', me())?.text ?? 'root reads anything').toMatch(process.geteuid!() === 0 ? /root reads anything/ : /may not read it/);
  expect(describeStat(statSync(file))).toMatch(/^----r--r-- /);
});
