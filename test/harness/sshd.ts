/**
 * Throwaway OpenSSH servers for integration tests.
 *
 * {@link startSshd} runs Debian's /usr/sbin/sshd (package openssh-server,
 * installed by `bash scripts/setup.sh --test`) as root in the foreground
 * (`-D -e -f CONFIG`) with everything in a temp dir: its own config, a host
 * key made with ssh-keygen, the pid file, an authorized_keys file, a log of
 * its stderr. It listens on a free port of 127.0.0.1, allows public-key
 * logins only (no passwords, no PAM; StrictModes off because temp dirs are not
 * root-only), and is stopped by pid. {@link sshSkipReason} says why SSH tests
 * cannot run here (not root, no sshd), so they skip with a printed reason.
 *
 * Clients get per-test keys ({@link makeKey}) and a test HOME
 * ({@link makeSshHome}) with .ssh/config and known_hosts.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { freePort } from './pg.js';

export const SSHD = '/usr/sbin/sshd';
const IS_ROOT = process.getuid?.() === 0;

/** Why SSH tests cannot run here, or undefined when they can. */
export function sshSkipReason(): string | undefined {
  if (!IS_ROOT) return 'SSH tests need root (the test sshd runs as root to log users in)';
  if (!existsSync(SSHD)) return `no ${SSHD}: install openssh-server (bash scripts/setup.sh --test)`;
  return undefined;
}

export interface Sshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly dir: string;
  /** Private host key file; `${hostKey}.pub` is the public one. */
  readonly hostKey: string;
  /** The public host key line (`ssh-ed25519 AAAA… comment`). */
  readonly hostKeyLine: string;
  /** `SHA256:…` as ssh-keygen -lf prints it. */
  readonly fingerprint: string;
  readonly authorizedKeys: string;
  readonly logFile: string;
  readonly pid: number;
  /** Allow a client public key (its .pub line) to log in. */
  authorize(publicKeyLine: string): Promise<void>;
  log(): Promise<string>;
  /** Stop the listener (by pid); open sessions end with their clients. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGTERM');
});

export { freePort };

export interface Key {
  /** Private key file. */
  file: string;
  /** Public key line. */
  pub: string;
  fingerprint: string;
}

/** A fresh key pair made by ssh-keygen (OpenSSH format). */
export async function makeKey(dir: string, name: string, opts: { type?: 'ed25519' | 'ecdsa' | 'rsa'; passphrase?: string } = {}): Promise<Key> {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const type = opts.type ?? 'ed25519';
  await execa('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', opts.passphrase ?? '', '-C', `lifeboat-test-${name}`, '-f', file]);
  await chmod(file, 0o600);
  const pub = (await readFile(`${file}.pub`, 'utf8')).trim();
  const fp = (await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`])).stdout.split(/\s+/)[1]!;
  return { file, pub, fingerprint: fp };
}

/** Start a test sshd. */
export async function startSshd(opts: { name?: string; hostKeyType?: 'ed25519' | 'ecdsa' | 'rsa'; authorized?: string[]; logLevel?: string; extra?: string[] } = {}): Promise<Sshd> {
  const reason = sshSkipReason();
  if (reason) throw new Error(reason);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(path.join(os.tmpdir(), `lifeboat-sshd-${opts.name ?? 'x'}-`));
  const type = opts.hostKeyType ?? 'ed25519';
  const key = await makeKey(dir, `ssh_host_${type}_key`, { type });
  const authorizedKeys = path.join(dir, 'authorized_keys');
  await writeFile(authorizedKeys, (opts.authorized ?? []).map((l) => l + '\n').join(''), { mode: 0o600 });
  const logFile = path.join(dir, 'sshd.log');
  const pidFile = path.join(dir, 'sshd.pid');
  const config = path.join(dir, 'sshd_config');
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    await writeFile(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${key.file}`,
        `PidFile ${pidFile}`,
        `AuthorizedKeysFile ${authorizedKeys}`,
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'AllowTcpForwarding yes',
        'MaxStartups 200',
        'MaxSessions 100',
        'PrintMotd no',
        `LogLevel ${opts.logLevel ?? 'VERBOSE'}`,
        ...(opts.extra ?? []),
      ].join('\n') + '\n',
    );
    const fd = openSync(logFile, 'a');
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    running.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => running.delete(child));
    // ready when the port accepts connections (or the daemon died)
    const deadline = Date.now() + 10_000;
    let up = false;
    let dead = false;
    void exited.then(() => (dead = true));
    while (!up && !dead && Date.now() < deadline) {
      up = await canConnect(port);
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    if (up) {
      const sshd: Sshd = {
        host: '127.0.0.1',
        port,
        dir,
        hostKey: key.file,
        hostKeyLine: key.pub,
        fingerprint: key.fingerprint,
        authorizedKeys,
        logFile,
        pid: child.pid!,
        authorize: async (line) => {
          const prev = await readFile(authorizedKeys, 'utf8');
          await writeFile(authorizedKeys, prev + line.trim() + '\n');
        },
        log: () => readFile(logFile, 'utf8'),
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) {
            process.kill(child.pid!, 'SIGTERM');
            await exited;
          }
        },
      };
      return sshd;
    }
    if (!dead) process.kill(child.pid!, 'SIGKILL');
    await exited;
    lastErr = await readFile(logFile, 'utf8').catch(() => '');
    if (!/Address already in use|Bind to port/.test(lastErr)) break;
  }
  throw new Error(`test sshd did not start:\n${lastErr.trim().split('\n').slice(-10).join('\n')}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });
}

export interface SshHome {
  /** Use as HOME for the CLI under test. */
  home: string;
  sshDir: string;
  knownHosts: string;
  /** Write ~/.ssh/config. */
  writeConfig(text: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** An empty HOME with ~/.ssh (0700). */
export async function makeSshHome(): Promise<SshHome> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-home-'));
  const sshDir = path.join(home, '.ssh');
  mkdirSync(sshDir, { mode: 0o700 });
  return {
    home,
    sshDir,
    knownHosts: path.join(sshDir, 'known_hosts'),
    writeConfig: (text) => writeFile(path.join(sshDir, 'config'), text, { mode: 0o600 }),
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

/** Remove a test sshd's temp dir (after stop). */
export async function removeSshd(s: Sshd | undefined): Promise<void> {
  if (!s) return;
  await s.stop();
  await rm(s.dir, { recursive: true, force: true });
}
