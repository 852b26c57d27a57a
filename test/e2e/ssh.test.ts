import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SAMPLE_DB, startCluster, tableFingerprints, type PgCluster } from '../harness/pg.js';
import { freePort, makeKey, makeSshHome, removeSshd, sshSkipReason, startSshd, type Key, type Sshd, type SshHome } from '../harness/sshd.js';
import { BIN, lifeboat, unwrap, workspace, type CliResult, type Workspace } from '../helpers/cli.js';

// Everything here goes through a real OpenSSH sshd on 127.0.0.1 (test/harness/sshd.ts)
// and the real CLI; the remote agent is this checkout's, started by sshd's shell.
const skip = sshSkipReason();
if (skip) console.warn(`skipping SSH tests: ${skip}`);
const hasTmux = (await execa('tmux', ['-V'], { reject: false })).exitCode === 0;
if (!skip && !hasTmux) console.warn('skipping the terminal test: no tmux (bash scripts/setup.sh --test installs it)');

const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
/** The agent command sshd runs: this checkout's lifeboat, by absolute paths (sshd's PATH has no node). */
const agentCommand = (config?: string) => [process.execPath, BIN, 'agent', '--stdio', ...(config ? ['--config', config] : [])].map(q).join(' ');

let pg: PgCluster;
let ws: Workspace;
let a: Sshd;
let main: SshHome;
let key: Key;
let original: Awaited<ReturnType<typeof tableFingerprints>>;
const extraSshds: Sshd[] = [];
const extraHomes: SshHome[] = [];

/** The CLI as the operator in `home` runs it: its ~/.ssh, its inventory, no ssh-agent, no terminal. */
function as(home: SshHome, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return lifeboat(args, { env: { HOME: home.home, LIFEBOAT_HOSTS_FILE: path.join(home.home, 'hosts.json'), SSH_AUTH_SOCK: '', XDG_CONFIG_HOME: path.join(home.home, '.config'), ...env } });
}

/**
 * Run a command on a real terminal (a tmux pane), answering prompts as they
 * appear; returns the screen and the exit code. tmux is installed by
 * scripts/setup.sh --test.
 */
async function onTerminal(cmd: string[], env: Record<string, string>, steps: { waitFor: RegExp; send: string }[]): Promise<{ screen: string; code: number }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-tty-'));
  const sock = path.join(dir, 'tmux.sock');
  const tmux = (...args: string[]) => execa('tmux', ['-S', sock, ...args], { env: { ...env, NO_COLOR: '1', TERM: 'xterm' } });
  const line = `${Object.entries(env).map(([k, v]) => `${k}=${q(v)}`).join(' ')} ${cmd.map(q).join(' ')}; echo "EXIT=$?"; sleep 60`;
  await tmux('new-session', '-d', '-x', '200', '-y', '50', 'env ' + line);
  const screen = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-200')).stdout;
  const waitFor = async (re: RegExp) => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await screen();
      if (re.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${re}:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    for (const step of steps) {
      await waitFor(step.waitFor);
      await tmux('send-keys', '-t', '0', '-l', step.send);
      await tmux('send-keys', '-t', '0', 'Enter');
    }
    const s = await waitFor(/^EXIT=\d+$/m);
    return { screen: s, code: Number(/^EXIT=(\d+)$/m.exec(s)![1]) };
  } finally {
    await tmux('kill-server').catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function newHome(): Promise<SshHome> {
  const h = await makeSshHome();
  extraHomes.push(h);
  return h;
}

beforeAll(async () => {
  if (skip) return;
  [pg, a, main] = await Promise.all([startCluster({ name: 'ssh', sampleData: true }), startSshd({ name: 'a' }), makeSshHome()]);
  ws = await workspace(pg);
  original = await tableFingerprints(pg, SAMPLE_DB);
  key = await makeKey(main.sshDir, 'id_ed25519');
  await a.authorize(key.pub);
  // the main operator knows host a: recorded on first contact
  const add = await as(main, ['--accept-new-host-key', 'hosts', 'add', 'db', `root@127.0.0.1:${a.port}`, '--agent-command', agentCommand(), '--group', 'production']);
  expect(add.code, add.stderr).toBe(0);
});

afterAll(async () => {
  await Promise.all([removeSshd(a), ...extraSshds.map(removeSshd)]);
  await pg?.stop();
  await ws?.cleanup();
  await main?.cleanup();
  await Promise.all(extraHomes.map((h) => h.cleanup()));
});

describe.skipIf(!!skip)('SSH transport', () => {
  test('backup, list, show, verify and restore through SSH give what the local path gives', async () => {
    const local = await lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB, '--tag', 'daily', '--label', 'local'], { config: ws.config });
    expect(local.code, local.stderr).toBe(0);
    // --config with --host names a file on that host (the same machine here)
    const remote = await as(main, ['--json', '--host', 'db', '--config', ws.config, 'backup', '-c', 'pg', '-d', SAMPLE_DB, '--tag', 'daily', '--label', 'remote']);
    expect(remote.code, remote.stderr).toBe(0);
    const [l, r] = [local.json.backup, remote.json.backup];
    expect(r.host).toBe(os.hostname());
    for (const k of ['cluster', 'kind', 'format', 'scope', 'databases', 'tag'] as const) {
      expect(r[k], k).toBeDefined();
      expect(r[k], k).toEqual(l[k]);
    }

    // the catalog reads the same through both paths
    const listLocal = await lifeboat(['--json', 'list'], { config: ws.config });
    const listRemote = await as(main, ['--json', '--host', 'db', '--config', ws.config, 'list']);
    expect(listRemote.code, listRemote.stderr).toBe(0);
    expect(listRemote.json).toEqual(listLocal.json);
    expect(listRemote.json.backups.map((b: { label: string }) => b.label)).toEqual(['local', 'remote']);

    const showLocal = await lifeboat(['--json', 'show', r.id], { config: ws.config });
    const showRemote = await as(main, ['--json', '-H', 'db', '--config', ws.config, 'show', r.id]);
    expect(showRemote.json).toEqual(showLocal.json);
    const dbs = (id: CliResult) => id.json.manifest.logical.databases[0].rowCounts;
    expect(dbs(showRemote)).toEqual(dbs(await lifeboat(['--json', 'show', l.id], { config: ws.config })));

    const verify = await as(main, ['--json', '--host', 'db', '--config', ws.config, 'verify', r.id, '--level', 'restore']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.json.verification.ok).toBe(true);
    // recorded in the repository: the local path sees the remote verification
    const after = await lifeboat(['--json', 'list'], { config: ws.config });
    expect(after.json.backups.find((b: { id: string }) => b.id === r.id).verification).toMatchObject({ level: 'restore', ok: true });

    const restored = await as(main, ['--json', '--host', 'db', '--config', ws.config, 'restore', r.id, '--to-database', 'via_ssh', '--yes']);
    expect(restored.code, restored.stderr).toBe(0);
    const restoredLocal = await lifeboat(['--json', 'restore', l.id, '--to-database', 'via_local', '--yes'], { config: ws.config });
    expect(restoredLocal.code, restoredLocal.stderr).toBe(0);
    expect(await tableFingerprints(pg, 'via_ssh')).toEqual(original);
    expect(await tableFingerprints(pg, 'via_local')).toEqual(original);
  });

  test('an unknown host key is refused without a terminal, then recorded with --accept-new-host-key (and OpenSSH trusts the entry)', async () => {
    const home = await newHome();
    const k = await makeKey(home.sshDir, 'id_ed25519');
    await a.authorize(k.pub);
    const dest = `root@127.0.0.1:${a.port}`;
    const refused = await as(home, ['--json', 'hosts', 'add', 'db', dest, '--agent-command', agentCommand(ws.config)]);
    expect(refused.code).toBe(1);
    expect(refused.json.error.code).toBe('HOST_KEY_UNKNOWN');
    expect(refused.stderr).toContain(a.fingerprint); // the operator can compare it with ssh-keygen -lf on the host
    expect(refused.stderr).toContain('--accept-new-host-key');
    expect(existsSync(home.knownHosts)).toBe(false);
    expect((await as(home, ['--json', 'hosts', 'list'])).json.hosts).toEqual([]); // not added

    // --host on any command refuses the same way
    await as(home, ['hosts', 'add', 'db', dest, '--no-connect', '--agent-command', agentCommand(ws.config)]);
    const list = await as(home, ['--host', 'db', 'list']);
    expect(list.code).toBe(1);
    expect(list.stderr).toMatch(/host key ED25519 SHA256:\S+ is not known \(no terminal to ask\)/);

    const accepted = await as(home, ['--accept-new-host-key', '--host', 'db', 'list']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain(`recorded the host key of [127.0.0.1]:${a.port} (ED25519 ${a.fingerprint}) in ${home.knownHosts}:1`);
    const found = await execa('ssh-keygen', ['-F', `[127.0.0.1]:${a.port}`, '-f', home.knownHosts]);
    expect(found.stdout).toContain(a.hostKeyLine.split(' ')[1]);
    expect(readFileSync(home.knownHosts, 'utf8')).toMatch(/^\|1\|/); // hashed, like Debian's ssh
    // OpenSSH's own client accepts what lifeboat recorded, with strict checking
    const ssh = await execa('ssh', ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${home.knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-i', k.file, '-p', String(a.port), 'root@127.0.0.1', 'echo', 'ok'], { reject: false });
    expect(ssh.stdout, ssh.stderr).toBe('ok');
    // next time: no question, no new line
    const again = await as(home, ['--host', 'db', 'list']);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(home.knownHosts, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  test('a changed host key is refused, naming the file and line of the recorded key, even with --accept-new-host-key', async () => {
    const home = await newHome();
    const k = await makeKey(home.sshDir, 'id_ed25519');
    await a.authorize(k.pub);
    const impostor = await makeKey(home.home, 'other_host_key');
    writeFileSync(home.knownHosts, `# managed by hand\n[127.0.0.1]:${a.port} ${impostor.pub.split(' ').slice(0, 2).join(' ')}\n`);
    await as(home, ['hosts', 'add', 'db', `root@127.0.0.1:${a.port}`, '--no-connect', '--agent-command', agentCommand(ws.config)]);
    for (const extra of [[], ['--accept-new-host-key']]) {
      const r = await as(home, ['--json', ...extra, '--host', 'db', 'list']);
      expect(r.code).toBe(1);
      expect(r.json.error.code).toBe('HOST_KEY_CHANGED');
      expect(r.stderr).toContain(`HOST KEY CHANGED for [127.0.0.1]:${a.port}`);
      expect(r.stderr).toContain(`${home.knownHosts}:2 records a different key`);
      expect(r.stderr).toContain(a.fingerprint);
      expect(r.stderr).toContain(`ssh-keygen -R '[127.0.0.1]:${a.port}'`);
      expect(r.json.error.details).toMatchObject({ file: home.knownHosts, line: 2 });
    }
    // known_hosts untouched
    expect(readFileSync(home.knownHosts, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  test('a client key the server does not accept is refused with the keys tried; an encrypted key without a terminal says so; ssh-agent works', async () => {
    const home = await newHome();
    await makeKey(home.sshDir, 'id_ed25519'); // not authorized
    writeFileSync(home.knownHosts, readFileSync(main.knownHosts));
    await as(home, ['hosts', 'add', 'db', `root@127.0.0.1:${a.port}`, '--no-connect', '--agent-command', agentCommand(ws.config)]);
    const wrong = await as(home, ['--json', '--host', 'db', 'list']);
    expect(wrong.code).toBe(1);
    expect(wrong.json.error.code).toBe('AUTH_FAILED');
    expect(wrong.stderr).toContain(`db (root@127.0.0.1:${a.port}): authentication failed (tried: ~/.ssh/id_ed25519; the server accepts: publickey)`);
    expect(wrong.stderr).toContain('authorized_keys');

    // an authorized but encrypted key: no terminal to ask → skipped, and the message says why
    const enc = await makeKey(path.join(home.home, 'keys'), 'enc', { passphrase: 'correct horse' });
    await a.authorize(enc.pub);
    await as(home, ['hosts', 'add', 'enc', `root@127.0.0.1:${a.port}`, '--no-connect', '--identity', enc.file, '--agent-command', agentCommand(ws.config)]);
    const noTty = await as(home, ['--host', 'enc', 'list']);
    expect(noTty.code).toBe(1);
    // an explicit identity replaces the default ones, as with ssh -i
    expect(noTty.stderr).toContain(`authentication failed (tried: ~/keys/enc (encrypted; no terminal to ask for its passphrase)`);
    expect(noTty.stderr).toContain('hint: load the key into ssh-agent (ssh-add ~/keys/enc)');

    // the same key loaded into a real ssh-agent: lifeboat signs through SSH_AUTH_SOCK
    const sockDir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-agent-'));
    const sock = path.join(sockDir, 'agent.sock');
    const agent = await execa('ssh-agent', ['-a', sock, '-s']);
    const agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(agent.stdout)![1]);
    try {
      const askpass = path.join(sockDir, 'askpass.sh');
      writeFileSync(askpass, '#!/bin/sh\necho "correct horse"\n', { mode: 0o700 });
      await execa('ssh-add', [enc.file], { env: { SSH_AUTH_SOCK: sock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, stdin: 'ignore' });
      await as(home, ['hosts', 'add', 'viaagent', `root@127.0.0.1:${a.port}`, '--no-connect', '--agent-command', agentCommand(ws.config)]);
      const ok = await as(home, ['--json', '--host', 'viaagent', 'list'], { SSH_AUTH_SOCK: sock });
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.json.backups.length).toBeGreaterThan(0);
    } finally {
      process.kill(agentPid, 'SIGTERM');
      await rm(sockDir, { recursive: true, force: true });
    }
  });

  test('an ~/.ssh/config alias resolves (HostName, Port, User, IdentityFile from the config)', async () => {
    const home = await newHome();
    const k = await makeKey(path.join(home.home, 'elsewhere'), 'custom_key'); // not a default key path
    await a.authorize(k.pub);
    await home.writeConfig(`Host pgprimary\n  HostName 127.0.0.1\n  Port ${a.port}\n  User root\n  IdentityFile ~/elsewhere/custom_key\n  ServerAliveInterval 15\n`);
    const add = await as(home, ['--json', '--accept-new-host-key', 'hosts', 'add', 'primary', 'pgprimary', '--agent-command', agentCommand(ws.config)]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.json.agent.version).toBe('0.1.0');
    expect(add.json.host).toMatchObject({ name: 'primary', destination: 'pgprimary' });
    // recorded under the real host and port, as ssh would
    expect((await execa('ssh-keygen', ['-F', `[127.0.0.1]:${a.port}`, '-f', home.knownHosts], { reject: false })).exitCode).toBe(0);
    const st = await as(home, ['--json', '--host', 'primary', 'status']);
    expect(st.json.clusters[0].cluster).toBe('pg');
  });

  test('ProxyJump through a second sshd: hop by hop, each with its own host key; a dead jump host is named', async () => {
    const jump = await startSshd({ name: 'jump', logLevel: 'DEBUG1' });
    extraSshds.push(jump);
    const home = await newHome();
    const k = await makeKey(home.sshDir, 'id_ed25519');
    await Promise.all([a.authorize(k.pub), jump.authorize(k.pub)]);
    await home.writeConfig(`Host bastion\n  HostName 127.0.0.1\n  Port ${jump.port}\n  User root\n\nHost inner\n  HostName 127.0.0.1\n  Port ${a.port}\n  User root\n  ProxyJump bastion\n`);
    const add = await as(home, ['--accept-new-host-key', 'hosts', 'add', 'inner', 'inner', '--agent-command', agentCommand(ws.config)]);
    expect(add.code, add.stderr).toBe(0);
    // both host keys were recorded, each under its own port
    expect(add.stderr).toContain(`[127.0.0.1]:${jump.port}`);
    expect(add.stderr).toContain(`[127.0.0.1]:${a.port}`);
    const t = await as(home, ['--json', 'hosts', 'test', 'inner']);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    // the jump sshd opened the channel to the target's port on our behalf
    expect(await jump.log()).toMatch(new RegExp(`server_request_direct_tcpip: originator .*, target 127\\.0\\.0\\.1 port ${a.port}\\b`));

    // an inventory --jump overrides the config (like ssh -J)
    await as(home, ['hosts', 'add', 'direct-a', `root@127.0.0.1:${a.port}`, '--jump', `root@127.0.0.1:${jump.port}`, '--no-connect', '--agent-command', agentCommand(ws.config)]);
    expect((await as(home, ['hosts', 'test', 'direct-a'])).code).toBe(0);

    await jump.stop();
    const down = await as(home, ['--host', 'inner', 'list']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`jump host bastion (root@127.0.0.1:${jump.port}): connection refused`);
  });

  test('hosts test --all: three hosts, one down → two ok, the failure named, exit 3', async () => {
    const c = await startSshd({ name: 'c' });
    extraSshds.push(c);
    const home = await newHome();
    const k = await makeKey(home.sshDir, 'id_ed25519');
    await Promise.all([a.authorize(k.pub), c.authorize(k.pub)]);
    for (const [name, port] of [['alpha', a.port], ['beta', a.port], ['gamma', c.port]] as const) {
      const r = await as(home, ['--accept-new-host-key', 'hosts', 'add', name, `root@127.0.0.1:${port}`, '--group', name === 'gamma' ? 'staging' : 'production', '--agent-command', agentCommand(ws.config)]);
      expect(r.code, r.stderr).toBe(0);
    }
    await c.stop();
    const r = await as(home, ['--json', 'hosts', 'test', '--all']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.json.summary).toEqual({ ok: 2, failed: 1 });
    const by = Object.fromEntries(r.json.hosts.map((h: { host: string }) => [h.host, h]));
    expect(by.gamma).toMatchObject({ ok: false, reachable: false, error: { code: 'HOST_UNREACHABLE' } });
    for (const n of ['alpha', 'beta']) {
      expect(by[n]).toMatchObject({ ok: true, reachable: true, authenticated: true, agent: { version: '0.1.0' } });
      expect(by[n].agent.plugins).toContain('postgres 0.1.0');
      expect(by[n].rttMs).toBeGreaterThan(0);
      // PostgreSQL version as recorded by the cluster's newest backup
      expect(by[n].clusters).toEqual([expect.objectContaining({ name: 'pg', postgres: expect.stringMatching(/^\d+(\.\d+)?/) })]);
    }
    const text = await as(home, ['hosts', 'test', '--all']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^gamma\s+DOWN/m);
    expect(text.stdout).toContain(`gamma: gamma (root@127.0.0.1:${c.port}): connection refused`);
    expect(text.stdout).toContain('2 of 3 hosts ok');
    for (const line of text.stdout.split('\n')) if (!line.startsWith('gamma:') && !line.startsWith('  hint')) expect(line.length, line).toBeLessThanOrEqual(80);
    // groups select; all failed → exit 1
    expect((await as(home, ['hosts', 'test', '--group', 'production'])).code).toBe(0);
    expect((await as(home, ['hosts', 'test', '--group', 'staging'])).code).toBe(1);
  });

  test('status, list and check --all / --group: per-host records, one host down is named and does not stop the others, exit 3', async () => {
    const c = await startSshd({ name: 'fleet-c' });
    extraSshds.push(c);
    const home = await newHome();
    const k = await makeKey(home.sshDir, 'id_ed25519');
    await Promise.all([a.authorize(k.pub), c.authorize(k.pub)]);
    for (const [name, port, group] of [['alpha', a.port, 'production'], ['beta', a.port, 'production'], ['gamma', c.port, 'staging']] as const) {
      const r = await as(home, ['--accept-new-host-key', 'hosts', 'add', name, `root@127.0.0.1:${port}`, '--group', group, '--agent-command', agentCommand(ws.config)]);
      expect(r.code, r.stderr).toBe(0);
    }
    await c.stop();
    // compare real data: at least one backup (the first test makes some; this one may run alone with -t)
    if (!(await lifeboat(['--json', 'list'], { config: ws.config })).json.backups.length) {
      expect((await lifeboat(['backup', '-c', 'pg', '-d', SAMPLE_DB, '--tag', 'daily'], { config: ws.config })).code).toBe(0);
    }
    const localStatus = await lifeboat(['--json', 'status'], { config: ws.config });
    const localList = await lifeboat(['--json', 'list'], { config: ws.config });

    const st = await as(home, ['--json', 'status', '--all']);
    expect(st.code, st.stderr).toBe(3);
    expect(st.json.summary).toEqual({ ok: 2, failed: 1 });
    expect(st.json.hosts.map((h: { host: string }) => h.host)).toEqual(['alpha', 'beta', 'gamma']);
    const by = Object.fromEntries(st.json.hosts.map((h: { host: string }) => [h.host, h]));
    expect(by.gamma).toMatchObject({ ok: false, error: { code: 'HOST_UNREACHABLE' } });
    expect(by.gamma.result).toBeUndefined();
    for (const n of ['alpha', 'beta']) {
      expect(by[n].ok).toBe(true);
      // what the remote agent reports is what the local one reports (ageHours moves with the clock)
      const strip = (cs: { ageHours?: number }[]) => cs.map(({ ageHours: _a, ...rest }) => rest);
      expect(strip(by[n].result.clusters)).toEqual(strip(localStatus.json.clusters));
    }

    const text = await as(home, ['status', '--all']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/^HOST\s+CLUSTER\s+STATE/m);
    expect(text.stdout).toMatch(/^alpha\s+pg\s+ok\s/m);
    expect(text.stdout).toMatch(/^beta\s+pg\s+ok\s/m);
    expect(text.stdout).toMatch(/^gamma\s+-\s+DOWN/m);
    expect(text.stdout).toContain(`gamma: gamma (root@127.0.0.1:${c.port}): connection refused`);
    expect(text.stdout).toContain('2 of 3 hosts ok');
    const lines = text.stdout.trimEnd().split('\n');
    // every line names its host (the header and the summary aside)
    for (const line of lines.slice(1, -1)) expect(line, line).toMatch(/^(alpha|beta|gamma)\b/);
    for (const line of lines) if (!/^gamma: /.test(line)) expect(line.length, line).toBeLessThanOrEqual(80);

    // list: the same backups on each reachable host as locally
    const list = await as(home, ['--json', 'list', '--all']);
    expect(list.code, list.stderr).toBe(3);
    const lby = Object.fromEntries(list.json.hosts.map((h: { host: string }) => [h.host, h]));
    expect(lby.alpha.result).toEqual(localList.json);
    expect(lby.beta.result).toEqual(localList.json);
    expect(lby.gamma.error.code).toBe('HOST_UNREACHABLE');
    const listText = await as(home, ['list', '--group', 'production']);
    expect(listText.code, listText.stderr).toBe(0);
    const ids = localList.json.backups.map((b: { id: string }) => b.id);
    for (const h of ['alpha', 'beta']) for (const id of ids) expect(listText.stdout).toMatch(new RegExp(`^${h}\\s+${id}\\s`, 'm'));
    for (const line of listText.stdout.trimEnd().split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(listText.stdout.trimEnd().split('\n').at(-1)).toBe('2 of 2 hosts ok');

    // check: archiving is not set up on this cluster, so every reachable host fails its check too → all failed, exit 1
    const check = await as(home, ['--json', 'check', '--all', '--probe-seconds', '1']);
    expect(check.code, check.stderr).toBe(1);
    expect(check.json.hosts.map((h: { host: string }) => h.host)).toEqual(['alpha', 'beta', 'gamma']);
    const localCheck = await lifeboat(['--json', 'check', '--probe-seconds', '1'], { config: ws.config });
    for (const h of check.json.hosts.slice(0, 2)) {
      expect(h.result.cluster).toBe('pg');
      expect(h.result.ok).toBe(localCheck.json.ok);
      expect(h.result.findings.map((f: { name: string; ok: boolean }) => [f.name, f.ok])).toEqual(localCheck.json.findings.map((f: { name: string; ok: boolean }) => [f.name, f.ok]));
    }
    const checkText = await as(home, ['check', '--group', 'production', '--probe-seconds', '1']);
    // (findings fold at 80 columns: their continuation lines belong to the line above)
    for (const line of unwrap(checkText.stdout).trimEnd().split('\n').slice(0, -1)) expect(line, line).toMatch(/^(ok  |warn|FAIL) (alpha|beta): pg: |^\s+(alpha|beta): fix: /);

    // usage: --host and --all together; an unknown group
    const both = await as(home, ['--json', '--host', 'alpha', 'status', '--all']);
    expect(both.code).toBe(2);
    expect(both.json.error.code).toBe('USAGE');
    const nogroup = await as(home, ['status', '--group', 'nosuch']);
    expect(nogroup.code).toBe(2);
    expect(nogroup.stderr).toContain('no host in group "nosuch"');
  });

  test.skipIf(!hasTmux)('on a terminal: an unknown host key is asked about (fingerprint shown), an encrypted key\'s passphrase is asked once, unechoed, never stored', async () => {
    const home = await newHome();
    const enc = await makeKey(path.join(home.home, 'keys'), 'enc', { passphrase: 'tty horse battery' });
    await a.authorize(enc.pub);
    await as(home, ['hosts', 'add', 'db', `root@127.0.0.1:${a.port}`, '--no-connect', '--identity', enc.file, '--agent-command', agentCommand(ws.config)]);
    const env = { HOME: home.home, LIFEBOAT_HOSTS_FILE: path.join(home.home, 'hosts.json'), SSH_AUTH_SOCK: '' };

    // "no" refuses and records nothing
    const no = await onTerminal([process.execPath, BIN, '--host', 'db', 'list'], env, [{ waitFor: /continue connecting\? \(yes\/no\): $/m, send: 'no' }]);
    expect(no.code).toBe(1);
    expect(no.screen).toContain(`ED25519 key fingerprint is ${a.fingerprint}.`);
    expect(no.screen).toContain('not accepted; nothing was recorded');
    expect(existsSync(home.knownHosts)).toBe(false);

    const yes = await onTerminal([process.execPath, BIN, '--host', 'db', 'list'], env, [
      { waitFor: /continue connecting\? \(yes\/no\): $/m, send: 'yes' },
      { waitFor: /Enter passphrase for key '~\/keys\/enc': $/m, send: 'tty horse battery' },
    ]);
    expect(yes.code, yes.screen).toBe(0);
    expect(yes.screen).toContain(`The authenticity of host '[127.0.0.1]:${a.port}'`);
    expect(yes.screen).not.toContain('tty horse battery'); // not echoed
    expect(yes.screen).toMatch(/ID \(UTC start\)|no backups yet/); // the list ran
    expect((await execa('ssh-keygen', ['-F', `[127.0.0.1]:${a.port}`, '-f', home.knownHosts], { reject: false })).exitCode).toBe(0);
    // the passphrase was written nowhere in the operator's home
    const grep = await execa('grep', ['-rl', 'tty horse battery', home.home], { reject: false });
    expect(grep.stdout).toBe('');
  });

  // Jobs run in detached runners (docs/protocol.md): a cut connection no longer
  // cancels the backup; it finishes on the agent (jobs-detached.test.ts re-attaches).
  test('a connection cut mid-backup: the CLI says the SSH connection was lost and how to re-attach; the backup finishes on the agent', async () => {
    // hold a lock so pg_dump waits: the backup is certainly running when the connection is cut
    const psql = execa('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', SAMPLE_DB], { env: pg.env, stdin: 'pipe', reject: false });
    psql.stdin!.write('BEGIN; LOCK TABLE pgbench_accounts IN ACCESS EXCLUSIVE MODE; SELECT 1;\n');
    const before = (await lifeboat(['--json', 'list'], { config: ws.config })).json.backups.length;
    const cli = as(main, ['--host', 'db', '--config', ws.config, 'backup', '-c', 'pg', '-d', SAMPLE_DB, '--label', 'cut']);
    try {
      const waiting = async () => Number(await pg.psql(`SELECT count(*) FROM pg_stat_activity WHERE datname = '${SAMPLE_DB}' AND wait_event_type = 'Lock'`)) > 0;
      const deadline = Date.now() + 30_000;
      while (!(await waiting())) {
        if (Date.now() > deadline) throw new Error(`the backup never waited for the lock: ${await pg.psql('SELECT application_name, state, wait_event_type FROM pg_stat_activity')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // the listener's children are the sessions of this sshd (this file's tests run one at a time)
      const sessions = (await execa('ps', ['--ppid', String(a.pid), '-o', 'pid=']).catch(() => ({ stdout: '' }))).stdout.split('\n').map(Number).filter(Boolean);
      expect(sessions.length).toBeGreaterThan(0);
      for (const pid of sessions) process.kill(pid, 'SIGKILL');
      const r = await cli;
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/agent on db \(root@127\.0\.0\.1:\d+\): the SSH connection was lost; job \S+ goes on on the agent/);
      expect(r.stderr).toMatch(/hint: follow it again: lifeboat -H db --config \S+ jobs attach \S+/);
    } finally {
      psql.stdin!.end('ROLLBACK;\n');
      await psql;
    }
    // the lock is gone: the job, still running in its runner, finishes the backup
    const deadline = Date.now() + 60_000;
    let after = (await lifeboat(['--json', 'list'], { config: ws.config })).json.backups;
    while (after.length === before) {
      if (Date.now() > deadline) throw new Error('the backup never finished after the connection was cut');
      await new Promise((r) => setTimeout(r, 200));
      after = (await lifeboat(['--json', 'list'], { config: ws.config })).json.backups;
    }
    expect(after.length).toBe(before + 1);
    expect(after.some((b: { label?: string }) => b.label === 'cut')).toBe(true);
    // and the agent itself is gone: it stops with its channel, the runner alone went on
    const agentRunning = async () => (await execa('pgrep', ['-f', `agent --stdio --config ${ws.config}`], { reject: false })).stdout.trim() !== '';
    while (await agentRunning()) {
      if (Date.now() > deadline) throw new Error('the remote agent still runs after its connection was cut');
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  test('init keeps its own --host (the PostgreSQL host) while -H picks the SSH host', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-init-'));
    try {
      const cfg = path.join(dir, 'config.json');
      const r = await as(main, ['--json', '-H', 'db', '--config', cfg, 'init', '--cluster', 'far', '--repo', path.join(dir, 'repo'), '--host', '10.1.2.3', '--port', '5433']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(readFileSync(cfg, 'utf8')).clusters.far.connection).toMatchObject({ host: '10.1.2.3', port: 5433 });
      const local = await lifeboat(['--config', path.join(dir, 'local.json'), 'init', '--cluster', 'near', '--repo', path.join(dir, 'repo'), '--host=/run/postgresql']);
      expect(local.code, local.stderr).toBe(0);
      expect(JSON.parse(readFileSync(path.join(dir, 'local.json'), 'utf8')).clusters.near.connection.host).toBe('/run/postgresql');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an agent of another lifeboat version is refused with the deploy command that fixes it', async () => {
    // a stand-in agent that speaks the protocol but reports an older lifeboat
    const fake = path.join(ws.dir, 'old-agent.mjs');
    writeFileSync(
      fake,
      `import { createInterface } from 'node:readline';
for await (const line of createInterface({ input: process.stdin })) {
  const m = JSON.parse(line);
  if (m.method === 'agent.hello') process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { agentVersion: '0.0.9', protocolVersion: 1, host: 'old', pid: process.pid, node: process.version, plugins: [], capabilities: [], config: { path: '/x' } } }) + '\\n');
  else process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { backups: [], invalid: [] } }) + '\\n');
}
`,
    );
    await as(main, ['hosts', 'add', 'oldagent', `root@127.0.0.1:${a.port}`, '--no-connect', '--agent-command', [process.execPath, fake].map(q).join(' ')]);
    const r = await as(main, ['--json', '--host', 'oldagent', 'list']);
    expect(r.code).toBe(1);
    expect(r.json.error.message).toBe('the agent on oldagent is lifeboat 0.0.9, this is lifeboat 0.1.0');
    expect(r.json.error.hint).toContain('lifeboat hosts deploy oldagent');
    await as(main, ['hosts', 'remove', 'oldagent']);
  });

  test('clear failures: unknown inventory name, missing agent command, nothing listening', async () => {
    const unknown = await as(main, ['--json', '--host', 'nosuch', 'list']);
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.code).toBe('UNKNOWN_HOST');
    expect(unknown.stderr).toContain('known hosts: db');

    await as(main, ['hosts', 'add', 'noagent', `root@127.0.0.1:${a.port}`, '--no-connect', '--agent-command', 'lifeboat-not-installed agent --stdio']);
    const missing = await as(main, ['--host', 'noagent', 'list']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('agent command not found: lifeboat-not-installed agent --stdio');

    const port = await freePort();
    await as(main, ['hosts', 'add', 'nothing', `root@127.0.0.1:${port}`, '--no-connect']);
    const refused = await as(main, ['--host', 'nothing', 'list']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`nothing (root@127.0.0.1:${port}): connection refused`);
    // adding with a connection check fails the same way, and adds nothing
    const add = await as(main, ['--json', 'hosts', 'add', 'nothing2', `root@127.0.0.1:${port}`]);
    expect(add.code).toBe(1);
    expect(add.json.error.message).toContain('nothing2 was not added');
    const names = (await as(main, ['--json', 'hosts', 'list'])).json.hosts.map((h: { name: string }) => h.name);
    expect(names).toEqual(['db', 'noagent', 'nothing']);
    for (const n of ['noagent', 'nothing']) expect((await as(main, ['hosts', 'remove', n])).code).toBe(0);
    expect((await as(main, ['hosts', 'remove', 'nothing'])).code).toBe(2);
  });
});
