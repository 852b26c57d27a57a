/**
 * The TUI's two read-only agent methods against a real cluster archiving
 * through lifeboat, spoken to through the real agent (the fleet's AgentClient
 * over the local-agent transport): `cluster.overview` (catalog status, live
 * server status, running jobs; bounded when the server is down or hung) and
 * `pitr.window` (where PITR can reach, ending at a gap in archived WAL).
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ClusterOverview } from '../../src/agent/units/overview.js';
import type { RecoverableWindow } from '../../src/core/pitr.js';
import { AgentClient } from '../../src/fleet/client.js';
import { spawnLocalAgent } from '../../src/fleet/transport.js';
import type { PgCluster } from '../harness/pg.js';
import { startArchivingCluster, switchAndWaitArchived } from '../helpers/archiving.js';
import { BIN, lifeboatAsServer, serverCanRunLifeboat, type Workspace } from '../helpers/cli.js';

const IS_ROOT = process.getuid?.() === 0;
let pg: PgCluster;
let ws: Workspace;
let agent: AgentClient;
const first = { id: '', finishedAt: '', stopLsn: '', walStop: '' };

const lb = (args: string[]) => lifeboatAsServer(ws.config, args);
const archiver = async () => JSON.parse(await pg.psql('SELECT row_to_json(a) FROM pg_stat_archiver a'));

/** Archived WAL in the repository: segment name → file path. */
async function walFiles(): Promise<Map<string, string>> {
  const dir = path.join(ws.repo, 'pg', 'wal');
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const m = /^([0-9A-F]{24})-[0-9a-f]{64}\.zst$/.exec(e.name);
    if (e.isFile() && m) out.set(m[1]!, path.join(e.parentPath, e.name));
  }
  return out;
}

async function physicalBackup(): Promise<typeof first> {
  const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  const m = (await lb(['--json', 'show', b.json.backup.id])).json.manifest;
  return { id: m.id, finishedAt: m.finishedAt, stopLsn: m.physical.stopLsn, walStop: m.physical.walStop };
}

/** Call cluster.overview and time it. */
async function timedOverview(params: Record<string, unknown> = {}): Promise<{ ms: number; result: ClusterOverview[] }> {
  const t0 = Date.now();
  const result = await agent.call('cluster.overview', params);
  return { ms: Date.now() - t0, result };
}

beforeAll(async () => {
  if (!serverCanRunLifeboat) return;
  ({ pg, ws } = await startArchivingCluster('overview'));
  await pg.psql('CREATE TABLE t (i int)');
  Object.assign(first, await physicalBackup());
  for (let n = 0; n < 3; n++) {
    await pg.psql('INSERT INTO t SELECT generate_series(1, 1000)');
    expect(await switchAndWaitArchived(pg.psql)).toBe(true);
  }
  // the agent as the server's OS user, like the archive_command (it keeps the state dir that user's);
  // only for this spawn: the CLI runs above start their own agents
  process.env.LIFEBOAT_AGENT_COMMAND = [...(IS_ROOT ? ['runuser', '-u', pg.osUser, '--'] : []), process.execPath, BIN, 'agent', '--stdio'].join(' ');
  try {
    agent = new AgentClient(spawnLocalAgent({ configPath: ws.config }));
  } finally {
    delete process.env.LIFEBOAT_AGENT_COMMAND;
  }
  await agent.connect();
}, 60_000);

afterAll(async () => {
  agent?.close();
  await pg?.stop();
  await ws?.cleanup();
});

describe.skipIf(!serverCanRunLifeboat)('cluster.overview and pitr.window through the agent', () => {
  test('cluster.overview: the server as pg_stat_archiver sees it, the catalog as catalog.status does', async () => {
    const [ov, ...rest] = (await timedOverview()).result;
    expect(rest).toEqual([]);
    const status = (await agent.call('catalog.status', { cluster: 'pg' }))[0]!;
    const a = await archiver();
    expect(ov!.cluster).toBe('pg');
    expect(ov!.serverError).toBeUndefined();
    expect(ov!.server).toEqual({
      version: await pg.psql('SHOW server_version'),
      inRecovery: false,
      archiveMode: 'on',
      archiver: {
        archivedCount: Number(a.archived_count),
        failedCount: 0,
        lastArchivedWal: a.last_archived_wal,
        lastArchivedAt: new Date(a.last_archived_time).toISOString(),
        failingNow: false,
      },
    });
    expect(ov!.server!.archiver.archivedCount).toBeGreaterThan(0);
    // the same status (age aside: it is measured at each call)
    // catalog.status adds the WAL line (the overview has the server's status itself)
    const { wal, ...plain } = status;
    expect(wal).toMatchObject({ archiveMode: 'on' });
    expect({ ...ov!.status, ageHours: 0 }).toEqual({ ...plain, ageHours: 0 });
    expect(ov!.status.ageHours).toBeCloseTo(status.ageHours!, 2);
    expect(ov!.status).toMatchObject({ cluster: 'pg', ok: true, backups: 1, latest: { id: first.id } });
    expect(ov!.runningJobs).toEqual([]);
    expect((await agent.call('cluster.overview', { cluster: 'pg' })).map((o) => o.cluster)).toEqual(['pg']);
  });

  test('pitr.window: one span from the backup to the newest archived segment', async () => {
    const w = await agent.call('pitr.window', { cluster: 'pg' });
    const a = await archiver();
    const files = await walFiles();
    const newest = [...files.keys()].sort().at(-1)!;
    expect(newest).toBe(a.last_archived_wal);
    const mtime = new Date((await stat(files.get(newest)!)).mtimeMs).toISOString();
    expect(w.spans).toEqual([{ from: first.finishedAt, to: mtime, fromLsn: first.stopLsn, lastSegment: newest, timeline: 1, backups: [first.id] }]);
    expect(w).toMatchObject({ cluster: 'pg', gaps: 0, newestSegmentAt: mtime });
    expect(Date.parse(w.now)).toBeGreaterThanOrEqual(Date.parse(w.spans[0]!.to));
  });

  test('a WAL segment deleted from the repository ends the span there; a backup after the gap starts a new one', async () => {
    const files = await walFiles();
    const after = [...files.keys()].sort().filter((n) => n > first.walStop);
    expect(after.length).toBeGreaterThanOrEqual(3);
    const missing = after[1]!;
    const before = after[0]!;
    await rm(files.get(missing)!);
    const w = await agent.call('pitr.window', {});
    const beforeAt = new Date((await stat(files.get(before)!)).mtimeMs).toISOString();
    expect(w.spans).toEqual([{ from: first.finishedAt, to: beforeAt, fromLsn: first.stopLsn, lastSegment: before, timeline: 1, backups: [first.id], gap: { segment: missing, at: beforeAt } }]);
    expect(w.gaps).toBe(1);
    // wal.verify agrees about the gap
    const v = await agent.call('wal.verify', { cluster: 'pg' });
    expect(v.backups).toMatchObject([{ id: first.id, ok: false, gap: missing }]);

    const second = await physicalBackup();
    await pg.psql('INSERT INTO t SELECT generate_series(1, 1000)');
    expect(await switchAndWaitArchived(pg.psql)).toBe(true);
    const w2 = await agent.call('pitr.window', { cluster: 'pg' });
    const newest = [...(await walFiles()).keys()].sort().at(-1)!;
    expect(newest).toBe((await archiver()).last_archived_wal);
    expect(newest > second.walStop).toBe(true);
    expect(w2.spans).toHaveLength(2);
    expect(w2.spans[0]).toEqual(w.spans[0]);
    expect(w2.spans[1]).toMatchObject({ from: second.finishedAt, fromLsn: second.stopLsn, lastSegment: newest, timeline: 1, backups: [second.id] });
    expect(w2.spans[1]!.gap).toBeUndefined();
    expect(w2.gaps).toBe(1);
  });

  test('a hung server does not hold up the overview: each cluster is asked for ~4 s, all at once', async () => {
    // a second cluster on the same server: asked one after the other, two hung servers would take 8 s
    const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
    cfg.clusters.twin = { ...cfg.clusters.pg };
    await writeFile(ws.config, JSON.stringify(cfg, null, 2));
    const postmaster = Number((await readFile(path.join(pg.dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(postmaster, 'SIGSTOP'); // connections are accepted by the kernel and never answered
    let res: Awaited<ReturnType<typeof timedOverview>>;
    try {
      res = await timedOverview();
    } finally {
      process.kill(postmaster, 'SIGCONT');
      delete cfg.clusters.twin;
      await writeFile(ws.config, JSON.stringify(cfg, null, 2));
    }
    expect(res.ms).toBeGreaterThanOrEqual(3_900);
    expect(res.ms).toBeLessThan(6_500);
    expect(res.result.map((o) => o.cluster)).toEqual(['pg', 'twin']);
    for (const o of res.result) {
      expect(o.server).toBeUndefined();
      expect(o.serverError).toMatchObject({ code: 'CONNECTION_FAILED', message: `the server of cluster ${o.cluster} did not answer within 4 s` });
    }
    expect(res.result[0]!.status).toMatchObject({ cluster: 'pg', backups: 2 });
    expect(res.result[1]!.status).toMatchObject({ cluster: 'twin', ok: false, problem: 'no backup yet' });
  });

  test('a stopped server: the overview still answers at once, with serverError and the catalog status', async () => {
    await pg.stopServer('fast');
    const { ms, result } = await timedOverview({ cluster: 'pg' });
    expect(ms).toBeLessThan(5_000);
    expect(result).toHaveLength(1);
    expect(result[0]!.server).toBeUndefined();
    expect(result[0]!.serverError).toMatchObject({ code: 'CONNECTION_FAILED', message: expect.stringMatching(/cannot connect to PostgreSQL/) });
    expect(result[0]!.status).toMatchObject({ cluster: 'pg', ok: true, backups: 2 });
  });
});
