import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { appendKnownHost, checkHostKey, fingerprint, hostKeyName, keyTypeOf, parseKnownHosts, readKnownHosts, recordedKeyTypes } from '../../src/fleet/known-hosts.js';

// Keys and hashed lines come from the real ssh-keygen, so the parser and the
// hashing are checked against OpenSSH, not against themselves.
const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-kh-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface TestKey {
  type: string;
  b64: string;
  blob: Buffer;
  fp: string;
}
async function key(name: string, type: 'ed25519' | 'ecdsa' | 'rsa'): Promise<TestKey> {
  const f = path.join(dir, name);
  await execa('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-f', f]);
  const [t, b64] = readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/) as [string, string];
  const fp = (await execa('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${f}.pub`])).stdout.split(/\s+/)[1]!;
  return { type: t, b64, blob: Buffer.from(b64, 'base64'), fp };
}

let ed: TestKey;
let ed2: TestKey;
let ec: TestKey;
let rsa: TestKey;
beforeAll(async () => {
  [ed, ed2, ec, rsa] = await Promise.all([key('ed', 'ed25519'), key('ed2', 'ed25519'), key('ec', 'ecdsa'), key('rsa', 'rsa')]);
});

test('fingerprint is what ssh-keygen -lf prints; key type comes from the blob', () => {
  for (const k of [ed, ec, rsa]) {
    expect(fingerprint(k.blob)).toBe(k.fp);
    expect(keyTypeOf(k.blob)).toBe(k.type);
  }
});

test('hostKeyName: bare on port 22, [host]:port otherwise, lower-cased', () => {
  expect(hostKeyName('DB1.example.com', 22)).toBe('db1.example.com');
  expect(hostKeyName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
});

describe('checking a key', () => {
  const file = '/fixture/known_hosts';
  let text: string;
  beforeAll(() => {
    text = [
      '# comment',
      `db1.example.com,10.0.0.1 ${ed.type} ${ed.b64}`,
      `[127.0.0.1]:2222 ${ed.type} ${ed.b64}`,
      `*.lan,!bad.lan ${ec.type} ${ec.b64}`,
      'garbage line',
      `@cert-authority *.example.com ${ed2.type} ${ed2.b64}`,
      `@revoked * ${rsa.type} ${rsa.b64}`,
      `multi.example.com ${rsa.type} ${rsa.b64}`,
    ].join('\n');
  });

  test('plain names, comma lists and the [host]:port form match', () => {
    const entries = parseKnownHosts(text, file);
    expect(checkHostKey(entries, 'db1.example.com', ed.blob)).toMatchObject({ status: 'match', entry: { line: 2 } });
    expect(checkHostKey(entries, '10.0.0.1', ed.blob).status).toBe('match');
    expect(checkHostKey(entries, '[127.0.0.1]:2222', ed.blob)).toMatchObject({ status: 'match', entry: { line: 3 } });
    // the port matters: the same host on port 22 is another entry
    expect(checkHostKey(entries, '127.0.0.1', ed.blob).status).toBe('unknown');
  });

  test('a different key of the same type is "changed", naming file and line', () => {
    const r = checkHostKey(parseKnownHosts(text, file), '[127.0.0.1]:2222', ed2.blob);
    expect(r.status).toBe('changed');
    expect(r.status === 'changed' && `${r.entry.file}:${r.entry.line}`).toBe('/fixture/known_hosts:3');
  });

  test('a key of another type is "unknown", listing what is recorded', () => {
    const r = checkHostKey(parseKnownHosts(text, file), 'db1.example.com', ec.blob);
    expect(r.status).toBe('unknown');
    expect(r.status === 'unknown' && r.otherTypes.map((e) => e.line)).toEqual([2]);
    expect(recordedKeyTypes(parseKnownHosts(text, file), 'db1.example.com')).toEqual([ed.type]);
  });

  test('wildcards and negation; @cert-authority is not a host key; @revoked always refuses', () => {
    const entries = parseKnownHosts(text, file);
    expect(checkHostKey(entries, 'pg.lan', ec.blob).status).toBe('match');
    expect(checkHostKey(entries, 'bad.lan', ec.blob).status).toBe('unknown');
    expect(checkHostKey(entries, 'x.example.com', ed2.blob).status).toBe('unknown');
    expect(checkHostKey(entries, 'multi.example.com', rsa.blob)).toMatchObject({ status: 'revoked', entry: { line: 7 } });
    expect(entries.map((e) => e.line)).toEqual([2, 3, 4, 6, 7, 8]); // comment and garbage skipped
  });
});

test('hashed entries written by ssh-keygen -H are matched (HMAC-SHA1)', async () => {
  const f = path.join(dir, 'hashed');
  writeFileSync(f, `db1.example.com ${ed.type} ${ed.b64}\n[127.0.0.1]:2222 ${ec.type} ${ec.b64}\n`);
  await execa('ssh-keygen', ['-H', '-f', f]);
  const text = readFileSync(f, 'utf8');
  expect(text).not.toContain('db1.example.com');
  const entries = readKnownHosts([f, path.join(dir, 'missing')]);
  expect(entries).toHaveLength(2);
  expect(checkHostKey(entries, 'db1.example.com', ed.blob).status).toBe('match');
  expect(checkHostKey(entries, '[127.0.0.1]:2222', ec.blob).status).toBe('match');
  expect(checkHostKey(entries, '[127.0.0.1]:2222', ed.blob).status).toBe('unknown');
  expect(checkHostKey(entries, 'db2.example.com', ed.blob).status).toBe('unknown');
});

test.each([true, false])('appended entries (hashed: %s) are found by ssh-keygen -F at the reported line', async (hash) => {
  const f = path.join(dir, `sub-${hash}`, 'known_hosts');
  const first = appendKnownHost(f, '[127.0.0.1]:2222', ed.blob, { hash });
  expect(first).toEqual({ file: f, line: 1 });
  writeFileSync(f, readFileSync(f, 'utf8') + '# no newline at the end');
  const second = appendKnownHost(f, 'db9.example.com', ec.blob, { hash });
  expect(second.line).toBe(3);
  for (const [name, line] of [['[127.0.0.1]:2222', 1], ['db9.example.com', 3]] as const) {
    const out = (await execa('ssh-keygen', ['-F', name, '-f', f])).stdout;
    expect(out).toContain(`found: line ${line}`);
  }
  expect(readFileSync(f, 'utf8').includes('db9.example.com')).toBe(!hash);
  expect(checkHostKey(readKnownHosts([f]), 'db9.example.com', ec.blob).status).toBe('match');
});
