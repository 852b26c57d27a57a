import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkDigest, nodeMajor, parseSha256 } from '../../src/fleet/deploy.js';
import { compareVersions } from '../../src/cli/commands/hosts.js';
import { startCluster, type PgCluster } from '../harness/pg.js';
import { makeKey, makeSshHome, removeSshd, sshSkipReason, startSshd, type Sshd, type SshHome } from '../harness/sshd.js';
import { lifeboat, ROOT, workspace, type CliResult, type Workspace } from '../helpers/cli.js';

// `hosts deploy` against a real OpenSSH sshd on 127.0.0.1. The "remote" user is
// root on this machine, but sshd gives its sessions a temp HOME and a PATH of
// /usr/bin:/bin only (SetEnv): no lifeboat there, node (/usr/bin/node) is.
// The deploy goes through the internal-sftp subsystem and the remote shell.
const skip = sshSkipReason();
if (skip) console.warn(`skipping SSH deploy tests: ${skip}`);

let pg: PgCluster;
let ws: Workspace;
let sshd: Sshd;
let home: SshHome;
let remoteHome: string;
const BUNDLE = path.join(ROOT, 'dist', 'lifeboat-agent.mjs');

function as(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return lifeboat(args, { env: { HOME: home.home, LIFEBOAT_HOSTS_FILE: path.join(home.home, 'hosts.json'), SSH_AUTH_SOCK: '', XDG_CONFIG_HOME: path.join(home.home, '.config'), ...env } });
}
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const agentCommandOf = async (name: string) => (await as(['--json', 'hosts', 'list'])).json.hosts.find((h: { name: string }) => h.name === name).agentCommand as string;

beforeAll(async () => {
  if (skip) return;
  remoteHome = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-remote-home-'));
  [pg, sshd, home] = await Promise.all([
    startCluster({ name: 'deploy', sampleData: true }),
    startSshd({ name: 'deploy', extra: ['Subsystem sftp internal-sftp', `SetEnv HOME=${remoteHome} PATH=/usr/bin:/bin`] }),
    makeSshHome(),
  ]);
  ws = await workspace(pg);
  const key = await makeKey(home.sshDir, 'id_ed25519');
  await sshd.authorize(key.pub);
  const b = await lifeboat(['backup', '-c', 'pg', '--tag', 'daily'], { config: ws.config });
  expect(b.code, b.stderr).toBe(0);
});

afterAll(async () => {
  await removeSshd(sshd);
  await pg?.stop();
  await ws?.cleanup();
  await home?.cleanup();
  if (remoteHome) await rm(remoteHome, { recursive: true, force: true });
});

describe.skipIf(!!skip)('hosts deploy', () => {
  test('a host without lifeboat: the default agent command fails offering deploy; deploy installs the bundle, verified; list and status run through it', async () => {
    const add = await as(['--accept-new-host-key', 'hosts', 'add', 'fresh', `root@127.0.0.1:${sshd.port}`, '--group', 'new']);
    expect(add.code, add.stderr).toBe(0); // SSH works; the agent does not answer: added with a warning
    expect(add.stderr).toContain('agent command not found: lifeboat agent --stdio');
    const before = await as(['--host', 'fresh', 'list']);
    expect(before.code).toBe(1);
    expect(before.stderr).toContain('agent command not found: lifeboat agent --stdio');
    expect(before.stderr).toContain('lifeboat hosts deploy fresh');

    const dep = await as(['--json', 'hosts', 'deploy', 'fresh']);
    expect(dep.code, dep.stderr).toBe(0);
    const want = sha(BUNDLE);
    expect(dep.json).toMatchObject({ ok: true, host: 'fresh', sha256: want, agentVersion: '0.1.0', alreadyPresent: false, previousAgentCommand: 'lifeboat agent --stdio' });
    expect(dep.json.node).toBe(process.version); // the remote node is this machine's /usr/bin/node
    const dir = path.join(remoteHome, '.lifeboat', 'agent', `0.1.0-${want.slice(0, 8)}`);
    expect(dep.json.path).toBe(path.join(dir, 'lifeboat.mjs'));
    // the file on the "host" is byte-identical, alone in its versioned directory (no temp file left), dir 0700
    expect(sha(dep.json.path)).toBe(want);
    expect(readdirSync(dir)).toEqual(['lifeboat.mjs']);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(await agentCommandOf('fresh')).toBe(`node ${dep.json.path} agent --stdio`);

    // the next commands run through the deployed agent and read what the local path reads
    const list = await as(['--json', '--host', 'fresh', '--config', ws.config, 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json).toEqual((await lifeboat(['--json', 'list'], { config: ws.config })).json);
    const st = await as(['--json', '--config', ws.config, 'status', '--group', 'new']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.json.hosts[0]).toMatchObject({ host: 'fresh', ok: true, result: { ok: true, clusters: [{ cluster: 'pg', ok: true }] } });
    const t = await as(['--json', 'hosts', 'test', 'fresh']);
    expect(t.json.hosts[0].agent).toMatchObject({ version: '0.1.0', node: process.version });
    expect(t.json.hosts[0].versionNote).toBeUndefined();

    // a job through the deployed agent: it runs in the agent's detached runner (the same file, agent --run-job)
    const backup = await as(['--json', '--host', 'fresh', '--config', ws.config, 'backup', '-c', 'pg', '--label', 'via-deployed']);
    expect(backup.code, backup.stderr).toBe(0);
    const after = (await lifeboat(['--json', 'list'], { config: ws.config })).json.backups;
    expect(after.find((b: { label?: string }) => b.label === 'via-deployed')).toMatchObject({ id: backup.json.backup.id });

    // deploying the same build again re-verifies, uploads nothing
    const again = await as(['hosts', 'deploy', 'fresh']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`fresh: agent 0.1.0 already at ${dep.json.path}`);
    for (const line of again.stdout.trimEnd().split('\n')) expect(line).toMatch(/^fresh: /);
  });

  test('a tampered upload (one byte changed on the host before the check) is refused: temp file removed, nothing changed', async () => {
    await as(['hosts', 'add', 'tamper', `root@127.0.0.1:${sshd.port}`, '--no-connect']);
    // a different HOME so no verified copy exists yet: the upload really happens
    const dir = path.join(remoteHome, '.lifeboat', 'agent');
    await rm(dir, { recursive: true, force: true });
    const r = await as(['--json', 'hosts', 'deploy', 'tamper'], { LIFEBOAT_TEST_CORRUPT_DEPLOY: '1' });
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('VERIFY_FAILED');
    expect(r.json.error.message).toContain(`expected ${sha(BUNDLE)}`);
    expect(r.json.error.message).toMatch(/sha256 on the host is [0-9a-f]{64}/);
    expect(r.stderr).toContain('the upload was removed and nothing changed');
    expect(readdirSync(path.join(dir, `0.1.0-${sha(BUNDLE).slice(0, 8)}`))).toEqual([]); // no temp file, no agent
    expect(await agentCommandOf('tamper')).toBe('lifeboat agent --stdio');
  });

  test('Node.js missing or older than 20 on the host: one clear error each, nothing uploaded', async () => {
    await as(['hosts', 'add', 'oldnode', `root@127.0.0.1:${sshd.port}`, '--no-connect']);
    const fakeDir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-fakenode-'));
    try {
      const fake = path.join(fakeDir, 'node');
      writeFileSync(fake, '#!/bin/sh\necho v18.19.1\n', { mode: 0o755 });
      await rm(path.join(remoteHome, '.lifeboat'), { recursive: true, force: true });
      const old = await as(['--json', 'hosts', 'deploy', 'oldnode', '--node', fake]);
      expect(old.code).toBe(2);
      expect(old.json.error.code).toBe('UNSUPPORTED');
      expect(old.stderr).toContain('Node.js v18.19.1 is too old; the agent needs Node.js 20 or newer');
      const missing = await as(['--json', 'hosts', 'deploy', 'oldnode', '--node', path.join(fakeDir, 'nosuch')]);
      expect(missing.code).toBe(1);
      expect(missing.json.error.code).toBe('BINARY_MISSING');
      expect(missing.stderr).toContain('Node.js not found there');
      expect(missing.stderr).toContain('--node /path/to/node');
      expect(existsSync(path.join(remoteHome, '.lifeboat'))).toBe(false);
      expect(await agentCommandOf('oldnode')).toBe('lifeboat agent --stdio');
    } finally {
      await rm(fakeDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!!skip)('shared SSH connections', () => {
  test('entries with the same destination share one login in fleet-wide runs; LIFEBOAT_SSH_SHARE=0 logs in per entry', async () => {
    const logins = async () => ((await sshd.log()).match(/Accepted publickey/g) ?? []).length;
    // the tests above removed the deployed copy: deploy again
    const dep = await as(['hosts', 'deploy', 'fresh']);
    expect(dep.code, dep.stderr).toBe(0);
    const entries = (await as(['--json', 'hosts', 'list'])).json.hosts.length;
    expect(entries).toBeGreaterThanOrEqual(3); // fresh (deployed), tamper, oldnode (no agent there): all one destination
    let l0 = await logins();
    const shared = await as(['--json', '--config', ws.config, 'status', '--all']);
    expect(shared.json.hosts).toHaveLength(entries);
    const fresh = shared.json.hosts.find((h: { host: string }) => h.host === 'fresh');
    expect(fresh.ok, JSON.stringify(fresh)).toBe(true);
    expect(shared.json.hosts.find((h: { host: string }) => h.host === 'tamper').error.message).toContain('agent command not found');
    expect((await logins()) - l0).toBe(1);
    l0 = await logins();
    const own = await as(['--json', '--config', ws.config, 'status', '--all'], { LIFEBOAT_SSH_SHARE: '0' });
    expect(own.json.summary).toEqual(shared.json.summary);
    expect((await logins()) - l0).toBe(entries);
  });
});

describe('deploy checks (pure)', () => {
  test('node versions, sha256 output and the digest compare', () => {
    expect(nodeMajor('v20.20.2\n')).toBe(20);
    expect(nodeMajor('v8.9.0')).toBe(8);
    expect(nodeMajor('bash: node: command not found')).toBeUndefined();
    const h = 'a'.repeat(64);
    expect(parseSha256(`${h}  /home/x/.lifeboat/agent/lifeboat.mjs\n`)).toBe(h);
    expect(parseSha256('sha256sum: x: No such file')).toBeUndefined();
    expect(() => checkDigest('db1', h, h)).not.toThrow();
    expect(() => checkDigest('db1', 'b'.repeat(64), h)).toThrow(/db1: the uploaded agent does not match/);
    expect(() => checkDigest('db1', undefined, h)).toThrow(/sha256 on the host is \(none\)/);
    expect(compareVersions('0.1.0', '0.1.0')).toBe(0);
    expect(compareVersions('0.0.9', '0.1.0')).toBe(-1);
    expect(compareVersions('0.10.0', '0.9.1')).toBe(1);
    expect(compareVersions('0.2.0-rc.1', '0.2.0')).toBe(-1);
  });
});
