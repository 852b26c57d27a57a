import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SAMPLE_DB, startCluster, type PgCluster } from '../harness/pg.js';
import { makeKey, makeSshHome, removeSshd, sshSkipReason, startSshd, type Sshd, type SshHome } from '../harness/sshd.js';
import { BIN, lifeboat, workspace, type CliResult, type Workspace } from '../helpers/cli.js';

// Jobs run in a detached runner on the agent's host (docs/protocol.md, "Jobs"):
// they survive the agent process and the SSH channel, can be re-attached and
// cancelled from another connection, and a killed runner is reported as crashed.
//
// To act mid-backup without racing, pg_dump runs through a command prefix that
// lets the real pg_dump write the whole dump, then holds its stdout open for
// DELAY seconds (a file, so each test picks its own): the backup is certainly
// running, with bytes already stored, while the test cuts or cancels.

let pg: PgCluster;
let ws: Workspace;
const delayFile = () => path.join(ws.dir, 'delay');
const wrapperPids = () => path.join(ws.dir, 'wrapper.pids');

async function setDelay(seconds: number): Promise<void> {
  await writeFile(delayFile(), String(seconds));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath ?? (e as any).path, e.name)));
  }
  return out.sort();
}

const cli = (args: string[]) => lifeboat(args, { config: ws.config });

/** Wait until a backup job runs with stored bytes (its progress file says so); returns its id. */
async function runningBackup(label: string): Promise<{ id: string; runnerPid: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const jobs = await cli(['--json', 'jobs', 'list']);
    const job = jobs.json?.running?.find((j: any) => j.type === 'backup' && j.params.label === label);
    if (job) {
      const progress = path.join(ws.state, 'jobs', `${job.id}.progress.json`);
      if (existsSync(progress) && JSON.parse(readFileSync(progress, 'utf8')).bytes > 0) return { id: job.id, runnerPid: job.runner.pid };
    }
    if (Date.now() > deadline) throw new Error(`no running backup ${label} with progress: ${jobs.stdout}${jobs.stderr}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function jobRecord(id: string): Promise<any> {
  const jobs = await cli(['--json', 'jobs', 'list']);
  return jobs.json.recent.find((j: any) => j.id === id);
}

const listed = async () => (await cli(['--json', 'list'])).json.backups as { id: string; label?: string; rawSize: number }[];

beforeAll(async () => {
  pg = await startCluster({ name: 'jobs', sampleData: true });
  ws = await workspace(pg);
  const wrapper = path.join(ws.dir, 'slow-dump.sh');
  await writeFile(
    wrapper,
    `#!/bin/sh\nif [ "$1" = pg_dump ] && [ "$2" != --version ]; then "$@" || exit $?; echo $$ >> ${wrapperPids()}; exec sleep "$(cat ${delayFile()})"; fi\nexec "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
  cfg.clusters.pg.connection.commandPrefix = [wrapper];
  await writeFile(ws.config, JSON.stringify(cfg));
});

/** Stop the wrappers' sleeps this file started (a killed runner leaves its child behind); checks each pid is still a sleep. */
async function killWrapperSleeps(): Promise<void> {
  for (const pid of existsSync(wrapperPids()) ? readFileSync(wrapperPids(), 'utf8').split('\n').map(Number).filter(Boolean) : []) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0')) process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await writeFile(wrapperPids(), '');
}

afterAll(async () => {
  await killWrapperSleeps();
  await pg?.stop();
  await ws?.cleanup();
});

describe('detached jobs on the local agent', () => {
  test('SIGKILL of the agent mid-backup: the backup finishes and is listed; jobs attach shows it done', async () => {
    await setDelay(4);
    const agent = spawn(process.execPath, [BIN, 'agent', '--stdio', '--config', ws.config], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LIFEBOAT_CONFIG: '' } });
    let out = '';
    agent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    agent.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'job.start', params: { type: 'backup', params: { cluster: 'pg', database: SAMPLE_DB, label: 'agent-killed' } } }) + '\n');
    const { id } = await runningBackup('agent-killed');
    // the agent streamed the job's progress before it was killed
    const deadline = Date.now() + 10_000;
    while (!new RegExp(`"method":"job.progress","params":\\{"jobId":"${id}","bytes":[1-9]`).test(out)) {
      if (Date.now() > deadline) throw new Error(`no progress notification from the agent: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    agent.kill('SIGKILL');
    await new Promise((r) => agent.on('close', r));
    expect(await listed()).toEqual([]); // not finished yet: not listed

    const attach = await cli(['jobs', 'attach', id]);
    expect(attach.code, attach.stderr).toBe(0);
    expect(attach.stdout).toMatch(new RegExp(`^job ${id} succeeded: \\S+ of pg$`, 'm'));
    expect(attach.stderr).toMatch(/backup \S+ complete/); // the replayed log tail
    const backups = await listed();
    expect(backups.map((b) => b.label)).toEqual(['agent-killed']);
    expect(backups[0]!.rawSize).toBeGreaterThan(100_000);
    expect(await jobRecord(id)).toMatchObject({ status: 'succeeded', result: { id: backups[0]!.id } });
    // the stored dump is whole: verify reads it back against its checksums and pg_restore --list
    const v = await cli(['verify', backups[0]!.id, '--level', 'structure']);
    expect(v.code, v.stderr + v.stdout).toBe(0);
    // attaching to a finished job again replays its end; --json carries the result
    const again = await cli(['--json', 'jobs', 'attach', id]);
    expect(again.code).toBe(0);
    expect(again.json.result.id).toBe(backups[0]!.id);
    // verify --detach returns a job id at once; attach follows it to its result
    const det = await cli(['--json', 'verify', backups[0]!.id, '--detach']);
    expect(det.code, det.stderr).toBe(0);
    expect(det.json).toMatchObject({ ok: true, detached: true, type: 'verify' });
    const followed = await cli(['--json', 'jobs', 'attach', det.json.jobId]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.json.result).toMatchObject({ backupId: backups[0]!.id, level: 'checksum', ok: true });
  });

  test('a runner SIGKILLed mid-backup shows as crashed, nothing is listed, repo gc removes its objects', async () => {
    await setDelay(600);
    const started = await cli(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB, '--label', 'crash', '--detach']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.json).toMatchObject({ ok: true, detached: true, type: 'backup' });
    const { id, runnerPid } = await runningBackup('crash');
    expect(id).toBe(started.json.jobId);
    process.kill(runnerPid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while ((await jobRecord(id)).status !== 'crashed') {
      if (Date.now() > deadline) throw new Error('the killed runner was never reported as crashed');
      await new Promise((r) => setTimeout(r, 200));
    }
    const rec = await jobRecord(id);
    expect(rec.error.message).toMatch(/killed or crashed/);
    const attach = await cli(['jobs', 'attach', id]);
    expect(attach.code).toBe(1);
    expect(attach.stderr).toMatch(new RegExp(`job ${id} ended without a result`));
    expect(attach.stderr).not.toMatch(/goes on on the agent/);
    const cancel = await cli(['jobs', 'cancel', id]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/is not running: it crashed/);

    expect((await listed()).map((b) => b.label)).not.toContain('crash');
    const leftovers = (await filesUnder(ws.repo)).filter((f) => f.includes('/backup/'));
    expect(leftovers.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 2_100)); // gc spares uploads younger than 2 s
    const gc = await cli(['--json', 'repo', 'gc']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stderr).toMatch(/stale lock/);
    expect(gc.json.removed.length).toBeGreaterThan(0);
    const kept = new Set((await listed()).map((b) => b.id));
    expect((await filesUnder(ws.repo)).filter((f) => f.includes('/backup/') && ![...kept].some((k) => f.includes(k)))).toEqual([]);
    await killWrapperSleeps();
  });

  test('bad job ids and unknown jobs are clear errors', async () => {
    const bad = await cli(['jobs', 'attach', '../../etc/passwd']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a job id/);
    const unknown = await cli(['--json', 'jobs', 'cancel', '20200101000000-abcdef']);
    expect(unknown.code).toBe(1);
    expect(unknown.json.error.code).toBe('NOT_FOUND');
  });
});

const skip = sshSkipReason();
if (skip) console.warn(`skipping SSH job tests: ${skip}`);
const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

describe.skipIf(!!skip)('detached jobs over SSH', () => {
  let sshd: Sshd;
  let home: SshHome;
  const as = (args: string[]): Promise<CliResult> =>
    lifeboat(['--host', 'db', '--config', ws.config, ...args], {
      env: { HOME: home.home, LIFEBOAT_HOSTS_FILE: path.join(home.home, 'hosts.json'), SSH_AUTH_SOCK: '', XDG_CONFIG_HOME: path.join(home.home, '.config') },
    });
  /** The sshd's session processes (this file's tests run one at a time). */
  const sessions = async () => (await execa('ps', ['--ppid', String(sshd.pid), '-o', 'pid='], { reject: false })).stdout.split('\n').map(Number).filter(Boolean);

  beforeAll(async () => {
    [sshd, home] = await Promise.all([startSshd({ name: 'jobs' }), makeSshHome()]);
    const key = await makeKey(home.sshDir, 'id_ed25519');
    await sshd.authorize(key.pub);
    const agentCommand = [process.execPath, BIN, 'agent', '--stdio'].map(q).join(' ');
    const add = await lifeboat(['--accept-new-host-key', 'hosts', 'add', 'db', `root@127.0.0.1:${sshd.port}`, '--agent-command', agentCommand], {
      env: { HOME: home.home, LIFEBOAT_HOSTS_FILE: path.join(home.home, 'hosts.json'), SSH_AUTH_SOCK: '', XDG_CONFIG_HOME: path.join(home.home, '.config') },
    });
    expect(add.code, add.stderr).toBe(0);
  });

  afterAll(async () => {
    await removeSshd(sshd);
    await home?.cleanup();
  });

  test('cutting the SSH connection mid-backup: the backup finishes on the agent; jobs attach from a new connection shows it', async () => {
    await setDelay(5);
    const running = as(['backup', '-c', 'pg', '-d', SAMPLE_DB, '--label', 'ssh-cut']);
    const { id } = await runningBackup('ssh-cut');
    const s = await sessions();
    expect(s.length).toBeGreaterThan(0);
    for (const pid of s) process.kill(pid, 'SIGKILL');
    const r = await running;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the SSH connection was lost; job \S+ goes on on the agent/);
    expect(r.stderr).toContain(`jobs attach ${id}`);
    expect((await listed()).map((b) => b.label)).not.toContain('ssh-cut'); // still running

    // a new connection re-attaches: progress resumes (or the job is already done), exit 0
    const attach = await as(['--json', 'jobs', 'attach', id]);
    expect(attach.code, attach.stderr).toBe(0);
    const done = await listed();
    const b = done.find((x) => x.label === 'ssh-cut');
    expect(b).toBeDefined();
    expect(attach.json.result.id).toBe(b!.id);
    expect((await as(['--json', 'jobs', 'list'])).json.recent.find((j: any) => j.id === id).status).toBe('succeeded');
  });

  test('jobs cancel from another connection stops a running backup: nothing is listed, the job shows cancelled', async () => {
    await setDelay(600);
    const before = (await listed()).map((b) => b.id);
    const running = as(['backup', '-c', 'pg', '-d', SAMPLE_DB, '--label', 'ssh-cancel']);
    const { id, runnerPid } = await runningBackup('ssh-cancel');
    const cancel = await as(['jobs', 'cancel', id]);
    expect(cancel.code, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(new RegExp(`job ${id} cancelled: backup of pg was cancelled; nothing was kept`));
    // the connection that started it sees its job end as cancelled
    const r = await running;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/was cancelled; nothing was kept/);
    expect(r.stderr).not.toMatch(/goes on on the agent/);
    expect((await listed()).map((b) => b.id)).toEqual(before);
    expect((await filesUnder(ws.repo)).filter((f) => f.includes('/backup/') && !before.some((k) => f.includes(k)))).toEqual([]);
    expect((await jobRecord(id)).status).toBe('cancelled');
    // the runner and its tools are gone
    expect(existsSync(`/proc/${runnerPid}`)).toBe(false);
    const ps = await execa('ps', ['-eo', 'args']);
    expect(ps.stdout).not.toMatch(/sleep 600/);
  });
});
