import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { globMatch, loadSshConfig, matchPatterns, parseDestination, parseSshConfig, resolveEndpoint, tokenize, type SshConfig } from '../../src/fleet/ssh-config.js';

const home = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-sshcfg-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

function cfg(text: string, file = path.join(home, '.ssh', 'config')): SshConfig {
  return parseSshConfig(text, { file, home, includeBase: path.join(home, '.ssh') });
}
const resolve = (c: SshConfig, dest: string, extra: Parameters<typeof resolveEndpoint>[2] = {}) => resolveEndpoint(c, dest, { home, localUser: 'me', ...extra });

describe('patterns', () => {
  test('* and ? globs, case-insensitive', () => {
    expect(globMatch('*.prod', 'db1.prod')).toBe(true);
    expect(globMatch('db?.prod', 'db1.PROD')).toBe(true);
    expect(globMatch('db?.prod', 'db12.prod')).toBe(false);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('a*b*c', 'axxbyyc')).toBe(true);
    expect(globMatch('a*b*c', 'axxbyy')).toBe(false);
  });
  test('a negated match rules the whole list out; otherwise any positive match', () => {
    expect(matchPatterns(['*.prod', '!db9.prod'], 'db1.prod')).toBe(true);
    expect(matchPatterns(['*.prod', '!db9.prod'], 'db9.prod')).toBe(false);
    expect(matchPatterns(['!db9.prod'], 'db1.prod')).toBe(false); // negation alone matches nothing
    expect(matchPatterns(['a,b', 'c'], 'b')).toBe(true);
  });
  test('tokenize: "=" separator, quotes, trailing comment', () => {
    expect(tokenize('HostName=db.example.com', 'x')).toEqual(['HostName', 'db.example.com']);
    expect(tokenize('IdentityFile = "~/my keys/id" # mine', 'x')).toEqual(['IdentityFile', '~/my keys/id']);
    expect(tokenize('  Host a b   c', 'x')).toEqual(['Host', 'a', 'b', 'c']);
  });
});

describe('resolving a host', () => {
  const text = `
# global lines before any Host apply to every host
ConnectTimeout 7

Host *.prod !db9.prod
  User produser
Host db?.prod
  Port 2200
Host db1.prod db1
  HostName 10.0.0.1
  User first
  IdentityFile ~/.ssh/id_%r_%h
Host *.lan
  HostName %h.example.com
Host *
  User fallback
  IdentityFile ~/.ssh/id_all
  ServerAliveInterval 30
  ServerAliveCountMax 4
`;
  const c = cfg(text);

  test('first obtained value wins; IdentityFile accumulates in order; tokens and ~ expand', () => {
    const e = resolve(c, 'db1.prod');
    expect(e.host).toBe('10.0.0.1');
    expect(e.user).toBe('produser'); // from the earlier *.prod block, not "first"
    expect(e.port).toBe(2200);
    expect(e.identityFiles).toEqual([path.join(home, '.ssh', 'id_produser_10.0.0.1'), path.join(home, '.ssh', 'id_all')]);
    expect(e.identitiesConfigured).toBe(true);
    expect(e.keepaliveIntervalMs).toBe(30_000);
    expect(e.keepaliveCountMax).toBe(4);
    expect(e.connectTimeoutMs).toBe(7000);
    expect(e.label).toBe('produser@10.0.0.1:2200');
  });

  test('negation: db9.prod gets none of the *.prod block', () => {
    const e = resolve(c, 'db9.prod');
    expect(e.user).toBe('fallback');
    expect(e.port).toBe(2200);
    expect(e.host).toBe('db9.prod');
  });

  test('an alias matches its own Host line; HostName %h uses the name as typed', () => {
    expect(resolve(c, 'db1').host).toBe('10.0.0.1');
    expect(resolve(c, 'db1').user).toBe('first');
    expect(resolve(c, 'pg.lan').host).toBe('pg.lan.example.com');
  });

  test('user and port in the destination win over the config (like the ssh command line)', () => {
    const e = resolve(c, 'ops@db1.prod:2022');
    expect(e.user).toBe('ops');
    expect(e.port).toBe(2022);
  });

  test('an inventory identity file is tried first (like ssh -i)', () => {
    const e = resolve(c, 'db1', { identityFiles: ['/keys/inventory'] });
    expect(e.identityFiles[0]).toBe('/keys/inventory');
    expect(e.identityFiles).toContain(path.join(home, '.ssh', 'id_all'));
  });

  test('no config at all: local user, port 22, default identity files', () => {
    const e = resolve(cfg(''), 'plain.example.com');
    expect(e).toMatchObject({ host: 'plain.example.com', port: 22, user: 'me', identitiesConfigured: false, hashKnownHosts: true, acceptNew: false });
    expect(e.identityFiles.map((f) => path.basename(f))).toEqual(['id_rsa', 'id_ecdsa', 'id_ed25519']);
    expect(e.userKnownHostsFiles).toEqual([path.join(home, '.ssh', 'known_hosts')]);
  });

  test('HostKeyAlias, UserKnownHostsFile, HashKnownHosts no, StrictHostKeyChecking accept-new', () => {
    const e = resolve(cfg('Host x\n HostKeyAlias x-key\n UserKnownHostsFile ~/kh1 ~/kh2\n HashKnownHosts no\n StrictHostKeyChecking accept-new\n'), 'x');
    expect(e.hostKeyAlias).toBe('x-key');
    expect(e.userKnownHostsFiles).toEqual([path.join(home, 'kh1'), path.join(home, 'kh2')]);
    expect(e.hashKnownHosts).toBe(false);
    expect(e.acceptNew).toBe(true);
  });
});

describe('ProxyJump', () => {
  const c = cfg(`
Host target
  HostName 10.9.9.9
  ProxyJump jumper@bastion:2222,inner
Host inner
  HostName 10.1.1.1
  User j
  ProxyJump ignored-because-listed-after-a-hop
Host bastion
  HostName b.example.com
  ProxyJump outer
Host outer
  HostName o.example.com
Host direct.internal
  ProxyJump none
Host *.internal
  ProxyJump outer
`);

  test('hops chain in order, each resolved through the config (aliases, users, ports)', () => {
    const t = resolve(c, 'target');
    expect(t.host).toBe('10.9.9.9');
    const inner = t.jump!;
    expect(inner).toMatchObject({ alias: 'inner', host: '10.1.1.1', user: 'j', port: 22 });
    const bastion = inner.jump!; // a later hop rides the one before it, not its own ProxyJump
    expect(bastion).toMatchObject({ alias: 'bastion', host: 'b.example.com', user: 'jumper', port: 2222 });
    expect(bastion.jump).toMatchObject({ alias: 'outer', host: 'o.example.com' }); // the first hop keeps its own ProxyJump
    expect(bastion.jump!.jump).toBeUndefined();
  });

  test('ProxyJump none (obtained first) means direct; an explicit jump overrides the config', () => {
    expect(resolve(c, 'direct.internal').jump).toBeUndefined();
    expect(resolve(c, 'other.internal').jump).toMatchObject({ host: 'o.example.com' });
    expect(resolve(c, 'target', { jump: 'outer' }).jump).toMatchObject({ host: 'o.example.com' });
  });

  test('a loop of jumps is an error, not a hang', () => {
    const loop = cfg('Host a\n ProxyJump b\nHost b\n ProxyJump a\n');
    expect(() => resolve(loop, 'a')).toThrow(/longer than 8 hops/);
  });

  test('ProxyCommand is refused with a hint, naming file and line', () => {
    const pc = cfg('Host legacy\n  ProxyCommand ssh -W %h:%p bastion\n');
    expect(() => resolve(pc, 'legacy')).toThrow(/config:2: ProxyCommand is not supported/);
  });
});

describe('Include and Match', () => {
  const sshDir = path.join(home, '.ssh');
  mkdirSync(path.join(sshDir, 'conf.d'), { recursive: true });
  writeFileSync(path.join(sshDir, 'conf.d', '10-a.conf'), 'Host a\n  HostName a.example.com\n');
  writeFileSync(path.join(sshDir, 'conf.d', '20-b.conf'), 'Host b\n  HostName b.example.com\nHost a\n  HostName not-first\n');
  writeFileSync(path.join(sshDir, 'conf.d', 'skip.txt'), 'Host a\n  HostName never\n');
  writeFileSync(path.join(sshDir, 'only-c'), 'User c-user\n');

  test('globbed includes relative to ~/.ssh, in name order, in place', () => {
    const c = cfg('Include conf.d/*.conf\nHost *\n  HostName last\n');
    expect(resolve(c, 'a').host).toBe('a.example.com');
    expect(resolve(c, 'b').host).toBe('b.example.com');
    expect(resolve(c, 'zzz').host).toBe('last');
    expect(c.files.map((f) => path.basename(f))).toEqual(['config', '10-a.conf', '20-b.conf']);
  });

  test('an Include inside a Host block applies only to that host', () => {
    const c = cfg('Host c\n  Include ~/.ssh/only-c\n');
    expect(resolve(c, 'c').user).toBe('c-user');
    expect(resolve(c, 'd').user).toBe('me');
  });

  test('Match all is Host *; other Match blocks are ignored and reported', () => {
    const c = cfg('Match exec "true"\n  User exec-user\nMatch all\n  User all-user\n');
    expect(resolve(c, 'x').user).toBe('all-user');
    expect(c.warnings[0]).toMatch(/config:1: "Match exec true" is not evaluated.*ignored/);
  });

  test('the user file comes before the system file (first value wins)', () => {
    const userFile = path.join(home, 'ucfg');
    const systemFile = path.join(home, 'scfg');
    writeFileSync(userFile, 'Host h\n  Port 2201\n');
    writeFileSync(systemFile, 'Host *\n  Port 2202\n  User sys\n');
    const c = loadSshConfig({ home, userFile, systemFile });
    const e = resolve(c, 'h');
    expect(e.port).toBe(2201);
    expect(e.user).toBe('sys');
  });
});

describe('parseDestination', () => {
  test.each([
    ['db1', { host: 'db1' }],
    ['postgres@db1', { user: 'postgres', host: 'db1' }],
    ['postgres@db1:2222', { user: 'postgres', host: 'db1', port: 2222 }],
    ['ssh://u@h:22', { user: 'u', host: 'h', port: 22 }],
    ['[::1]:2222', { host: '::1', port: 2222 }],
    ['u@[fe80::1]', { user: 'u', host: 'fe80::1' }],
    ['::1', { host: '::1' }],
  ])('%s', (text, want) => {
    expect(parseDestination(text)).toEqual(want);
  });
  test.each(['', '@h', 'h:notaport', 'h:0', 'h:70000', '-oProxyCommand=x', 'a b'])('refuses %j', (text) => {
    expect(() => parseDestination(text)).toThrow(/not an SSH destination/);
  });
});
