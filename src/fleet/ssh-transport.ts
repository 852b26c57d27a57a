/**
 * The SSH transport: reach a host's agent over an ssh2 exec channel.
 *
 * - Destination, user, port, identities, ProxyJump hops, keepalives and
 *   known_hosts files come from ~/.ssh/config (./ssh-config.ts), with the
 *   inventory's identity file and jump host taking precedence (like ssh -i/-J).
 * - Authentication: ssh-agent (SSH_AUTH_SOCK) first, then each identity file.
 *   An encrypted key's passphrase is asked on the terminal once per run, kept
 *   in memory only; without a terminal the key is skipped and the failure says so.
 * - Host keys (./known-hosts.ts): a known key connects; an unknown key asks on a
 *   terminal (showing its SHA256 fingerprint), is refused without one unless
 *   --accept-new-host-key (or StrictHostKeyChecking accept-new), and is then
 *   recorded; a changed or revoked key is always refused, naming file:line.
 * - ProxyJump: each hop is its own SSH connection (own user, keys, host key
 *   check) and the next one rides a direct-tcpip channel (forwardOut) of it.
 * - Errors are one line naming the host: DNS, refused, timeout, authentication
 *   (with the methods tried), host key.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, Client as SshClient, ClientChannel, ConnectConfig, ParsedKey, SFTPWrapper } from 'ssh2';
import { LifeboatError } from '../core/errors.js';
import { appendKnownHost, checkHostKey, fingerprint, hostKeyName, keyTypeOf, readKnownHosts, recordedKeyTypes, type HostKeyCheck, type KnownHostEntry } from './known-hosts.js';
import { askHidden, askLine, interactive } from './prompt.js';
import { loadSshConfig, resolveEndpoint, type SshConfig, type SshEndpoint } from './ssh-config.js';
import type { Transport, TransportEnd } from './transport.js';
import { shellQuote } from '../core/shell.js';

const { Client, utils } = ssh2;

/** What the inventory says about one host. */
export interface SshTarget {
  /** Inventory name, for messages. */
  name: string;
  destination: string;
  identityFile?: string;
  jump?: string;
  agentCommand: string;
}

export interface SshOptions {
  /** Record an unknown host key without asking (never a changed one). */
  acceptNewHostKey?: boolean;
  /** Home directory for ~/.ssh (default: os.homedir(), i.e. $HOME). */
  home?: string;
  /** Parsed ssh config (default: ~/.ssh/config and /etc/ssh/ssh_config). */
  sshConfig?: SshConfig;
  /** May we ask on the terminal? Default: stdin and stderr are TTYs. */
  interactive?: boolean;
  /** Per connection (each hop) until authenticated; prompts do not count. Default 15 s or ConnectTimeout. */
  connectTimeoutMs?: number;
  /** Notices (a recorded host key) go here; default stderr. */
  notice?: (line: string) => void;
}

const DEFAULT_TIMEOUT_MS = 15_000;
/** ssh2's host key algorithms, in its default order (recorded types are moved first). */
const HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const ALGOS_FOR_TYPE: Record<string, string[]> = { 'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] };

/** Passphrases asked during this run (memory only, never written anywhere). */
const passphrases = new Map<string, string>();

export function keyLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  if (type === 'ssh-rsa') return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  return type;
}

function tilde(p: string, home: string): string {
  return p.startsWith(home + '/') ? '~' + p.slice(home.length) : p;
}

/** Quote one word for the remote POSIX shell. */
export { shellQuote };

/** Resolve a target through ~/.ssh/config and the inventory's overrides. */
export function resolveTarget(target: Pick<SshTarget, 'destination' | 'identityFile' | 'jump'>, opts: SshOptions = {}): SshEndpoint {
  const home = opts.home ?? os.homedir();
  const config = opts.sshConfig ?? loadSshConfig({ home });
  return resolveEndpoint(config, target.destination, {
    home,
    ...(target.identityFile ? { identityFiles: [target.identityFile] } : {}),
    ...(target.jump ? { jump: target.jump } : {}),
  });
}

/** An authenticated SSH connection and the hops it rides on. */
export interface SshConnection {
  endpoint: SshEndpoint;
  client: SshClient;
  /** Jump connections, first hop first. */
  hops: SshClient[];
  /** Milliseconds from the first TCP connect to the last hop authenticated. */
  connectMs: number;
  end(): void;
}

/** Open a connection to `ep`, hop by hop. */
export async function connect(ep: SshEndpoint, opts: SshOptions = {}, name?: string): Promise<SshConnection> {
  const started = Date.now();
  const chain: SshEndpoint[] = [];
  for (let e: SshEndpoint | undefined = ep; e; e = e.jump) chain.unshift(e);
  const clients: SshClient[] = [];
  const endAll = () => {
    for (const c of [...clients].reverse()) c.end();
  };
  try {
    for (const [i, hop] of chain.entries()) {
      let sock: Duplex | undefined;
      if (i > 0) sock = await forward(clients[i - 1]!, chain[i - 1]!, hop);
      clients.push(await connectOne(hop, sock, opts, i < chain.length - 1 ? `jump host ${hop.alias}` : name));
    }
  } catch (err) {
    endAll();
    throw err;
  }
  return { endpoint: ep, client: clients.at(-1)!, hops: clients.slice(0, -1), connectMs: Date.now() - started, end: endAll };
}

function forward(via: SshClient, viaEp: SshEndpoint, to: SshEndpoint): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, to.host, to.port, (err, stream) => {
      if (err) {
        reject(
          new LifeboatError('HOST_UNREACHABLE', `jump host ${viaEp.alias} could not open a connection to ${to.host}:${to.port}: ${err.message.replace(/^\(SSH\) /, '')}`, {
            hint: `check that ${to.host}:${to.port} is reachable from ${viaEp.host} (and that its sshd allows TCP forwarding: AllowTcpForwarding)`,
          }),
        );
      } else resolve(stream);
    });
  });
}

/** One connection attempt: what its timer, host key check and authentication share. */
interface Attempt {
  ep: SshEndpoint;
  opts: SshOptions;
  home: string;
  /** May the operator be asked (host key, passphrase)? */
  canAsk: boolean;
  /** The connection in messages: `role (label)`, or the label. */
  who: string;
  /** Why the attempt failed, when the host key check or authentication knows better than ssh2's error. */
  failure: LifeboatError | undefined;
  /** The handshake timer stops while the operator answers a prompt, and starts afresh after. */
  pauseTimer(): void;
  startTimer(): void;
}

/** The known_hosts lines that speak for an endpoint, under the name it is recorded as. */
interface KnownFor {
  name: string;
  entries: KnownHostEntry[];
  /** Host key algorithms of the recorded key types, to be offered first. */
  preferred: string[];
}

function knownFor(ep: SshEndpoint): KnownFor {
  const name = ep.hostKeyAlias ?? hostKeyName(ep.host, ep.port);
  const entries = readKnownHosts([...ep.userKnownHostsFiles, ...ep.globalKnownHostsFiles]);
  const preferred = recordedKeyTypes(entries, name).flatMap((t) => ALGOS_FOR_TYPE[t] ?? [t]).filter((a) => HOST_KEY_ALGOS.includes(a));
  return { name, entries, preferred };
}

/** Ends the attempt with an error (the first of ready, failure or timeout counts; later ones are ignored). */
type Fail = (e: LifeboatError) => void;

/** One SSH connection: host key check, authentication, clear errors. */
function connectOne(ep: SshEndpoint, sock: Duplex | undefined, opts: SshOptions, role?: string): Promise<SshClient> {
  const timeoutMs = opts.connectTimeoutMs ?? ep.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const who = role ? `${role} (${ep.label})` : ep.label;
  const known = knownFor(ep);
  const client = new Client();

  return new Promise<SshClient>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const fail: Fail = (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    };
    const a: Attempt = {
      ep,
      opts,
      who,
      home: opts.home ?? os.homedir(),
      canAsk: opts.interactive ?? interactive(),
      failure: undefined,
      pauseTimer: () => clearTimeout(timer),
      startTimer: () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          fail(new LifeboatError('HOST_UNREACHABLE', `${who}: timed out after ${Math.round(timeoutMs / 1000)} s (no SSH session)`, {
            hint: `check that ${ep.host} is up and port ${ep.port} is not filtered; ConnectTimeout in ~/.ssh/config sets this limit`,
          }));
          client.destroy();
          if (sock) sock.destroy();
        }, timeoutMs);
      },
    };

    client.on('ready', () => {
      if (settled) return client.end();
      settled = true;
      clearTimeout(timer);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => fail(a.failure ?? classify(err, ep, who)));
    client.on('close', () => fail(a.failure ?? new LifeboatError('HOST_UNREACHABLE', `${who}: the connection closed during the SSH handshake`, { hint: 'is that port an SSH server? (MaxStartups on a busy sshd also closes connections)' })));

    const config = connectConfig(a, known, sock, (e) => {
      fail(e);
      client.end();
    });
    a.startTimer();
    try {
      client.connect(config);
    } catch (err) {
      fail(new LifeboatError('CONNECTION_FAILED', `${who}: ${(err as Error).message}`));
    }
  });
}

/** ssh2's settings for one attempt: our host key check and authentication, the recorded key types first. */
function connectConfig(a: Attempt, known: KnownFor, sock: Duplex | undefined, authBroke: Fail): ConnectConfig {
  const ep = a.ep;
  return {
    host: ep.host,
    port: ep.port,
    username: ep.user,
    readyTimeout: 0, // our own timer, paused while the operator answers a prompt
    // two parameters: ssh2 waits for verify(), so the operator can be asked
    hostVerifier: ((key: Buffer, verify: (ok: boolean) => void) => {
      void verifyHostKey(a, known, key).then(verify, (err) => {
        a.failure = new LifeboatError('HOST_KEY_UNKNOWN', `${a.who}: ${(err as Error).message}`);
        verify(false);
      });
    }) satisfies ssh2.HostVerifier,
    // ssh2 accepts next(false) to stop (its typings do not say so)
    authHandler: authHandler(a, authBroke) as unknown as ConnectConfig['authHandler'],
    algorithms: { serverHostKey: [...new Set([...known.preferred, ...HOST_KEY_ALGOS])] as ssh2.ServerHostKeyAlgorithm[] },
    ...(sock ? { sock } : {}),
    ...(ep.keepaliveIntervalMs ? { keepaliveInterval: ep.keepaliveIntervalMs } : {}),
    ...(ep.keepaliveCountMax !== undefined ? { keepaliveCountMax: ep.keepaliveCountMax } : {}),
    ...(process.env.LIFEBOAT_DEBUG?.includes('ssh') ? { debug: (m: string) => process.stderr.write(`ssh ${ep.alias}: ${m}\n`) } : {}),
  };
}

// --- host key ---------------------------------------------------------------

/** A known key connects; a revoked or changed one never does; an unknown one is asked about or accepted by option. */
async function verifyHostKey(a: Attempt, known: KnownFor, key: Buffer): Promise<boolean> {
  const type = keyTypeOf(key);
  const fp = fingerprint(key);
  const check = checkHostKey(known.entries, known.name, key);
  if (check.status === 'match') return true;
  if (check.status === 'revoked' || check.status === 'changed') {
    a.failure = keyRefused(a.who, known.name, type, fp, check);
    return false;
  }
  return acceptUnknownKey(a, known.name, key, check.otherTypes);
}

/** The error for a key that known_hosts marks revoked, or records differently. */
function keyRefused(who: string, knownName: string, type: string, fp: string, check: Extract<HostKeyCheck, { status: 'revoked' | 'changed' }>): LifeboatError {
  const at = `${check.entry.file}:${check.entry.line}`;
  if (check.status === 'revoked') {
    return new LifeboatError('HOST_KEY_CHANGED', `${who}: the host key ${keyLabel(type)} ${fp} is REVOKED (${at}); refusing to connect`, {
      hint: 'the key was marked revoked on purpose: ask the host\'s admin for its new key',
    });
  }
  return new LifeboatError(
    'HOST_KEY_CHANGED',
    `HOST KEY CHANGED for ${knownName} (${who}): it now offers ${keyLabel(type)} ${fp}, but ${at} records a different key. Someone may be intercepting the connection, or the host was reinstalled. Refusing to connect.`,
    {
      hint: `if the change is expected (check the fingerprint with the host's admin), remove the old key: ssh-keygen -R ${shellQuote(knownName)} -f ${shellQuote(check.entry.file)}`,
      details: { file: check.entry.file, line: check.entry.line, fingerprint: fp, host: knownName },
    },
  );
}

/** A key seen for the first time: recorded when accepted (option, accept-new, or the operator's yes); else the attempt fails. */
async function acceptUnknownKey(a: Attempt, knownName: string, key: Buffer, otherTypes: KnownHostEntry[]): Promise<boolean> {
  const { ep, who } = a;
  const type = keyTypeOf(key);
  const fp = fingerprint(key);
  const others = otherTypes.length ? ` (${otherTypes.map((e) => `${keyLabel(e.keyType)} key at ${e.file}:${e.line}`).join(', ')} is recorded, not this type)` : '';
  const file = ep.userKnownHostsFiles[0];
  if (!file) {
    a.failure = new LifeboatError('HOST_KEY_UNKNOWN', `${who}: host key ${keyLabel(type)} ${fp} is not known and UserKnownHostsFile is none`);
    return false;
  }
  let accept = !!a.opts.acceptNewHostKey || ep.acceptNew;
  if (!accept && a.canAsk) {
    a.pauseTimer();
    const answer = await askLine(
      `The authenticity of host '${knownName}' (${who}) can't be established${others}.\n` +
        `${keyLabel(type)} key fingerprint is ${fp}.\n` +
        `Add it to ${tilde(file, a.home)} and continue connecting? (yes/no): `,
    );
    a.startTimer();
    accept = /^y(es)?$/i.test(answer);
    if (!accept) {
      a.failure = new LifeboatError('HOST_KEY_UNKNOWN', `${who}: host key ${keyLabel(type)} ${fp} not accepted; nothing was recorded`);
      return false;
    }
  }
  if (!accept) {
    a.failure = new LifeboatError('HOST_KEY_UNKNOWN', `${who}: host key ${keyLabel(type)} ${fp} is not known (no terminal to ask)${others}`, {
      hint: `compare the fingerprint with the host's (ssh-keygen -lf /etc/ssh/ssh_host_${type === 'ssh-ed25519' ? 'ed25519' : type.startsWith('ecdsa') ? 'ecdsa' : 'rsa'}_key.pub on it), then run again with --accept-new-host-key`,
      details: { fingerprint: fp, host: knownName },
    });
    return false;
  }
  const at = appendKnownHost(file, knownName, key, { hash: ep.hashKnownHosts });
  const notice = a.opts.notice ?? ((l: string) => process.stderr.write(`lifeboat: ${l}\n`));
  notice(`recorded the host key of ${knownName} (${keyLabel(type)} ${fp}) in ${at.file}:${at.line}`);
  return true;
}

// --- authentication -----------------------------------------------------------

/** What authentication tried, for the error when nothing worked. */
interface AuthLog {
  tried: string[];
  /** Encrypted keys that could not be opened (no terminal to ask). */
  locked: string[];
  /** The methods the server said it accepts. */
  serverAllows?: AuthenticationType[];
}

type AuthStep = () => Promise<AnyAuthMethod | null>;

/** ssh2's authHandler: ssh-agent, then each identity file, while the server still takes public keys. */
function authHandler(a: Attempt, broke: Fail) {
  const log: AuthLog = { tried: [], locked: [] };
  const queue = authSteps(a, log);
  return (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, next: (r: AnyAuthMethod | false) => void) => {
    if (methodsLeft) log.serverAllows = methodsLeft;
    void (async () => {
      while (queue.length) {
        const step = queue.shift()!;
        if (log.serverAllows && !log.serverAllows.includes('publickey')) break;
        const r = await step();
        if (r) return next(r);
      }
      a.failure ??= authFailure(a, log);
      next(false);
    })().catch((err) => broke(new LifeboatError('AUTH_FAILED', `${a.who}: ${(err as Error).message}`)));
  };
}

/** The ways to log in, in order; each returns null to pass to the next. */
function authSteps(a: Attempt, log: AuthLog): AuthStep[] {
  const { ep } = a;
  const steps: AuthStep[] = [];
  if (process.env.SSH_AUTH_SOCK && !ep.identitiesOnly) {
    const agentSock = process.env.SSH_AUTH_SOCK;
    steps.push(async () => {
      log.tried.push('ssh-agent');
      return { type: 'agent', username: ep.user, agent: agentSock } as AnyAuthMethod;
    });
  }
  for (const file of ep.identityFiles) steps.push(() => identityStep(a, log, file));
  return steps;
}

/** One identity file as a public key login: read, opened with its passphrase (asked once a run), or skipped saying why. */
async function identityStep(a: Attempt, log: AuthLog, file: string): Promise<AnyAuthMethod | null> {
  const shown = tilde(file, a.home);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    if (a.ep.identitiesConfigured) log.tried.push(`${shown} (${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable'})`);
    return null;
  }
  let key = utils.parseKey(data, passphrases.get(file));
  if (key instanceof Error && /no passphrase given/i.test(key.message)) {
    if (!a.canAsk) {
      log.tried.push(`${shown} (encrypted; no terminal to ask for its passphrase)`);
      log.locked.push(shown);
      return null;
    }
    a.pauseTimer();
    const pass = await askHidden(`Enter passphrase for key '${shown}': `);
    a.startTimer();
    if (pass === undefined || pass === '') {
      log.tried.push(`${shown} (no passphrase given)`);
      return null;
    }
    key = utils.parseKey(data, pass);
    if (key instanceof Error) {
      log.tried.push(`${shown} (wrong passphrase)`);
      return null;
    }
    passphrases.set(file, pass);
  }
  if (key instanceof Error) {
    log.tried.push(`${shown} (not a private key: ${key.message})`);
    return null;
  }
  const parsed = (Array.isArray(key) ? key[0] : key) as ParsedKey;
  log.tried.push(shown);
  return { type: 'publickey', username: a.ep.user, key: parsed } as AnyAuthMethod;
}

/** Nothing logged in: what was tried, what the server takes, and the likely fix. */
function authFailure(a: Attempt, log: AuthLog): LifeboatError {
  const { ep } = a;
  const allows = log.serverAllows;
  return new LifeboatError(
    'AUTH_FAILED',
    `${a.who}: authentication failed (tried: ${log.tried.join(', ') || 'nothing: no ssh-agent and no identity file'}${allows ? `; the server accepts: ${allows.join(', ')}` : ''})`,
    {
      hint: allows && !allows.includes('publickey')
        ? 'lifeboat logs in with keys only: enable PubkeyAuthentication on the host'
        : log.locked.length
          ? `load the key into ssh-agent (ssh-add ${log.locked.join(' ')}) or run on a terminal to type its passphrase`
          : `put the public key in ~${ep.user}/.ssh/authorized_keys on ${ep.host}, or choose the key: lifeboat hosts add --identity FILE, IdentityFile in ~/.ssh/config, or ssh-add`,
    },
  );
}

/** A socket or protocol error as one line naming the host. */
function classify(err: Error & { level?: string; code?: string }, ep: SshEndpoint, who: string): LifeboatError {
  const where = `${ep.host}:${ep.port}`;
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new LifeboatError('HOST_UNREACHABLE', `${who}: cannot resolve host name ${ep.host}${ep.alias !== ep.host ? ` (HostName of ${ep.alias})` : ''}`, {
        hint: 'check the name (HostName in ~/.ssh/config, or the inventory destination) and DNS',
      });
    case 'ECONNREFUSED':
      return new LifeboatError('HOST_UNREACHABLE', `${who}: connection refused`, { hint: `is sshd running on ${ep.host}, on port ${ep.port}?` });
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return new LifeboatError('HOST_UNREACHABLE', `${who}: ${where} is unreachable (${err.code})`, { hint: 'check the network path (VPN, firewall) or use a jump host' });
    case 'ECONNRESET':
      return new LifeboatError('HOST_UNREACHABLE', `${who}: ${where} reset the connection during the SSH handshake`, { hint: 'is that port an SSH server? a firewall or sshd\'s MaxStartups can also do this' });
  }
  if (err.level === 'client-authentication') {
    return new LifeboatError('AUTH_FAILED', `${who}: authentication failed: ${err.message}`);
  }
  if (err.level === 'client-timeout') return new LifeboatError('HOST_UNREACHABLE', `${who}: timed out during the SSH handshake`);
  if (err.level === 'protocol' || err.level === 'handshake') {
    return new LifeboatError('CONNECTION_FAILED', `${who}: SSH handshake failed: ${err.message}`, { hint: 'the server and lifeboat share no algorithm, or the port is not SSH' });
  }
  return new LifeboatError('CONNECTION_FAILED', `${who}: ${err.message}`);
}

/** Run a command on a connection; the channel with stderr captured. */
function exec(conn: SshConnection, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    conn.client.exec(command, (err, channel) => {
      if (err) reject(new LifeboatError('CONNECTION_FAILED', `${conn.endpoint.label}: could not start "${command}": ${err.message}`));
      else resolve(channel);
    });
  });
}

/** The remote agent command, with --config when the operator named one (a path on that host). */
export function remoteAgentCommand(agentCommand: string, configPath?: string): string {
  return configPath ? `${agentCommand} --config ${shellQuote(configPath)}` : agentCommand;
}

// --- shared connections (fleet-wide commands) ------------------------------
//
// Several inventory entries often reach the same SSH destination (one host with
// several agent configs, or entries that differ only in groups). Given a pool,
// their agents ride exec channels of one connection: one handshake, one host
// key check, one login, instead of one each. At most
// MAX_CHANNELS_PER_CONNECTION channels per connection (OpenSSH's MaxSessions
// defaults to 10); beyond that another connection is opened. Without a pool
// (single-host commands) each agent has a connection of its own.

const MAX_CHANNELS_PER_CONNECTION = 8;
interface Slot {
  conn: Promise<SshConnection>;
  users: number;
  /** The inventory name the connection was opened for (its errors name it). */
  openedFor: string;
}

/**
 * The connections one fleet-wide run shares among inventory entries with the
 * same destination, user, keys and hops. Made by the command that runs on
 * many hosts and handed to each spawnSshAgent; a connection ends when its last
 * agent does. `LIFEBOAT_SSH_SHARE=0` (read when the pool is made) turns
 * sharing off: every entry then gets its own connection.
 */
export class SshPool {
  readonly sharing = process.env.LIFEBOAT_SSH_SHARE !== '0';
  private readonly slots = new Map<string, Slot[]>();

  /** A connection for one agent: a lease on a shared one (end() releases the lease), or its own when sharing is off. */
  async acquire(ep: SshEndpoint, opts: SshOptions, name: string): Promise<SshConnection> {
    if (!this.sharing) return connect(ep, opts, name);
    const slots = this.slotsFor(ep);
    const s = slots.find((x) => x.users < MAX_CHANNELS_PER_CONNECTION) ?? this.open(slots, ep, opts, name);
    s.users++;
    let c: SshConnection;
    try {
      c = await s.conn;
    } catch (err) {
      s.users--;
      throw renamed(err, s.openedFor, name);
    }
    let released = false;
    return {
      ...c,
      end: () => {
        if (released) return;
        released = true;
        if (--s.users === 0) {
          const i = slots.indexOf(s);
          if (i >= 0) slots.splice(i, 1);
          c.end();
        }
      },
    };
  }

  private slotsFor(ep: SshEndpoint): Slot[] {
    const key = endpointKey(ep);
    const slots = this.slots.get(key) ?? [];
    this.slots.set(key, slots);
    return slots;
  }

  /** A new shared connection; forgotten if it fails, so the next entry tries afresh. */
  private open(slots: Slot[], ep: SshEndpoint, opts: SshOptions, name: string): Slot {
    const fresh: Slot = { conn: connect(ep, opts, name), users: 0, openedFor: name };
    slots.push(fresh);
    fresh.conn.catch(() => slots.splice(slots.indexOf(fresh) >>> 0, 1));
    return fresh;
  }
}

/** A shared connection's failure is each waiting entry's too: name that entry, not the one the connection was opened for. */
function renamed(err: unknown, openedFor: string, name: string): unknown {
  if (err instanceof LifeboatError && openedFor !== name && err.message.startsWith(`${openedFor} (`)) {
    return new LifeboatError(err.code, name + err.message.slice(openedFor.length), { ...(err.hint ? { hint: err.hint } : {}), ...(err.details ? { details: err.details } : {}) });
  }
  return err;
}

function endpointKey(ep: SshEndpoint): string {
  const parts: unknown[] = [];
  for (let e: SshEndpoint | undefined = ep; e; e = e.jump) {
    parts.push([e.host, e.port, e.user, e.identityFiles, e.identitiesOnly, e.hostKeyAlias ?? '', e.userKnownHostsFiles]);
  }
  return JSON.stringify(parts);
}

/**
 * Connect to a host and start its agent: a Transport for AgentClient. With a
 * pool (fleet-wide runs) the connection may be shared with other entries.
 */
export async function spawnSshAgent(target: SshTarget, opts: SshOptions & { configPath?: string; pool?: SshPool } = {}): Promise<Transport & { connection: SshConnection }> {
  const ep = resolveTarget(target, opts);
  const { pool, ...sshOpts } = opts;
  const shared = !!pool?.sharing;
  let conn = pool ? await pool.acquire(ep, sshOpts, target.name) : await connect(ep, sshOpts, target.name);
  const command = remoteAgentCommand(target.agentCommand, opts.configPath);
  let channel: ClientChannel;
  try {
    channel = await exec(conn, command);
  } catch (err) {
    conn.end();
    if (!shared) throw err;
    // a shared connection may be at the server's MaxSessions: use a connection of our own
    conn = await connect(ep, sshOpts, target.name);
    try {
      channel = await exec(conn, command);
    } catch (err2) {
      conn.end();
      throw err2;
    }
  }
  let stderr = '';
  // a write racing the channel's end must not crash the CLI: the close below reports it
  channel.on('error', (e: Error) => (stderr += `\n${e.message}`));
  channel.stderr.setEncoding('utf8');
  channel.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8000);
    if (process.env.LIFEBOAT_DEBUG) process.stderr.write(d);
  });
  const description = `agent on ${target.name} (${ep.label})`;
  let lost: string | undefined;
  conn.client.on('error', (e: Error) => {
    lost ??= e.message;
  });
  for (const h of conn.hops) h.on('error', (e: Error) => (lost ??= e.message));
  const closed = new Promise<TransportEnd>((resolve) => {
    let code: number | null = null;
    let signal: string | null = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      conn.end();
      const end: TransportEnd = { code, signal, stderr };
      const tail = stderr.trim().split('\n').filter(Boolean).slice(-1)[0];
      if (code === 127 || (code !== 0 && /command not found|No such file or directory/.test(tail ?? ''))) {
        end.error = new LifeboatError('AGENT_FAILED', `${description}: agent command not found: ${command}${tail ? ` (${tail})` : ''}`, {
          hint: `install the agent there with: lifeboat hosts deploy ${target.name} (needs Node.js >= 20 on the host), or set the command that starts it: lifeboat hosts add ${target.name} ${target.destination} --agent-command 'CMD'`,
        });
      } else if (code === null && signal === null) {
        end.error = new LifeboatError('CONNECTION_FAILED', `${description}: the SSH connection was lost${lost ? ` (${lost})` : ''}`, {
          hint: 'a job the agent was running is cancelled when its connection ends; run it again',
        });
      }
      resolve(end);
    };
    channel.on('exit', (c: number | null, s?: string) => {
      code = typeof c === 'number' ? c : null;
      signal = s ?? null;
    });
    channel.on('close', finish);
    conn.client.on('close', finish);
  });
  return {
    description,
    input: channel,
    output: channel,
    closed,
    close: () => {
      channel.end();
    },
    connection: conn,
  };
}

/** Connect to an inventory target (all hops, host keys, login) without starting anything. */
export async function openSsh(target: Pick<SshTarget, 'name' | 'destination' | 'identityFile' | 'jump'>, opts: SshOptions = {}): Promise<SshConnection> {
  return connect(resolveTarget(target, opts), opts, target.name);
}

/** What a remote command printed and how it ended. */
export interface RemoteResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** The line a remote command's wrapper prints last: its exit status, for when the server sends none. */
const EXIT_MARK = '@@lifeboat-exit';

/**
 * The command as it runs on the host: its exit status is also printed, as the
 * last line of stdout. SSH servers report it in an exit-status message; on a
 * loaded host that message was seen to go missing now and then (the channel
 * closed without one, exit code null, in 1 of a few hundred runs), and a
 * deploy then failed with "exit code null" for a command that had succeeded.
 * POSIX shells only, as the rest of deploy.
 */
export function withExitMark(command: string): string {
  return `${command}\nlifeboat_rc=$?; printf '\\n${EXIT_MARK} %d\\n' "$lifeboat_rc"; exit "$lifeboat_rc"`;
}

/** stdout without the mark, and the status the mark gave. */
export function splitExitMark(stdout: string): { stdout: string; code?: number } {
  const m = new RegExp(`\\n?${EXIT_MARK} (\\d+)\\n?$`).exec(stdout);
  if (!m) return { stdout };
  return { stdout: stdout.slice(0, m.index), code: Number(m[1]) };
}

/** Run one command on an open connection and collect its output (small outputs only: capped at 1 MiB). */
export async function runRemote(conn: SshConnection, command: string, opts: { timeoutMs?: number } = {}): Promise<RemoteResult> {
  const channel = await exec(conn, withExitMark(command));
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let code: number | null = null;
    let signal: string | null = null;
    const timer = setTimeout(() => {
      channel.close();
      reject(new LifeboatError('COMMAND_FAILED', `${conn.endpoint.label}: "${command}" did not finish within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s`));
    }, opts.timeoutMs ?? 60_000);
    channel.setEncoding('utf8');
    channel.stderr.setEncoding('utf8');
    channel.on('data', (d: string) => (stdout = (stdout + d).slice(-1_048_576)));
    channel.stderr.on('data', (d: string) => (stderr = (stderr + d).slice(-1_048_576)));
    channel.on('error', () => undefined);
    channel.on('exit', (c: number | null, s?: string) => {
      code = typeof c === 'number' ? c : null;
      signal = s ?? null;
    });
    channel.on('close', () => {
      clearTimeout(timer);
      const marked = splitExitMark(stdout);
      // the server's exit-status when it sent one; else the wrapper's line
      resolve({ code: code ?? (signal === null ? (marked.code ?? null) : null), signal, stdout: marked.stdout, stderr });
    });
    channel.end();
  });
}

/** The SFTP subsystem on an open connection; a clear error when the server offers none. */
export function openSftp(conn: SshConnection): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => {
    conn.client.sftp((err, sftp) => {
      if (err) {
        reject(
          new LifeboatError('UNSUPPORTED', `${conn.endpoint.label}: the SSH server offers no SFTP (${err.message})`, {
            hint: 'enable it in the host\'s sshd_config: Subsystem sftp internal-sftp (or /usr/lib/openssh/sftp-server)',
          }),
        );
      } else resolve(sftp);
    });
  });
}
