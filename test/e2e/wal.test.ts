import { spawn } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type PgCluster } from '../harness/pg.js';
import { BIN, lifeboat, workspace, type Workspace } from '../helpers/cli.js';

let pg: PgCluster;
let ws: Workspace;
const SEG = '000000010000000000000042';

async function walKeys(): Promise<string[]> {
  const dir = path.join(ws.repo, 'pg', 'wal');
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath ?? (e as any).path, e.name)));
  }
  return out.sort();
}

beforeAll(async () => {
  pg = await startCluster({ name: 'wal' });
  ws = await workspace(pg);
});

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
});

describe('wal push and fetch (archive_command / restore_command)', () => {
  test('push stores the segment compressed under its sha256; fetch brings it back byte for byte', async () => {
    const file = path.join(ws.dir, SEG);
    const content = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < content.length; i += 4096) content.write(`page ${i} `, i);
    await writeFile(file, content);
    const r = await lifeboat(['wal', 'push', file], { config: ws.config });
    expect(r.code, r.stderr).toBe(0);
    const keys = await walKeys();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^0000000100000000/${SEG}-[0-9a-f]{64}\\.zst$`));
    expect((await stat(path.join(ws.repo, 'pg', 'wal', keys[0]!))).size).toBeLessThan(content.length / 10);

    const dest = path.join(ws.dir, 'restored-seg');
    const f = await lifeboat(['wal', 'fetch', SEG, dest], { config: ws.config });
    expect(f.code, f.stderr).toBe(0);
    expect((await readFile(dest)).equals(content)).toBe(true);
  });

  test('pushing the same content twice succeeds; different content under that name is refused, the original kept', async () => {
    const file = path.join(ws.dir, SEG);
    const again = await lifeboat(['wal', 'push', file], { config: ws.config });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/already archived with the same content/);
    const before = await walKeys();

    const other = path.join(ws.dir, 'other', SEG);
    await mkdir(path.dirname(other), { recursive: true });
    await writeFile(other, Buffer.alloc(16 * 1024 * 1024, 7));
    const bad = await lifeboat(['wal', 'push', other], { config: ws.config });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/already archived with different content \(archived sha256 [0-9a-f]{64}, new [0-9a-f]{64}\); the archived copy is kept/);
    expect(await walKeys()).toEqual(before);
    const dest = path.join(ws.dir, 'restored-again');
    expect((await lifeboat(['wal', 'fetch', SEG, dest], { config: ws.config })).code).toBe(0);
    expect((await readFile(dest)).equals(await readFile(file))).toBe(true);
  });

  test('fetch of a file the archive lacks exits 1 without a word; bad names are refused', async () => {
    const r = await lifeboat(['wal', 'fetch', '00000002.history', path.join(ws.dir, 'x')], { config: ws.config });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    const hostile = await lifeboat(['wal', 'fetch', '../../etc/passwd', path.join(ws.dir, 'x')], { config: ws.config });
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).toMatch(/is not a WAL file name/);
  });

  test('SIGKILL during a push leaves no visible partial segment; the next push succeeds', async () => {
    const name = '000000010000000000000043';
    const file = path.join(ws.dir, name);
    // incompressible and large, so the push is still running when it is killed
    const { randomBytes } = await import('node:crypto');
    await writeFile(file, randomBytes(256 * 1024 * 1024));
    const child = spawn(process.execPath, [BIN, '--config', ws.config, 'wal', 'push', file], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 600));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    expect((await walKeys()).filter((k) => k.includes(name))).toEqual([]);
    const r = await lifeboat(['wal', 'push', file], { config: ws.config });
    expect(r.code, r.stderr).toBe(0);
    expect((await walKeys()).filter((k) => k.includes(name) && !k.includes('.lifeboat-tmp-'))).toHaveLength(1);
  });
});

// The server runs as the postgres OS user (tests run as root): it must be able to
// read this checkout to run lifeboat as its archive_command; skipped when it cannot.
const serverCanRunLifeboat =
  process.getuid?.() !== 0 || (await execa('runuser', ['-u', 'postgres', '--', 'test', '-r', BIN], { reject: false })).exitCode === 0;

describe('PostgreSQL archiving through lifeboat', () => {
  test.skipIf(!serverCanRunLifeboat)('archive_command pushes switched segments; pg_stat_archiver shows no failure', async () => {
    // the server runs as its own OS user: give it the workspace (config, repository)
    const archiver = await startCluster({ name: 'archiver', settings: { archive_mode: 'on', archive_timeout: '0' } });
    const w = await workspace(archiver);
    try {
      if (process.getuid?.() === 0) await execa('chown', ['-R', `${archiver.osUser}:`, w.dir]);
      await chmod(w.dir, 0o755);
      const cmd = `${process.execPath} ${BIN} --config ${w.config} wal push %p`;
      await archiver.psql(`ALTER SYSTEM SET archive_command = '${cmd.replaceAll("'", "''")}'`);
      await archiver.psql('SELECT pg_reload_conf()');
      await archiver.psql('CREATE TABLE t AS SELECT generate_series(1, 10000) x');
      const seg = await archiver.psql('SELECT pg_walfile_name(pg_current_wal_lsn())');
      await archiver.psql('SELECT pg_switch_wal()');
      await expect.poll(async () => archiver.psql('SELECT archived_count FROM pg_stat_archiver'), { timeout: 20_000, interval: 200 }).not.toBe('0');
      expect(await archiver.psql('SELECT failed_count FROM pg_stat_archiver')).toBe('0');
      const dest = path.join(w.dir, 'fetched');
      const f = await lifeboat(['wal', 'fetch', seg, dest], { config: w.config });
      expect(f.code, f.stderr).toBe(0);
      expect((await stat(dest)).size).toBe(16 * 1024 * 1024);
    } finally {
      await archiver.stop();
      await w.cleanup();
    }
  });
});

describe.skipIf(process.getuid?.() !== 0)('as the server\'s OS user (issue 11 item 9)', () => {
  // root set lifeboat up (config 0600 in its 0700 home, repository 0700): PostgreSQL runs the hook as postgres
  const asPostgres = (args: string[], env: Record<string, string> = {}) => // runuser sets HOME: env(1) sets it again
    execa('runuser', ['-u', 'postgres', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, ...args], { reject: false, env: { NO_COLOR: '1', LIFEBOAT_CONFIG: '' } });
  test('a config or repository it may not read is named with what stops it, not "no lifeboat config found"', async () => {
    await chmod(ws.dir, 0o755);
    const home = path.join(ws.dir, 'roothome');
    const cfg = path.join(home, '.config', 'lifeboat', 'config.json');
    await mkdir(path.dirname(cfg), { recursive: true, mode: 0o755 });
    await chmod(home, 0o700);
    await writeFile(cfg, await readFile(ws.config), { mode: 0o600 });
    const seg = path.join(ws.dir, 'segs', SEG);
    await mkdir(path.dirname(seg), { recursive: true, mode: 0o755 });
    await writeFile(seg, Buffer.alloc(16 * 1024 * 1024, 3), { mode: 0o644 });

    for (const r of [await asPostgres(['--config', cfg, 'wal', 'push', seg]), await asPostgres(['wal', 'push', seg], { HOME: home, XDG_CONFIG_HOME: '' })]) {
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).not.toMatch(/no lifeboat config found/);
      expect(r.stderr).toContain(`lifeboat: wal push: config ${cfg} may exist but user postgres may not read it: ${home} is drwx------ root:root (postgres may not enter it)`);
      expect(r.stderr).toMatch(/hint: postgres must be able to read it: put it where postgres can \(e\.g\. \/etc\/lifeboat\/config\.json/);
    }
    await chmod(home, 0o755);
    const file = await asPostgres(['--config', cfg, 'wal', 'push', seg]);
    expect(file.stderr).toContain(`config ${cfg} exists but user postgres may not read it: ${cfg} is -rw------- root:root (postgres may not read it)`);
    expect(file.stderr).toContain(`hint: let postgres read it (chgrp postgres ${cfg} && chmod g+r ${cfg})`);
    await chmod(cfg, 0o644);
    const repo = await asPostgres(['--config', cfg, 'wal', 'push', seg]);
    expect(repo.exitCode).not.toBe(0);
    expect(repo.stderr).toContain(`permission denied: postgres may not use ${ws.repo}/lifeboat.json (realpath): ${ws.repo} is drwx------ root:root (postgres may not enter it)`);
    expect(repo.stderr).toContain(`hint: give postgres access to ${ws.repo}`);
  });
});
