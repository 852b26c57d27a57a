import { mkdir, mkdtemp, readdir, rm, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bodyOf, readAll, stallingBody, storageConformance } from '../../src/core/testing/index.js';
import { createLocalStorage, removeStaleTemps, type LocalStorage } from '../../src/storage/local/index.js';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'lifeboat-local-'));
}

/** `root` does not exist yet: the storage must create it. */
storageConformance('local', async () => {
  const dir = await tempDir();
  return {
    storage: createLocalStorage(path.join(dir, 'repo')),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

async function errorOf(p: Promise<unknown>): Promise<{ code?: string; message?: string; hint?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string };
  }
  throw new Error('expected a rejection');
}

async function allFiles(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

async function listKeys(storage: LocalStorage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of storage.list(prefix)) keys.push(info.key);
  return keys;
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('LocalStorage specifics', () => {
  let dir: string;
  let root: string;
  let storage: LocalStorage;

  beforeEach(async () => {
    dir = await tempDir();
    root = path.join(dir, 'repo');
    storage = createLocalStorage(root);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('describes itself and creates files 0600, directories 0700', async () => {
    expect(storage.description).toBe(`local:${root}`);
    expect(storage.capabilities).toEqual({ randomAccess: true, atomicReplace: true, connections: 4 });
    await storage.put('m/a/obj', bodyOf('x'));
    expect(await mode(root)).toBe(0o700);
    expect(await mode(path.join(root, 'm'))).toBe(0o700);
    expect(await mode(path.join(root, 'm/a'))).toBe(0o700);
    expect(await mode(path.join(root, 'm/a/obj'))).toBe(0o600);
  });

  it('leaves no temp file after a failed or aborted put', async () => {
    await storage.put('t/keep', bodyOf('keep'));
    const failing = stallingBody(Buffer.alloc(4096, 1));
    const put = storage.put('t/obj', failing.stream);
    await failing.stalled;
    failing.fail(new Error('boom'));
    expect((await errorOf(put)).code).toBe('STORAGE_FAILED');

    const ac = new AbortController();
    const slow = stallingBody(Buffer.alloc(4096, 2));
    const aborted = storage.put('t/obj', slow.stream, { signal: ac.signal });
    await slow.stalled;
    ac.abort();
    expect((await errorOf(aborted)).code).toBe('CANCELLED');

    expect(await storage.put('t/keep', bodyOf('x'), { ifNoneMatch: true }).catch((e: { code: string }) => e.code)).toBe(
      'STORAGE_FAILED',
    );
    expect(await allFiles(root)).toEqual(['t', 't/keep']);
  });

  it('maps ENOSPC to STORAGE_FAILED with a hint', async () => {
    const body = new Readable({
      read() {
        this.destroy(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
      },
    });
    const err = await errorOf(storage.put('full/obj', body));
    expect(err).toMatchObject({ code: 'STORAGE_FAILED', message: 'no space left on device' });
    expect(err.hint).toBeTruthy();
  });

  it('refuses keys that escape the root through a symbolic link', async () => {
    const outside = path.join(dir, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'secret'), 'secret');
    await storage.put('real/obj', bodyOf('inside'));
    await symlink(outside, path.join(root, 'evil'));
    await symlink(path.join(outside, 'secret'), path.join(root, 'leak'));
    await symlink(path.join(root, 'real'), path.join(root, 'alias'));

    for (const key of ['evil/x', 'evil/sub/x']) expect((await errorOf(storage.put(key, bodyOf('x')))).code).toBe('KEY_INVALID');
    expect((await errorOf(storage.get('evil/secret'))).code).toBe('KEY_INVALID');
    expect((await errorOf(storage.get('leak'))).code).toBe('KEY_INVALID');
    expect((await errorOf(storage.stat('evil/secret'))).code).toBe('KEY_INVALID');
    expect((await errorOf(storage.delete('evil/secret'))).code).toBe('KEY_INVALID');
    expect((await errorOf(listKeys(storage, 'evil/'))).code).toBe('KEY_INVALID');
    expect(await allFiles(outside)).toEqual(['secret']);

    // Listing never follows links; a link that stays inside the root works for direct access.
    expect(await listKeys(storage, '')).toEqual(['real/obj']);
    expect((await readAll(await storage.get('alias/obj'))).toString()).toBe('inside');
  });

  it('rejects keys using the reserved temp name', async () => {
    expect((await errorOf(storage.put('a/.lifeboat-tmp-x', bodyOf('x')))).code).toBe('KEY_INVALID');
    expect((await errorOf(storage.stat('.lifeboat-tmp-x/a'))).code).toBe('KEY_INVALID');
  });

  it('clamps ranges past the end, rejects invalid ones, surfaces truncation as a stream error', async () => {
    await storage.put('r', bodyOf(Buffer.alloc(100, 7)));
    expect((await readAll(await storage.get('r', { range: [90, 500] }))).length).toBe(10);
    expect((await readAll(await storage.get('r', { range: [100, 200] }))).length).toBe(0);
    expect((await errorOf(storage.get('r', { range: [5, 1] }))).code).toBe('STORAGE_FAILED');

    await storage.put('big', bodyOf(Buffer.alloc(1024 * 1024, 1)));
    const stream = await storage.get('big');
    await truncate(path.join(root, 'big'), 1000);
    expect((await errorOf(readAll(stream))).code).toBe('STORAGE_FAILED');
  });

  it('removeStaleTemps removes old temp files only', async () => {
    expect(await removeStaleTemps(root, 0)).toEqual([]); // root missing
    await mkdir(path.join(root, 'a'), { recursive: true });
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const name of ['a/.lifeboat-tmp-old', '.lifeboat-tmp-old2', 'a/.lifeboat-tmp-new', 'a/regular']) {
      await writeFile(path.join(root, name), 'x');
      if (!name.endsWith('new')) await utimes(path.join(root, name), old, old);
    }
    await mkdir(path.join(root, 'b', 'c'), { recursive: true });
    await writeFile(path.join(root, 'b/c/.lifeboat-tmp-lone'), 'xyz');
    await utimes(path.join(root, 'b/c/.lifeboat-tmp-lone'), old, old);
    const dry = await removeStaleTemps(root, 3600_000, { dryRun: true });
    expect(dry.map((r) => r.rel).sort()).toEqual(['.lifeboat-tmp-old2', 'a/.lifeboat-tmp-old', 'b/c/.lifeboat-tmp-lone']);
    expect(await allFiles(root)).toContain('b/c/.lifeboat-tmp-lone'); // a dry run removes nothing
    const removed = await removeStaleTemps(root, 3600_000);
    expect(removed.sort((x, y) => x.rel.localeCompare(y.rel))).toEqual([
      { rel: '.lifeboat-tmp-old2', size: 1 },
      { rel: 'a/.lifeboat-tmp-old', size: 1 },
      { rel: 'b/c/.lifeboat-tmp-lone', size: 3 },
    ]);
    // the directories a temp file leaves empty go too (b/c, then b); a directory with other files stays
    expect(await allFiles(root)).toEqual(['a', 'a/.lifeboat-tmp-new', 'a/regular']);
  });
});
