import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type PgCluster } from '../harness/pg.js';
import { allCommands, BIN, lifeboat, lifeboatClosedStdout, workspace, type Workspace } from '../helpers/cli.js';

// How the CLI reports what happened (issue 11): a job's own failure versus a
// lost connection, usage errors before any job starts, a closed stdout,
// suggested commands that carry the user's --config, and --quiet for cron.

let pg: PgCluster;
let ws: Workspace;
/** A workspace whose cluster refuses connections (nothing listens on port 1). */
let dead: Workspace;

const jobsOf = async (w: Workspace): Promise<{ id: string; type: string; status: string; error?: { code: string; message: string } }[]> => {
  const r = await lifeboat(['--json', 'jobs', 'list'], { config: w.config });
  expect(r.code, r.stderr).toBe(0);
  return r.json.recent;
};

beforeAll(async () => {
  pg = await startCluster({ name: 'cli-behaviour' });
  ws = await workspace(pg);
  dead = await workspace(pg, { connection: { port: 1 } });
});

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
  await dead?.cleanup();
});

describe('a failed job is reported as its own error (issue 11 item 11)', () => {
  test('a backup that cannot connect to PostgreSQL: its error and exit code, no "goes on on the agent", no attach hint', async () => {
    const r = await lifeboat(['backup', '-c', 'pg'], { config: dead.config });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lifeboat: error: cannot connect to PostgreSQL at 127\.0\.0\.1:1: .*$/m);
    expect(r.stderr).not.toMatch(/goes on/);
    expect(r.stderr).not.toMatch(/jobs (attach|cancel)/);
    const json = await lifeboat(['--json', 'backup', '-c', 'pg'], { config: dead.config });
    expect(json.code).toBe(1);
    expect(json.json.error.code).toBe('CONNECTION_FAILED');
    expect(json.json.error.message).not.toMatch(/goes on/);
    // and lifeboat jobs agrees: the job failed, it does not go on
    const jobs = await jobsOf(dead);
    expect(jobs.filter((j) => j.type === 'backup').map((j) => j.status)).toEqual(['failed', 'failed']);
  });
});

describe('usage errors are found before a job starts (issue 11 item 12)', () => {
  test.each([
    [['backup', '--physical', '--format', 'plain'], /a physical backup is of the whole cluster/],
    [['backup', '-c', 'nosuch'], /no cluster "nosuch"/],
    [['backup', '-c', 'nosuch', '--detach'], /no cluster "nosuch"/],
    [['verify', 'nosuch'], /no backup nosuch/],
    [['verify', 'nosuch', '--detach'], /no backup nosuch/],
  ])('%j: exit 2, one error line, no start line, no job left', async (args, message) => {
    const before = (await jobsOf(ws)).length;
    const r = await lifeboat(args, { config: ws.config });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^lifeboat: error: ${message.source}`, 'm'));
    expect(r.stderr).not.toMatch(/^info /m);
    expect(r.stdout).toBe('');
    expect((await jobsOf(ws)).length).toBe(before);
  });
});

describe('a closed stdout ends the process quietly (issue 11 item 14)', () => {
  test('every command\'s --help, and commands that print results, with stdout closed: exit 0, no stack trace', async () => {
    const commands = await allCommands();
    expect(commands.length).toBeGreaterThan(30);
    const runs: [string[], string | undefined][] = [
      ...commands.map((c): [string[], string | undefined] => [[...c, '--help'], undefined]),
      [['help', 'backup'], undefined],
      [['backup', '-c', 'pg'], ws.config], // the job runs to its end; only its result line is not read
      [['list'], ws.config],
      [['show', 'latest'], ws.config],
      [['status'], ws.config],
      [['jobs', 'list'], ws.config],
      [['--json', 'list'], ws.config],
    ];
    for (const [args, config] of runs) {
      const r = await lifeboatClosedStdout(args, config ? { config } : {});
      // the job log of a backup still goes to stderr; a stack trace or an error never does
      const trace = /EPIPE|Unhandled|^\s+at |lifeboat: error/m.exec(r.stderr)?.[0];
      expect({ args, code: r.code, signal: r.signal, trace }).toEqual({ args, code: 0, signal: null, trace: undefined });
      if (args.at(-1) === '--help') expect(r.stderr).toBe('');
    }
  });
});

describe('suggested commands carry --config (issue 11 item 15)', () => {
  let bin: string;
  beforeAll(async () => {
    bin = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-shim-'));
    await writeFile(path.join(bin, 'lifeboat'), `#!/bin/sh\nexec ${process.execPath} ${BIN} "$@"\n`, { mode: 0o755 });
  });
  afterAll(async () => {
    if (bin) await rm(bin, { recursive: true, force: true });
  });
  /** Paste a suggested line into a shell where lifeboat has no default config: it must reach ours. */
  const paste = async (line: string) => {
    const r = await execa('sh', ['-c', line], { reject: false, env: { PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1', LIFEBOAT_CONFIG: '', HOME: bin, XDG_CONFIG_HOME: bin } });
    return { code: r.exitCode, stderr: String(r.stderr) };
  };
  const suggested = (text: string, re: RegExp): string => {
    const m = re.exec(text);
    expect(m, `${re} in:\n${text}`).not.toBeNull();
    return m![1]!;
  };
  const cfg = () => ws.config;
  /** Output with suggested commands folded at 80 columns (` \` continuations) read back as one line each. */
  const joined = (text: string) => text.replace(/ \\\n +/g, ' ');

  test('init: the next commands name the config it wrote', async () => {
    const config = path.join(ws.dir, 'other', 'config.json');
    const r = await lifeboat(['init', '--cluster', 'x', '--repo', path.join(ws.dir, 'other-repo'), '-h', pg.host, '-p', String(pg.port), '-U', pg.user], { config });
    expect(r.code, r.stderr).toBe(0);
    expect(joined(r.stdout)).toContain(`next: lifeboat --config ${config} config check\nthen: lifeboat --config ${config} backup --cluster x`);
    expect(await paste(suggested(joined(r.stdout), /^next: (.*)$/m))).toMatchObject({ code: 0 });
  });

  test('--detach: the follow and cancel lines work as printed', async () => {
    const r = await lifeboat(['backup', '-c', 'pg', '--detach'], { config: cfg() });
    expect(r.code, r.stderr).toBe(0);
    const follow = suggested(r.stdout, /follow it: +(.*)$/m);
    expect(follow).toMatch(new RegExp(`^lifeboat --config ${cfg()} jobs attach \\d{14}-[0-9a-f]{6}$`));
    expect(await paste(follow)).toMatchObject({ code: 0 });
  });

  test('hints of errors, show, list and restore-point name the config', async () => {
    const v = await lifeboat(['verify', 'nosuch'], { config: cfg() });
    expect(await paste(suggested(v.stderr, /hint: see the backups with: (.*)$/m))).toMatchObject({ code: 0 });
    const show = await lifeboat(['show', 'latest'], { config: cfg() });
    expect(show.code, show.stderr).toBe(0);
    expect(await paste(suggested(joined(show.stdout), /none yet; verify it with:\n +(.*)$/m))).toMatchObject({ code: 0 });
    const empty = await lifeboat(['list'], { config: dead.config });
    expect(suggested(empty.stdout, /Take one with: (.*)$/m)).toBe(`lifeboat --config ${dead.config} backup --cluster NAME`);
    const rp = await lifeboat(['restore-point', "before it's done"], { config: cfg() });
    expect(rp.code, rp.stderr).toBe(0);
    expect(suggested(joined(rp.stdout), /recover to it with:\n +(.*)$/m)).toBe(`lifeboat --config ${cfg()} pitr plan -c pg --name 'before it'\\''s done'`);
  });
});

describe('--quiet is silent on success (issue 11 item 18)', () => {
  const silent = { code: 0, stdout: '', stderr: '' };
  const run = async (args: string[], w: Workspace = ws) => {
    const r = await lifeboat(args, { config: w.config });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  };

  test("the README's cron lines print nothing when all is well", async () => {
    expect(await run(['backup', '--cluster', 'pg', '--tag', 'daily', '--quiet'])).toEqual(silent);
    expect(await run(['status', '--cluster', 'pg', '--quiet'])).toEqual(silent);
  });

  test('nor do other commands that succeed: verify, expire --yes, a detached start', async () => {
    expect(await run(['-q', 'verify', 'latest'])).toEqual(silent);
    expect(await run(['-q', 'expire', '-c', 'pg', '--keep-logical', '1', '--yes'])).toEqual(silent);
    const list = await run(['--json', 'list']);
    expect(JSON.parse(list.stdout).backups).toHaveLength(1);
    expect(await run(['-q', 'backup', '-c', 'pg', '--detach'])).toEqual(silent);
    for (let i = 0; i < 100 && (await jobsOf(ws)).some((j) => j.status === 'running'); i++) await new Promise((r) => setTimeout(r, 200));
    expect((await jobsOf(ws)).at(-1)).toMatchObject({ type: 'backup', status: 'succeeded' });
  });

  test('a failure still speaks: the error on stderr, the output it held, the same exit code', async () => {
    const stale = await run(['status', '--quiet'], dead);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toMatch(/^CLUSTER +STATE/);
    expect(stale.stdout).toContain('STALE');
    const bad = await run(['-q', 'verify', 'nosuch']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^lifeboat: error: no backup nosuch/);
    const down = await run(['-q', 'backup', '-c', 'pg'], dead);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^lifeboat: error: cannot connect to PostgreSQL/m);
  });

  test('--json is not held: it was asked for', async () => {
    const r = await run(['-q', '--json', 'status', '-c', 'pg']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).ok).toBe(true);
  });
});
