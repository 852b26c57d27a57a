/**
 * OpenSSH client configuration (~/.ssh/config, /etc/ssh/ssh_config), read the
 * way `ssh` reads it, for the options lifeboat's SSH transport uses:
 *
 * - `Host` blocks with several patterns, `*` and `?` wildcards and `!` negation
 *   (a negated match rules the block out); `Match all` is `Host *`; other `Match`
 *   criteria are not evaluated: their blocks are skipped and reported in
 *   `warnings`.
 * - The first obtained value wins (user file before system file, top to bottom),
 *   except `IdentityFile` and `UserKnownHostsFile` lines, which accumulate.
 * - `Include` (several arguments, `*`/`?` globs in the file name, relative paths
 *   from ~/.ssh or /etc/ssh) is expanded in place; inside a `Host` block the
 *   included lines apply only when that block matches.
 * - Tokens: `%h` (remote host), `%n` (host as typed), `%p`, `%r`, `%u`, `%l`,
 *   `%d`, `%%`; `~/` expands to the home directory.
 * - `ProxyJump` hops (`[user@]host[:port]` or `ssh://…`, comma-separated) are
 *   themselves resolved through the configuration, so hops may be aliases.
 *   `ProxyCommand` is not supported and says so.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../core/errors.js';

/** One `keyword args…` line and the blocks that must match for it to apply. */
export interface SshConfigLine {
  keyword: string;
  args: string[];
  file: string;
  line: number;
  /** Every condition must hold: the patterns of the Host blocks it sits in (outer first). */
  when: (string[] | 'never')[];
}

export interface SshConfig {
  lines: SshConfigLine[];
  /** Things we read but do not act on (unsupported Match blocks, unreadable includes). */
  warnings: string[];
  files: string[];
}

const MULTI = new Set(['identityfile', 'userknownhostsfile', 'certificatefile', 'localforward', 'remoteforward', 'dynamicforward', 'sendenv']);

/** Split one config line into words: whitespace or one `=` after the keyword, double quotes group. */
export function tokenize(text: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = text.trim();
  // keyword, then an optional `=` (with spaces) as separator
  const kw = /^([^\s=]+)\s*(?:=\s*|\s+|$)/.exec(s);
  if (!kw) return [];
  out.push(kw[1]!);
  i = kw[0].length;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    if (s[i] === '#') break; // trailing comment after whitespace
    let word = '';
    if (s[i] === '"') {
      const end = s.indexOf('"', i + 1);
      if (end < 0) throw new LifeboatError('CONFIG_INVALID', `${where}: unterminated quote`);
      word = s.slice(i + 1, end);
      i = end + 1;
    } else {
      while (i < s.length && !/\s/.test(s[i]!)) {
        if (s[i] === '"') {
          const end = s.indexOf('"', i + 1);
          if (end < 0) throw new LifeboatError('CONFIG_INVALID', `${where}: unterminated quote`);
          word += s.slice(i + 1, end);
          i = end + 1;
        } else word += s[i++];
      }
    }
    out.push(word);
  }
  return out;
}

/** `*` and `?` glob against a whole string, case-insensitive (hosts are). */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  // iterative matcher with backtracking on the last `*`
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/** OpenSSH's pattern-list rule: any negated match → no; else any positive match → yes. */
export function matchPatterns(patterns: string[], host: string): boolean {
  let yes = false;
  for (const raw of patterns) {
    for (const pat of raw.split(',').filter(Boolean)) {
      if (pat.startsWith('!')) {
        if (globMatch(pat.slice(1), host)) return false;
      } else if (globMatch(pat, host)) yes = true;
    }
  }
  return yes;
}

export interface ParseOptions {
  file: string;
  home: string;
  /** Directory relative Include paths start from (~/.ssh or /etc/ssh). */
  includeBase: string;
  /** Conditions inherited from the block holding an Include. */
  when?: (string[] | 'never')[];
  depth?: number;
  config?: SshConfig;
}

/** Parse config text (and what it includes) into conditional lines. */
export function parseSshConfig(text: string, opts: ParseOptions): SshConfig {
  const config = opts.config ?? { lines: [], warnings: [], files: [] };
  config.files.push(opts.file);
  const outer = opts.when ?? [];
  let block: (string[] | 'never')[] = outer;
  const rows = text.split(/\r?\n/);
  for (let n = 0; n < rows.length; n++) {
    const raw = rows[n]!.trim();
    if (!raw || raw.startsWith('#')) continue;
    const where = `${opts.file}:${n + 1}`;
    const words = tokenize(raw, where);
    if (words.length === 0) continue;
    const keyword = words[0]!.toLowerCase();
    const args = words.slice(1);
    if (keyword === 'host') {
      if (args.length === 0) throw new LifeboatError('CONFIG_INVALID', `${where}: Host needs at least one pattern`);
      block = [...outer, args];
      continue;
    }
    if (keyword === 'match') {
      if (args.length === 1 && args[0]!.toLowerCase() === 'all') block = [...outer, ['*']];
      else {
        config.warnings.push(`${where}: "Match ${args.join(' ')}" is not evaluated by lifeboat; its block is ignored`);
        block = [...outer, 'never'];
      }
      continue;
    }
    if (keyword === 'include') {
      if ((opts.depth ?? 0) >= 16) throw new LifeboatError('CONFIG_INVALID', `${where}: Include nested too deeply (a loop?)`);
      for (const arg of args) {
        for (const file of expandInclude(arg, opts.home, opts.includeBase)) {
          let body: string;
          try {
            if (statSync(file).isDirectory()) continue;
            body = readFileSync(file, 'utf8');
          } catch (err) {
            config.warnings.push(`${where}: cannot read included ${file}: ${(err as Error).message}`);
            continue;
          }
          parseSshConfig(body, { file, home: opts.home, includeBase: opts.includeBase, when: block, depth: (opts.depth ?? 0) + 1, config });
        }
      }
      continue;
    }
    config.lines.push({ keyword, args, file: opts.file, line: n + 1, when: block });
  }
  return config;
}

function expandInclude(arg: string, home: string, base: string): string[] {
  let p = arg.startsWith('~/') ? path.join(home, arg.slice(2)) : arg;
  if (!path.isAbsolute(p)) p = path.join(base, p);
  const dir = path.dirname(p);
  const name = path.basename(p);
  if (!/[*?]/.test(name)) return existsSync(p) ? [p] : [];
  if (/[*?]/.test(dir)) return []; // globs in directory parts: not supported (rare)
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((f) => globMatch(name, f) && !f.startsWith('.')).sort().map((f) => path.join(dir, f));
}

/** Read ~/.ssh/config then /etc/ssh/ssh_config (missing files are fine). */
export function loadSshConfig(opts: { home?: string; userFile?: string; systemFile?: string } = {}): SshConfig {
  const home = opts.home ?? os.homedir();
  const config: SshConfig = { lines: [], warnings: [], files: [] };
  const user = opts.userFile ?? path.join(home, '.ssh', 'config');
  const system = opts.systemFile ?? '/etc/ssh/ssh_config';
  for (const [file, base] of [[user, path.join(home, '.ssh')], [system, '/etc/ssh']] as const) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    parseSshConfig(text, { file, home, includeBase: base, config });
  }
  return config;
}

/** Options for one host: first obtained value wins, multi-valued keywords accumulate. */
export function hostOptions(config: SshConfig, host: string): Map<string, { args: string[]; file: string; line: number; seq: number }[]> {
  const out = new Map<string, { args: string[]; file: string; line: number; seq: number }[]>();
  for (const [seq, l] of config.lines.entries()) {
    if (!l.when.every((c) => c !== 'never' && matchPatterns(c, host))) continue;
    const seen = out.get(l.keyword);
    if (seen && !MULTI.has(l.keyword)) continue;
    const entry = { args: l.args, file: l.file, line: l.line, seq };
    if (seen) seen.push(entry);
    else out.set(l.keyword, [entry]);
  }
  return out;
}

export interface Destination {
  user?: string;
  host: string;
  port?: number;
}

/** `[user@]host[:port]`, `[user@][v6addr]:port`, or `ssh://[user@]host[:port]`. */
export function parseDestination(text: string): Destination {
  const bad = () =>
    new LifeboatError('USAGE', `not an SSH destination: "${text}"`, { hint: 'use [user@]host[:port], ssh://[user@]host[:port], or a Host alias from ~/.ssh/config' });
  let s = text.trim();
  if (s.startsWith('ssh://')) s = s.slice(6).replace(/\/$/, '');
  if (!s || /\s/.test(s) || s.startsWith('-')) throw bad();
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
    if (!user) throw bad();
  }
  let host = s;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const [h, p] = s.split(':') as [string, string];
    if (!/^\d+$/.test(p)) throw bad();
    host = h;
    port = Number(p);
  }
  if (!host || (port !== undefined && (port < 1 || port > 65535))) throw bad();
  return { ...(user ? { user } : {}), host, ...(port ? { port } : {}) };
}

/** Everything needed to open one SSH connection (and the hops before it). */
export interface SshEndpoint {
  /** The host as given (alias or name): what Host patterns were matched against. */
  alias: string;
  /** Where to connect (HostName, else the alias). */
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  /** True when the identity files came from config or the caller (not the defaults). */
  identitiesConfigured: boolean;
  identitiesOnly: boolean;
  /** Connect through this endpoint first (ProxyJump); it may have its own jump. */
  jump?: SshEndpoint;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  connectTimeoutMs?: number;
  /** Name to look up in known_hosts instead of the host (HostKeyAlias). */
  hostKeyAlias?: string;
  userKnownHostsFiles: string[];
  globalKnownHostsFiles: string[];
  /** HashKnownHosts: write hashed known_hosts entries (lifeboat's default: yes). */
  hashKnownHosts: boolean;
  /** StrictHostKeyChecking accept-new: record unknown keys without asking. */
  acceptNew: boolean;
  /** `user@host:port` for messages. */
  label: string;
}

export interface ResolveOptions {
  home?: string;
  localUser?: string;
  /** Extra identity files tried first (like ssh -i). */
  identityFiles?: string[];
  /** ProxyJump override (like ssh -J); "none" for no jump. */
  jump?: string;
}

const DEFAULT_IDENTITIES = ['id_rsa', 'id_ecdsa', 'id_ed25519'];

/** Resolve a destination through the config, hops included. */
export function resolveEndpoint(config: SshConfig, destination: string, opts: ResolveOptions = {}, depth = 0): SshEndpoint {
  if (depth > 8) throw new LifeboatError('CONFIG_INVALID', `ProxyJump chain for ${destination} is longer than 8 hops (a loop in ~/.ssh/config?)`);
  const home = opts.home ?? os.homedir();
  const localUser = opts.localUser ?? safeUsername();
  const dest = parseDestination(destination);
  const o = hostOptions(config, dest.host);
  const first = (k: string) => o.get(k)?.[0]?.args[0];
  const where = (k: string) => {
    const e = o.get(k)?.[0];
    return e ? `${e.file}:${e.line}` : '';
  };
  const hostName = first('hostname');
  const host = hostName ? expandTokens(hostName, { h: dest.host, n: dest.host, '%': '%' }) : dest.host;
  const portText = dest.port !== undefined ? String(dest.port) : first('port');
  const port = portText === undefined ? 22 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LifeboatError('CONFIG_INVALID', `${where('port')}: bad Port "${portText}"`);
  const user = dest.user ?? first('user') ?? localUser;
  const tokens = { h: host, n: dest.host, p: String(port), r: user, u: localUser, l: safeHostname(), d: home, '%': '%' };
  const fromConfig = (o.get('identityfile') ?? []).map((e) => e.args[0]).filter((f): f is string => !!f && f.toLowerCase() !== 'none');
  const explicit = [...(opts.identityFiles ?? []), ...fromConfig];
  const identityFiles = (explicit.length ? explicit : DEFAULT_IDENTITIES.map((f) => `~/.ssh/${f}`)).map((f) => expandPath(expandTokens(f, tokens), home));
  const knownFiles = (k: string, dflt: string[]) => {
    const vals = (o.get(k) ?? []).flatMap((e) => e.args);
    return (vals.length ? vals : dflt).filter((f) => f.toLowerCase() !== 'none').map((f) => expandPath(expandTokens(f, tokens), home));
  };
  // ProxyJump and ProxyCommand: whichever is obtained first wins (as in ssh)
  const pj = o.get('proxyjump')?.[0];
  const pc = o.get('proxycommand')?.[0];
  let jumpSpec = opts.jump;
  if (jumpSpec === undefined) {
    if (pc && (!pj || pc.seq < pj.seq) && pc.args[0]?.toLowerCase() !== 'none') {
      throw new LifeboatError('UNSUPPORTED', `${pc.file}:${pc.line}: ProxyCommand is not supported by lifeboat's SSH client`, {
        hint: `use ProxyJump for ${dest.host} (lifeboat hosts add --jump HOST), or a Host block without ProxyCommand`,
      });
    }
    jumpSpec = pj?.args.join(',');
  }
  let jump: SshEndpoint | undefined;
  if (jumpSpec && jumpSpec.toLowerCase() !== 'none') {
    const hops = jumpSpec.split(',').map((h) => h.trim()).filter(Boolean);
    // a,b,c: c is reached through b, b through a; a uses its own config (and its own ProxyJump)
    for (const [i, hop] of hops.entries()) {
      const ep = resolveEndpoint(config, hop, { home, localUser, ...(i > 0 ? { jump: 'none' } : {}) }, depth + 1);
      if (i > 0) ep.jump = jump;
      jump = ep;
    }
  }
  const alive = first('serveraliveinterval');
  const aliveMax = first('serveralivecountmax');
  const connectTimeout = first('connecttimeout');
  const strict = first('stricthostkeychecking')?.toLowerCase();
  const ep: SshEndpoint = {
    alias: dest.host,
    host,
    port,
    user,
    identityFiles: [...new Set(identityFiles)],
    identitiesConfigured: explicit.length > 0,
    identitiesOnly: first('identitiesonly')?.toLowerCase() === 'yes',
    ...(jump ? { jump } : {}),
    ...(alive && Number(alive) > 0 ? { keepaliveIntervalMs: Number(alive) * 1000 } : {}),
    ...(aliveMax && Number(aliveMax) >= 0 ? { keepaliveCountMax: Number(aliveMax) } : {}),
    ...(connectTimeout && Number(connectTimeout) > 0 ? { connectTimeoutMs: Number(connectTimeout) * 1000 } : {}),
    ...(first('hostkeyalias') ? { hostKeyAlias: first('hostkeyalias')! } : {}),
    userKnownHostsFiles: knownFiles('userknownhostsfile', ['~/.ssh/known_hosts']),
    globalKnownHostsFiles: knownFiles('globalknownhostsfile', ['/etc/ssh/ssh_known_hosts']),
    hashKnownHosts: first('hashknownhosts')?.toLowerCase() !== 'no',
    acceptNew: strict === 'accept-new',
    label: `${user}@${host.includes(':') ? `[${host}]` : host}${port === 22 ? '' : `:${port}`}`,
  };
  return ep;
}

/** `%x` tokens; an unknown token is a config error naming it. */
export function expandTokens(text: string, tokens: Record<string, string>): string {
  return text.replace(/%(.)/g, (m, t: string) => {
    const v = tokens[t];
    if (v === undefined) throw new LifeboatError('CONFIG_INVALID', `unsupported token ${m} in "${text}"`);
    return v;
  });
}

export function expandPath(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return path.resolve(p);
}

function safeUsername(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'root';
  }
}

function safeHostname(): string {
  return os.hostname().split('.')[0] ?? 'localhost';
}
