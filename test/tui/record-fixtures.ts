/**
 * Records a real agent's answers for the TUI component tests:
 *
 *   npx tsx test/tui/record-fixtures.ts      (root or a user who can run PostgreSQL)
 *
 * Starts a throwaway cluster archiving through lifeboat, takes a logical and a
 * physical backup, makes a restore point, drops a table, then makes exactly the
 * calls the TUI makes (overview, catalog, window, targets, plans, a verify job,
 * a whole side-by-side PITR walked step by step) through a tap on the
 * transport, and writes what was said to test/tui/fixtures/local.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { AgentClient } from '../../src/fleet/client.js';
import { spawnLocalAgent, type Transport } from '../../src/fleet/transport.js';
import { onLines } from '../../src/protocol/index.js';
import { freePort } from '../harness/pg.js';
import { psqlAt, startArchivingCluster, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { BIN, lifeboatAsServer } from '../helpers/cli.js';
import type { Exchange, Recording } from './replay.js';

type Line = { dir: '>' | '<'; msg: Record<string, unknown> };

function tap(t: Transport, lines: Line[]): Transport {
  const input = new PassThrough();
  input.pipe(t.input);
  onLines(input, (l) => lines.push({ dir: '>', msg: JSON.parse(l) }));
  const output = new PassThrough();
  t.output.pipe(output);
  onLines(t.output, (l) => lines.push({ dir: '<', msg: JSON.parse(l) }));
  return { ...t, input, output };
}

/** Requests paired with their answers; job events attached to the call that started or attached the job. */
function exchanges(lines: Line[]): Exchange[] {
  const out: Exchange[] = [];
  const byId = new Map<unknown, Exchange>();
  const byJob = new Map<string, Exchange>();
  for (const { dir, msg } of lines) {
    if (dir === '>') {
      const ex: Exchange = { method: msg.method as string, params: (msg.params as Record<string, unknown>) ?? {} };
      byId.set(msg.id, ex);
      out.push(ex);
    } else if (msg.id !== undefined && !msg.method) {
      const ex = byId.get(msg.id);
      if (!ex) continue;
      if (msg.error) ex.error = msg.error as Exchange['error'];
      else ex.result = msg.result;
      const r = msg.result as { jobId?: string; id?: string } | null;
      const jobId = ex.method === 'job.start' ? r?.jobId : ex.method === 'job.attach' ? (ex.params.jobId as string) : undefined;
      if (jobId) byJob.set(jobId, ex);
    } else if (msg.method) {
      const params = msg.params as { jobId: string };
      const ex = byJob.get(params.jobId);
      if (ex) (ex.events ??= []).push({ method: msg.method as string, params });
    }
  }
  return out;
}

// the agent is this checkout's built CLI (spawnLocalAgent would otherwise start this script again)
process.env.LIFEBOAT_AGENT_COMMAND = `${process.execPath} ${BIN} agent --stdio`;
const say = (m: string) => process.stderr.write(`record: ${m}\n`);
const { pg, ws } = await startArchivingCluster('tui-rec', { workspace: { database: 'sample' } });
const pitrDir = path.join(os.tmpdir(), `lifeboat-tui-rec-${process.pid}`);
try {
  say('cluster up');
  await pg.psql('CREATE DATABASE sample');
  await pg.psql('CREATE TABLE orders (id int primary key, note text); INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(1, 500) g', 'sample');
  const must = async (args: string[]) => {
    const r = await lifeboatAsServer(ws.config, args);
    if (r.code !== 0) throw new Error(`lifeboat ${args.join(' ')}: ${r.stderr}`);
  };
  await must(['backup', '--cluster', 'pg', '--tag', 'daily', '--database', 'sample']);
  await must(['backup', '--cluster', 'pg', '--physical', '--tag', 'weekly']);
  await pg.psql('INSERT INTO orders SELECT g, md5(g::text) FROM generate_series(501, 700) g', 'sample');
  await must(['restore-point', 'before-cleanup', '--cluster', 'pg']);
  await pg.psql('DELETE FROM orders WHERE id > 100', 'sample');
  await pg.psql('DROP TABLE orders', 'sample');
  if (!(await switchAndWaitArchived(pg.psql))) throw new Error('WAL was not archived');

  say('backups taken, table dropped');
  const lines: Line[] = [];
  const client = new AgentClient(tap(spawnLocalAgent({ configPath: ws.config }), lines));
  await client.connect();
  await client.call('cluster.overview', {});
  await client.call('jobs.list', {});
  const { backups } = await client.call('catalog.list', { cluster: 'pg' });
  for (const b of backups) await client.call('catalog.show', { cluster: 'pg', id: b.id });
  await client.call('pitr.window', { cluster: 'pg' });
  await client.call('pitr.plans', { cluster: 'pg', unfinished: true });
  await client.call('pitr.targets', { cluster: 'pg' });
  const logical = backups.find((b) => b.kind === 'logical')!;
  await client.call('restore.plan', { cluster: 'pg', id: logical.id, toDatabase: 'sample_copy' });
  await client.call('retention.plan', { cluster: 'pg', backups: [logical.id], dryRun: true });
  await client.runJob('verify', { cluster: 'pg', id: logical.id, level: 'checksum' });
  await client.call('catalog.list', { cluster: 'pg' });
  say('verified');
  const port = await freePort();
  const plan = await client.call('pitr.plan', { cluster: 'pg', name: 'before-cleanup', inclusive: true, toDatadir: pitrDir, port });
  for (let step = 1; step <= plan.steps.length; step++) {
    say(`step ${step}`);
    await client.runJob('pitr', { plan: plan.id, step });
    await client.call('pitr.show', { plan: plan.id });
  }
  const rows = await psqlAt(port, 'SELECT count(*) FROM orders', 'sample');
  if (rows !== '700') throw new Error(`the recovered server has ${rows} orders, expected 700`);
  await client.call('cluster.overview', {});
  await client.call('jobs.list', {});
  client.close();
  await client.closed();
  const rec: Recording = { host: 'local', recordedAt: new Date().toISOString(), exchanges: exchanges(lines) };
  const file = path.join(import.meta.dirname, 'fixtures', 'local.json');
  await mkdir(path.dirname(file), { recursive: true });
  // the recording is the agent's words; paths of this machine's temp dirs stay in it (they are only shown)
  await writeFile(file, JSON.stringify({ ...rec, pitr: { planId: plan.id, dataDir: pitrDir, port } }, null, 1) + '\n');
  process.stdout.write(`wrote ${file}: ${rec.exchanges.length} exchanges\n`);
} finally {
  await stopDataDir(pitrDir);
  await pg.stop();
  await ws.cleanup();
}
