/**
 * The client's side of the protocol (src/fleet/client.ts): what it does with
 * what an agent sends that the protocol does not allow. A scripted agent on a
 * pair of in-memory pipes answers each request; every case must end in one
 * clear PROTOCOL error, never a crash, a hang or a wrong value handed on.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { LifeboatError } from '../../src/core/errors.js';
import { AgentClient } from '../../src/fleet/client.js';
import type { Transport, TransportEnd } from '../../src/fleet/transport.js';
import { onLines } from '../../src/protocol/index.js';

type Req = { id: number; method: string; params: Record<string, unknown> };

/** A transport whose agent is `answer`: it gets each request and the means to write lines back. */
function scripted(answer: (req: Req, write: (msg: unknown) => void) => void): Transport {
  const toAgent = new PassThrough();
  const fromAgent = new PassThrough();
  let end!: (e: TransportEnd) => void;
  const closed = new Promise<TransportEnd>((resolve) => (end = resolve));
  onLines(toAgent, (line) => answer(JSON.parse(line) as Req, (msg) => fromAgent.write(JSON.stringify(msg) + '\n')));
  return {
    description: 'test agent',
    input: toAgent,
    output: fromAgent,
    closed,
    close: () => {
      fromAgent.end();
      end({ code: 0, signal: null, stderr: '' });
    },
  };
}

async function protocolError(p: Promise<unknown>): Promise<LifeboatError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LifeboatError);
  expect((e as LifeboatError).code).toBe('PROTOCOL');
  return e as LifeboatError;
}

const listing = { backups: [], invalid: [] };
const progress = (jobId: string) => ({ jobId, bytes: 10, rate: 5, elapsedMs: 100 });

describe('results', () => {
  test('a well-formed result is returned as the agent sent it', async () => {
    const client = new AgentClient(scripted((req, write) => write({ jsonrpc: '2.0', id: req.id, result: listing })));
    expect(await client.call('catalog.list', {})).toEqual(listing);
  });

  test('a result of the wrong shape is a PROTOCOL error naming the method and the field; the next call still works', async () => {
    let n = 0;
    const client = new AgentClient(
      scripted((req, write) => write({ jsonrpc: '2.0', id: req.id, result: n++ === 0 ? { backups: 'none', invalid: [] } : listing })),
    );
    const e = await protocolError(client.call('catalog.list', {}));
    expect(e.message).toBe('test agent: the agent sent a malformed result for catalog.list (backups: Invalid input: expected array, received string)');
    expect(e.hint).toContain('lifeboat hosts test');
    expect(await client.call('catalog.list', {})).toEqual(listing);
  });

  test('a response with neither result nor error is a PROTOCOL error', async () => {
    const client = new AgentClient(scripted((req, write) => write({ jsonrpc: '2.0', id: req.id })));
    expect((await protocolError(client.call('catalog.list', {}))).message).toContain('neither result nor error');
  });

  test("a job's done event whose result is malformed: PROTOCOL, not the job's result", async () => {
    const client = new AgentClient(
      scripted((req, write) => {
        if (req.method !== 'job.start') return;
        write({ jsonrpc: '2.0', id: req.id, result: { jobId: 'j1' } });
        write({ jsonrpc: '2.0', method: 'job.done', params: { jobId: 'j1', ok: true, result: { removed: 'all of it' } } });
      }),
    );
    const e = await protocolError(client.runJob('gc', {}));
    expect(e.message).toContain('malformed result for gc job j1');
  });
});

describe('notifications', () => {
  test('a malformed progress event fails the job it names with PROTOCOL (and is not shown as progress)', async () => {
    const seen: unknown[] = [];
    const client = new AgentClient(
      scripted((req, write) => {
        if (req.method !== 'job.start') return;
        write({ jsonrpc: '2.0', id: req.id, result: { jobId: 'j2' } });
        setTimeout(() => {
          write({ jsonrpc: '2.0', method: 'job.progress', params: progress('j2') });
          write({ jsonrpc: '2.0', method: 'job.progress', params: { jobId: 'j2', bytes: 'lots', rate: 1, elapsedMs: 1 } });
        }, 5);
      }),
    );
    const e = await protocolError(client.runJob('reindex', {}, { onProgress: (p) => seen.push(p) }));
    expect(e.message).toBe('test agent: the agent sent a malformed job.progress notification for job j2 (bytes: Invalid input: expected number, received string)');
    expect(seen).toEqual([progress('j2')]);
  });

  test('a malformed event that arrives before job.start answers fails that job too', async () => {
    const client = new AgentClient(
      scripted((req, write) => {
        if (req.method !== 'job.start') return;
        write({ jsonrpc: '2.0', method: 'job.log', params: { jobId: 'j3', level: 'shout', message: 'x', time: new Date().toISOString() } });
        write({ jsonrpc: '2.0', id: req.id, result: { jobId: 'j3' } });
      }),
    );
    expect((await protocolError(client.runJob('reindex', {}))).message).toContain('malformed job.log notification for job j3 (level:');
  });

  test('a notification without a job id breaks the connection: every waiting call fails with PROTOCOL', async () => {
    const client = new AgentClient(
      scripted((req, write) => {
        if (req.method === 'catalog.list') write({ jsonrpc: '2.0', method: 'job.done', params: { ok: true } });
      }),
    );
    const e = await protocolError(client.call('catalog.list', {}));
    expect(e.message).toBe('test agent: the agent sent a job.done notification without a job id');
    expect((await protocolError(client.call('catalog.list', {}))).message).toBe(e.message);
  });

  test("a newer agent's unknown notification is ignored", async () => {
    const client = new AgentClient(
      scripted((req, write) => {
        write({ jsonrpc: '2.0', method: 'agent.news', params: { whatever: true } });
        write({ jsonrpc: '2.0', id: req.id, result: listing });
      }),
    );
    expect(await client.call('catalog.list', {})).toEqual(listing);
  });
});
