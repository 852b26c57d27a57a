/**
 * OpenSSH known_hosts files: read, check a server's raw host key, append.
 *
 * Understood: plain host lists (`a,b,10.0.0.1`), wildcards and `!` negation,
 * the port form `[host]:port` (used whenever the port is not 22), hashed names
 * (`|1|salt|hmac-sha1`), `@revoked` lines (a revoked key is refused even when
 * another line accepts it) and comments. `@cert-authority` lines are skipped:
 * lifeboat does not accept host certificates, only plain host keys.
 *
 * New entries are written hashed unless `HashKnownHosts no` is set (the
 * Debian default is yes, and a hashed file does not list a laptop's fleet to
 * whoever reads it), in the same format `ssh` writes, so `ssh-keygen -F`
 * finds them and `ssh` trusts them.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { matchPatterns } from './ssh-config.js';

export interface KnownHostEntry {
  file: string;
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Comma-separated patterns, or a hashed name. */
  hosts: { patterns: string[] } | { salt: Buffer; hash: Buffer };
  keyType: string;
  key: Buffer;
}

/** The name a key is recorded under: `host`, or `[host]:port` off port 22. */
export function hostKeyName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** `SHA256:` + unpadded base64 of the key's sha256 (what `ssh-keygen -lf` prints). */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The key type inside an SSH wire-format public key blob (`ssh-ed25519`, ...). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  if (n <= 0 || n > 64 || 4 + n > key.length) return 'unknown';
  return key.subarray(4, 4 + n).toString('latin1');
}

/** Parse one file's text; bad lines are skipped (as ssh does). */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i]!.trim();
    if (!raw || raw.startsWith('#')) continue;
    const words = raw.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (words[0]!.startsWith('@')) {
      const m = words.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue;
    }
    const [hostsText, keyType, b64] = words;
    if (!hostsText || !keyType || !b64) continue;
    const key = Buffer.from(b64, 'base64');
    if (key.length === 0 || keyTypeOf(key) !== keyType) continue;
    let hosts: KnownHostEntry['hosts'];
    if (hostsText.startsWith('|1|')) {
      const [, , salt, hash] = hostsText.split('|');
      if (!salt || !hash) continue;
      hosts = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
    } else hosts = { patterns: hostsText.split(',') };
    out.push({ file, line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, key });
  }
  return out;
}

/** Read every file that exists (missing ones are normal on a fresh laptop). */
export function readKnownHosts(files: string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    out.push(...parseKnownHosts(text, file));
  }
  return out;
}

export function entryMatches(e: KnownHostEntry, name: string): boolean {
  if ('patterns' in e.hosts) return matchPatterns(e.hosts.patterns, name.toLowerCase());
  const mac = createHmac('sha1', e.hosts.salt).update(name).digest();
  return mac.length === e.hosts.hash.length && timingSafeEqual(mac, e.hosts.hash);
}

export type HostKeyCheck =
  | { status: 'match'; entry: KnownHostEntry }
  | { status: 'unknown'; otherTypes: KnownHostEntry[] }
  | { status: 'changed'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry };

/** Check a server key against the entries for `name` (`host` or `[host]:port`). */
export function checkHostKey(entries: KnownHostEntry[], name: string, key: Buffer): HostKeyCheck {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const forHost = entries.filter((e) => !e.marker && entryMatches(e, name));
  const same = forHost.find((e) => e.key.equals(key));
  if (same) return { status: 'match', entry: same };
  const type = keyTypeOf(key);
  const changed = forHost.find((e) => e.keyType === type);
  if (changed) return { status: 'changed', entry: changed };
  return { status: 'unknown', otherTypes: forHost };
}

/** Key types recorded for a host, to ask the server for those first (as ssh does). */
export function recordedKeyTypes(entries: KnownHostEntry[], name: string): string[] {
  return [...new Set(entries.filter((e) => !e.marker && entryMatches(e, name)).map((e) => e.keyType))];
}

/** The known_hosts line for a key: hashed (`|1|salt|hash`) or plain. */
export function formatEntry(name: string, key: Buffer, hash: boolean): string {
  let hosts = name;
  if (hash) {
    const salt = randomBytes(20);
    hosts = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  return `${hosts} ${keyTypeOf(key)} ${key.toString('base64')}`;
}

/** Append a key for `name`; creates ~/.ssh (0700) and the file (0600) when missing. */
export function appendKnownHost(file: string, name: string, key: Buffer, opts: { hash: boolean }): { file: string; line: number } {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // a new file
  }
  const prefix = text && !text.endsWith('\n') ? '\n' : '';
  appendFileSync(file, prefix + formatEntry(name, key, opts.hash) + '\n', { mode: 0o600 });
  return { file, line: (text + prefix).split('\n').length };
}
