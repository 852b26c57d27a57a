import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BIN, ROOT } from '../helpers/cli.js';
import { Agent, PROTOCOL_VERSION, type RpcMessage } from '../helpers/agent-rpc.js';

// `lifeboat agent --stdio` spoken to directly, one JSON object a line (docs/protocol.md).
// No PostgreSQL here: the cluster points at port 1, which refuses connections.

let dir: string;
let config: string;
let repo: string;
let agent: Agent;
const version = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')).version as string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-proto-'));
  config = path.join(dir, 'config.json');
  repo = path.join(dir, 'repo');
  await writeFile(
    config,
    JSON.stringify({
      stateDir: path.join(dir, 'state'),
      repositories: { main: { type: 'local', path: repo } },
      clusters: { pg: { repository: 'main', connection: { host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' } } },
    }),
  );
  agent = new Agent(['--config', config]);
});

afterAll(async () => {
  agent?.kill();
  await rm(dir, { recursive: true, force: true });
});

describe('agent --stdio', () => {
  test('agent.hello with the right protocol version: versions, plugins, config path', async () => {
    const res = await agent.hello();
    expect(res.error, JSON.stringify(res.error)).toBeUndefined();
    const r = res.result;
    expect(r.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(r.agentVersion).toBe(version);
    expect(r.pid).toBe(agent.child.pid);
    expect(r.host).toBe(os.hostname());
    expect(r.node).toBe(process.version);
    const plugins = Object.fromEntries(r.plugins.map((p: { name: string; kinds: string[] }) => [p.name, p.kinds]));
    expect(plugins.postgres).toEqual(['source']);
    expect(plugins.local).toEqual(['storage']);
    for (const p of r.plugins) expect(p.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(r.capabilities).toContain('logical-backup');
    expect(r.config).toEqual({ path: config });
  });

  test('a different protocol version is an explicit PROTOCOL error offering an upgrade', async () => {
    const res = await agent.hello(PROTOCOL_VERSION + 98);
    expect(res.result).toBeUndefined();
    expect(res.error!.code).toBe(-32000);
    expect(res.error!.data.code).toBe('PROTOCOL');
    expect(res.error!.message).toContain(`agent speaks protocol ${PROTOCOL_VERSION}`);
    expect(res.error!.message).toContain(`client speaks ${PROTOCOL_VERSION + 98}`);
    expect(res.error!.data.hint).toMatch(/same lifeboat version/);
  });

  test('hello without a protocol version is a USAGE error naming the field', async () => {
    const res = await agent.call('agent.hello', {});
    expect(res.error!.data.code).toBe('USAGE');
    expect(res.error!.message).toMatch(/^agent\.hello: protocolVersion: /);
  });

  test('a line that is not JSON gets a -32700 parse error, and the agent keeps working', async () => {
    const before = agent.messages.length;
    agent.writeLine('this is not { json');
    const err = await agent.waitFor((m) => agent.messages.indexOf(m) >= before && m.error?.code === -32700, 'parse error');
    expect(err.id).toBeNull();
    expect(err.error!.message).toMatch(/parse error/);
    const again = await agent.hello();
    expect(again.result.protocolVersion).toBe(PROTOCOL_VERSION);
  });

  test('a JSON value that is not a request is -32600 and echoes the id', async () => {
    agent.writeLine(JSON.stringify({ jsonrpc: '1.0', id: 'odd-1', method: 'agent.hello' }));
    const err = await agent.waitFor((m) => m.id === 'odd-1', 'invalid request');
    expect(err.error!.code).toBe(-32600);
  });

  test('an unknown method is -32601 naming it', async () => {
    const res = await agent.call('no.such.method', {});
    expect(res.error!.code).toBe(-32601);
    expect(res.error!.message).toContain('no.such.method');
  });

  test('job.start with an invalid type is a USAGE error', async () => {
    const res = await agent.call('job.start', { type: 'explode', params: {} });
    expect(res.error!.code).toBe(-32000);
    expect(res.error!.data.code).toBe('USAGE');
    expect(res.error!.message).toMatch(/^job\.start: type: /);
  });

  test('job.start with params the job does not know is a USAGE error naming them', async () => {
    const res = await agent.call('job.start', { type: 'gc', params: { dryRun: 'yes' } });
    expect(res.error!.data.code).toBe('USAGE');
    expect(res.error!.message).toMatch(/^gc: dryRun: /);
  });

  test('catalog.list on an empty repository is empty', async () => {
    const res = await agent.call('catalog.list', {});
    expect(res.error, JSON.stringify(res.error)).toBeUndefined();
    expect(res.result).toEqual({ backups: [], invalid: [] });
  });

  test('catalog.list for an unknown cluster is UNKNOWN_CLUSTER', async () => {
    const res = await agent.call('catalog.list', { cluster: 'nope' });
    expect(res.error!.data.code).toBe('UNKNOWN_CLUSTER');
    expect(res.error!.message).toContain('no cluster "nope"');
  });

  test('a backup job against a refused connection reports through notifications and ends with job.done', async () => {
    const res = await agent.call('job.start', { type: 'backup', params: { cluster: 'pg' } });
    expect(res.error, JSON.stringify(res.error)).toBeUndefined();
    const jobId: string = res.result.jobId;
    expect(jobId).toMatch(/^\d{14}-[0-9a-f]{6}$/);
    const done = await agent.waitFor((m) => m.method === 'job.done' && m.params?.jobId === jobId, 'job.done', 60_000);
    expect(done.id).toBeUndefined(); // a notification
    expect(done.params.ok).toBe(false);
    expect(done.params.error.code).toBe('CONNECTION_FAILED');
    expect(done.params.error.message).toMatch(/127\.0\.0\.1:1/);
    // the job log has it, failed
    const jobs = await agent.call('jobs.list');
    const rec = jobs.result.recent.find((j: { id: string }) => j.id === jobId);
    expect(rec).toMatchObject({ type: 'backup', cluster: 'pg', status: 'failed' });
    expect(jobs.result.running).toEqual([]);
    // and nothing is listed
    expect((await agent.call('catalog.list', {})).result.backups).toEqual([]);
  });

  test('stdout carries only JSON-RPC lines; closing stdin ends the agent with exit code 0', async () => {
    const { code, signal } = await agent.end();
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(agent.lines.length).toBeGreaterThanOrEqual(12);
    for (const line of agent.lines) {
      let msg: RpcMessage;
      try {
        msg = JSON.parse(line) as RpcMessage;
      } catch {
        throw new Error(`stdout line is not JSON: ${JSON.stringify(line)}`);
      }
      expect(msg.jsonrpc, line).toBe('2.0');
      const isResponse = 'id' in msg && (msg.result !== undefined || msg.error !== undefined);
      const isNotification = !('id' in msg) && typeof msg.method === 'string';
      expect(isResponse || isNotification, line).toBe(true);
    }
  });
});

describe('agent --stdio with a config that does not exist', () => {
  test('hello still answers, with config.error CONFIG_NOT_FOUND; calls needing config fail with it; exit 0', async () => {
    const missing = path.join(dir, 'nowhere', 'config.json');
    const a = new Agent(['--config', missing]);
    try {
      const res = await a.hello();
      expect(res.error, JSON.stringify(res.error)).toBeUndefined();
      expect(res.result.protocolVersion).toBe(PROTOCOL_VERSION);
      expect(res.result.config.error.code).toBe('CONFIG_NOT_FOUND');
      expect(res.result.config.error.message).toContain(missing);
      expect(res.result.config.error.hint).toMatch(/lifeboat init/);
      // the built-in plugins are still reported
      expect(res.result.plugins.map((p: { name: string }) => p.name).sort()).toEqual(['local', 'postgres']);
      const list = await a.call('catalog.list', {});
      expect(list.error!.data.code).toBe('CONFIG_NOT_FOUND');
      const job = await a.call('job.start', { type: 'backup', params: {} });
      expect(job.error!.data.code).toBe('CONFIG_NOT_FOUND');
      const { code } = await a.end();
      expect(code).toBe(0);
      for (const line of a.lines) expect(() => JSON.parse(line), line).not.toThrow();
    } finally {
      a.kill();
    }
  });

  test('the --config flag also works before the subcommand', async () => {
    const child = spawn(process.execPath, [BIN, '--config', config, 'agent', '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LIFEBOAT_CONFIG: '' } });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.stdin.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'agent.hello', params: { protocolVersion: PROTOCOL_VERSION } }) + '\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const msg = JSON.parse(out.trim().split('\n')[0]!) as RpcMessage;
    expect(msg.result.config).toEqual({ path: config });
  });
});
