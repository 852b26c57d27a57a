import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type PgCluster } from '../harness/pg.js';
import { allCommands, lifeboat, lifeboatClosedStdout, workspace, type Workspace } from '../helpers/cli.js';

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
