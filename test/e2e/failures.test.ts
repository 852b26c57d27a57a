import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SAMPLE_DB, startCluster, tableFingerprints, type PgCluster } from '../harness/pg.js';
import { BIN, lifeboat, slowToolBinDir, unwrap, workspace, type Workspace } from '../helpers/cli.js';

let pg: PgCluster;
let ws: Workspace;
let goodId: string;

async function backup(extra: string[] = [], w: Workspace = ws) {
  return lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB, ...extra], { config: w.config });
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath ?? (e as any).path, e.name)));
  }
  return out.sort();
}

beforeAll(async () => {
  pg = await startCluster({ name: 'failures', sampleData: true });
  ws = await workspace(pg);
  const b = await backup();
  expect(b.code, b.stderr).toBe(0);
  goodId = b.json.backup.id;
});

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
});

describe('clear one-line errors, non-zero exits, nothing lost', () => {
  test('a config with a wrong type names the file and the JSON path', async () => {
    const bad = path.join(ws.dir, 'bad.json');
    const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
    cfg.clusters.pg.connection.port = 'five';
    await writeFile(bad, JSON.stringify(cfg));
    const r = await lifeboat(['backup', '-c', 'pg'], { config: bad });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toContain(`config ${bad}: clusters.pg.connection.port:`);
    expect(lines[0]).toMatch(/expected number/);
    expect(lines.length).toBeLessThanOrEqual(2); // the error and its hint
  });

  test('malformed JSON in the config is one clear line', async () => {
    const bad = path.join(ws.dir, 'broken.json');
    await writeFile(bad, '{ "clusters": { ');
    const r = await lifeboat(['list'], { config: bad });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config ${bad}: not valid JSON`);
  });

  test('a cluster that refuses connections fails clearly and leaves nothing', async () => {
    const dead = await workspace(pg, { connection: { port: 1 } });
    try {
      const r = await backup([], dead);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:1/);
      expect(r.json.error.code).toBe('CONNECTION_FAILED');
      const list = await lifeboat(['--json', 'list'], { config: dead.config });
      expect(list.json.backups).toEqual([]);
      expect((await filesUnder(dead.repo)).filter((f) => f.includes('/backup/'))).toEqual([]);
      const check = await lifeboat(['config', 'check'], { config: dead.config });
      expect(check.code).toBe(1);
      expect(check.stdout).toMatch(/FAIL pg: connection/);
    } finally {
      await dead.cleanup();
    }
  });

  test('a missing pg_dump binary is named', async () => {
    const empty = path.join(ws.dir, 'empty-bin');
    await mkdir(empty, { recursive: true });
    // psql comes from PATH via a wrapper dir holding only psql, so only pg_dump is missing
    const bindir = path.join(ws.dir, 'only-psql');
    await mkdir(bindir, { recursive: true });
    await writeFile(path.join(bindir, 'psql'), '#!/bin/sh\nexec psql "$@"\n');
    await chmod(path.join(bindir, 'psql'), 0o755);
    const w = await workspace(pg, { connection: { bindir } });
    try {
      const r = await backup([], w);
      expect(r.code).toBe(1);
      expect(r.json.error.code).toBe('BINARY_MISSING');
      expect(r.stderr).toContain(`pg_dump not found in ${bindir}`);
      expect((await lifeboat(['--json', 'list'], { config: w.config })).json.backups).toEqual([]);
    } finally {
      await w.cleanup();
    }
  });

  test('an object whose bytes changed fails verification by name, and restore refuses it', async () => {
    const b = await backup(['--label', 'to-damage']);
    const id = b.json.backup.id;
    const show = await lifeboat(['--json', 'show', id], { config: ws.config });
    const obj = show.json.manifest.objects[0];
    const file = path.join(ws.repo, obj.key);
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    await writeFile(file, bytes);
    const v = await lifeboat(['verify', id], { config: ws.config });
    expect(v.code).toBe(1);
    expect(v.stderr).toContain(`checksum ${obj.name}`);
    const r = await lifeboat(['restore', id, '--to-database', 'never_created', '--yes'], { config: ws.config });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/does not match its manifest; nothing was restored/);
    expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'never_created'")).toBe('0');
    const list = await lifeboat(['--json', 'list'], { config: ws.config });
    expect(list.json.backups.find((x: any) => x.id === id).verification).toMatchObject({ ok: false, level: 'checksum' });
  });

  test('a truncated or tampered manifest is reported, not trusted; other backups still listed', async () => {
    const t = (await backup(['--label', 'truncated'])).json.backup.id;
    const m = (await backup(['--label', 'tampered'])).json.backup.id;
    const tFile = path.join(ws.repo, 'pg', 'backup', t, 'manifest.json');
    const text = await readFile(tFile, 'utf8');
    await writeFile(tFile, text.slice(0, Math.floor(text.length / 2)));
    const mFile = path.join(ws.repo, 'pg', 'backup', m, 'manifest.json');
    const manifest = JSON.parse(await readFile(mFile, 'utf8'));
    manifest.objects[0].sha256 = 'not-a-checksum';
    await writeFile(mFile, JSON.stringify(manifest));

    const list = await lifeboat(['--json', 'list'], { config: ws.config });
    expect(list.code).toBe(0);
    const ids = list.json.backups.map((x: any) => x.id);
    expect(ids).toContain(goodId);
    expect(ids).not.toContain(t);
    expect(ids).not.toContain(m);
    expect(list.json.invalid.map((x: any) => x.id).sort()).toEqual([t, m].sort());
    const text80 = await lifeboat(['list'], { config: ws.config });
    expect(text80.stderr).toContain(`backup pg/${t} is not listed`);
    for (const line of text80.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    const show = await lifeboat(['show', m], { config: ws.config });
    expect(show.code).toBe(1);
    expect(show.stderr).toMatch(/cannot be trusted/);
    const v = await lifeboat(['verify', t], { config: ws.config });
    expect(v.code).toBe(1);
    // nothing was deleted
    expect(await readFile(mFile, 'utf8')).toContain('not-a-checksum');
  });

  test('a manifest changed in ways that keep it valid (size, label, times, row counts) fails verify and is not restored from (issue 10 item 8)', async () => {
    const edits: [string, (m: any) => void][] = [
      ['object size', (m) => (m.objects[0].size += 1)],
      ['label', (m) => (m.label = 'not what was written')],
      ['finishedAt', (m) => (m.finishedAt = new Date(Date.parse(m.finishedAt) + 3600_000).toISOString())],
      ['rawSize', (m) => (m.rawSize += 10)],
      ['row count', (m) => { const db = m.logical.databases[0]; const t = Object.keys(db.rowCounts)[0]!; db.rowCounts[t] += 1; }],
    ];
    for (const [what, edit] of edits) {
      const id = (await backup(['--label', `digest-${what.replace(' ', '-')}`])).json.backup.id;
      const file = path.join(ws.repo, 'pg', 'backup', id, 'manifest.json');
      const clean = await lifeboat(['--json', 'verify', id], { config: ws.config });
      expect(clean.code, `${what}: ${clean.stderr}`).toBe(0);
      expect(clean.json.verification.checks[0]).toMatchObject({ name: 'manifest digest', ok: true });
      expect(clean.json.verification.checks[0].detail).toMatch(/^unchanged since it was written on this host/);
      const m = JSON.parse(await readFile(file, 'utf8'));
      edit(m);
      await writeFile(file, JSON.stringify(m, null, 2) + '\n');
      const list = await lifeboat(['--json', 'list'], { config: ws.config });
      expect(list.json.backups?.map((x: any) => x.id), `${what}: still a valid manifest (list said: ${list.stderr})`).toContain(id);
      for (const level of ['checksum', 'structure']) {
        const v = await lifeboat(['verify', id, '--level', level], { config: ws.config });
        expect(v.code, `${what} at ${level}: ${v.stdout}`).toBe(1);
        expect(v.stderr, what).toMatch(/failed verification \(\w+\): manifest digest: manifest\.json changed since it was written on this host/);
      }
      const r = await lifeboat(['restore', id, '--to-database', 'never_from_changed', '--yes'], { config: ws.config });
      expect(r.code, `${what}: ${r.stdout}`).toBe(1);
      expect(r.stderr).toMatch(/manifest\.json changed since it was written on this host .*nothing was changed/);
      expect(await pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'never_from_changed'")).toBe('0');
    }
  });

  test('a manifest this host did not write is recorded when first verified; a change after that is caught', async () => {
    const id = (await backup(['--label', 'first-seen'])).json.backup.id;
    // another host (or a reset state) has no digest: drop this one's
    const stateFile = path.join(ws.state, 'state.json');
    const st = JSON.parse(await readFile(stateFile, 'utf8'));
    delete st.manifestDigests[`pg/${id}`];
    await writeFile(stateFile, JSON.stringify(st));
    const first = await lifeboat(['--json', 'verify', id], { config: ws.config });
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.verification.checks[0].detail).toMatch(/no digest of this manifest on this host .*recorded now/);
    const file = path.join(ws.repo, 'pg', 'backup', id, 'manifest.json');
    const m = JSON.parse(await readFile(file, 'utf8'));
    m.label = 'changed later';
    await writeFile(file, JSON.stringify(m, null, 2) + '\n');
    const after = await lifeboat(['verify', id], { config: ws.config });
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/manifest\.json changed since first verified on this host/);
  });

  test('a backup role that cannot read one table: the error names the table, not "invalid snapshot identifier" (issue 11 item 6)', async () => {
    await pg.psql('CREATE TABLE IF NOT EXISTS public.secret_payroll (x int)', SAMPLE_DB);
    await pg.psql("DO $$ BEGIN CREATE ROLE reader_no_secret LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    await pg.psql(
      `DO $$ DECLARE s text; BEGIN
         FOR s IN SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' LOOP
           EXECUTE format('GRANT USAGE ON SCHEMA %I TO reader_no_secret', s);
           EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO reader_no_secret', s);
           EXECUTE format('GRANT SELECT ON ALL SEQUENCES IN SCHEMA %I TO reader_no_secret', s);
         END LOOP; END $$;
       GRANT SELECT ON pg_largeobject_metadata TO reader_no_secret;
       REVOKE SELECT ON public.secret_payroll FROM reader_no_secret`,
      SAMPLE_DB,
    );
    const w = await workspace(pg, { connection: { user: 'reader_no_secret', database: SAMPLE_DB } });
    try {
      const r = await lifeboat(['backup', '-c', 'pg'], { config: w.config });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/permission denied for table public\.secret_payroll in sample: reader_no_secret may not read it; nothing was backed up/);
      expect(r.stderr).not.toMatch(/invalid snapshot/);
      expect((await lifeboat(['--json', 'list'], { config: w.config })).json.backups).toEqual([]);
    } finally {
      await w.cleanup();
      await pg.psql('DROP TABLE public.secret_payroll', SAMPLE_DB);
    }
  });

  test('--tag safety by hand is refused: only a restore gives it (issue 11 item 17)', async () => {
    const r = await lifeboat(['backup', '-c', 'pg', '--tag', 'safety'], { config: ws.config });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tag safety is given only to the backup a restore takes of what it replaces/);
  });

  test('restoring onto an existing database without --clean is refused and changes nothing', async () => {
    const before = await tableFingerprints(pg, SAMPLE_DB);
    const r = await lifeboat(['restore', goodId, '--to-database', SAMPLE_DB, '--yes'], { config: ws.config });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`database ${SAMPLE_DB} already exists`);
    expect(r.stderr).toContain('--clean');
    expect(await tableFingerprints(pg, SAMPLE_DB)).toEqual(before);
  });

  test('--clean without --yes and without a TTY asks for confirmation and changes nothing', async () => {
    const before = await tableFingerprints(pg, SAMPLE_DB);
    const r = await lifeboat(['restore', goodId, '--to-database', SAMPLE_DB, '--clean'], { config: ws.config });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/needs confirmation/);
    expect(await tableFingerprints(pg, SAMPLE_DB)).toEqual(before);
  });
});

describe('interrupted backups', () => {
  test('SIGKILL of the job runner mid-backup leaves no listed backup; repo gc removes the leftovers; the next backup succeeds', async () => {
    // A command prefix that lets pg_dump write everything, then holds stdout open:
    // the runner is killed while the object is still being written. (Jobs run in a
    // detached runner since the jobs-survive-the-connection change: killing the
    // agent alone no longer stops a backup, see jobs-detached.test.ts.)
    const wrapper = path.join(ws.dir, 'slow-dump.sh');
    await writeFile(wrapper, '#!/bin/sh\nif [ "$1" = pg_dump ] && [ "$2" != --version ]; then "$@"; sleep 15; exit 0; fi\nexec "$@"\n');
    await chmod(wrapper, 0o755);
    const w = await workspace(pg, { connection: { commandPrefix: [wrapper] } });
    try {
      const agent = spawn(process.execPath, [BIN, 'agent', '--stdio', '--config', w.config], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      const sawBytes = new Promise<void>((resolve) => {
        agent.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/"method":"job.progress".*"bytes":[1-9]/.test(out)) resolve();
        });
      });
      agent.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'job.start', params: { type: 'backup', params: { cluster: 'pg', database: SAMPLE_DB } } }) + '\n');
      await sawBytes;
      await new Promise((r) => setTimeout(r, 300));
      const listed = new Promise<any>((resolve) => {
        agent.stdout.on('data', () => {
          const m = out.split('\n').find((l) => l.startsWith('{"jsonrpc":"2.0","id":2,'));
          if (m) resolve(JSON.parse(m));
        });
      });
      agent.stdin.write(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'jobs.list', params: {} }) + '\n');
      const runner = (await listed).result.running[0].runner;
      process.kill(runner.pid, 'SIGKILL');
      agent.kill('SIGKILL');
      await new Promise((r) => agent.on('close', r));

      const leftovers = (await filesUnder(w.repo)).filter((f) => f.includes('/backup/'));
      expect(leftovers.length).toBeGreaterThan(0); // the unfinished upload
      const list = await lifeboat(['--json', 'list'], { config: w.config });
      expect(list.json.backups).toEqual([]);
      expect(list.json.invalid).toEqual([]);

      await new Promise((r) => setTimeout(r, 2_100)); // gc spares uploads younger than 2 s
      const dry = await lifeboat(['--json', 'repo', 'gc', '--dry-run'], { config: w.config });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stderr).toMatch(/stale lock/);
      // the dry run counts the unfinished upload's real size (it said 0 B before)
      expect(dry.json.removed.length).toBeGreaterThan(0);
      expect(dry.json.removed.every((r: any) => r.size > 0), JSON.stringify(dry.json.removed)).toBe(true);
      expect(dry.json.bytes).toBeGreaterThan(0);
      const gc = await lifeboat(['--json', 'repo', 'gc'], { config: w.config });
      expect(gc.code, gc.stderr).toBe(0);
      expect(gc.json.removed).toEqual(dry.json.removed);
      expect((await filesUnder(w.repo)).filter((f) => f.includes('/backup/'))).toEqual([]);
      expect(await readdir(path.join(w.repo, 'pg', 'backup')).catch(() => [])).toEqual([]); // no empty backup directory left

      // the next backup of the same cluster and repository succeeds (without the slow wrapper)
      const cfg = JSON.parse(await readFile(w.config, 'utf8'));
      delete cfg.clusters.pg.connection.commandPrefix;
      await writeFile(w.config, JSON.stringify(cfg));
      const next = await backup([], w);
      expect(next.code, next.stderr).toBe(0);
      const after = await lifeboat(['--json', 'list'], { config: w.config });
      expect(after.json.backups.map((b: any) => b.id)).toEqual([next.json.backup.id]);
    } finally {
      await w.cleanup();
    }
  }, 120_000);

  test('a killed directory-format backup leaves its staging dump; repo gc removes it and counts its size (issue 10 item 15)', async () => {
    // pg_dump finishes writing the staging directory, then holds on: the runner is killed then
    // (a bindir of wrappers: directory format refuses a commandPrefix)
    const bindir = await slowToolBinDir(path.join(ws.dir, 'slow-bin'), pg.binDir, 'pg_dump');
    const w = await workspace(pg, { connection: { bindir } });
    try {
      const job = await lifeboat(['--json', 'backup', '-c', 'pg', '-d', SAMPLE_DB, '--format', 'directory', '--detach'], { config: w.config });
      expect(job.code, job.stderr).toBe(0);
      let runner: number | undefined;
      let staging: string | undefined;
      for (let i = 0; i < 100 && !staging; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const jobs = await lifeboat(['--json', 'jobs'], { config: w.config });
        runner = jobs.json.running[0]?.runner?.pid;
        if (!runner) {
          expect(jobs.json.recent.filter((j: any) => j.status === 'failed'), 'the backup failed early').toEqual([]);
          continue;
        }
        const mine = (await readdir(os.tmpdir())).filter((n) => n.startsWith(`lifeboat-job-${runner}-`));
        for (const d of mine) if ((await filesUnder(path.join(os.tmpdir(), d))).some((f) => f.endsWith('toc.dat'))) staging = path.join(os.tmpdir(), d);
      }
      expect(staging, 'the staging directory of the dump').toBeDefined();
      process.kill(runner!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      const size = (await execa('du', ['-sb', staging!])).stdout.split('\t')[0];
      const dry = await lifeboat(['--json', 'repo', 'gc', '--dry-run'], { config: w.config });
      expect(dry.code, dry.stderr).toBe(0);
      const found = dry.json.tempDirs.find((t: any) => t.path === staging);
      expect(found, JSON.stringify(dry.json.tempDirs)).toBeDefined();
      expect(found.size).toBeGreaterThan(0.5 * Number(size)); // du counts the directories too
      expect((await readdir(staging!)).length).toBeGreaterThan(0); // the dry run removed nothing
      const gc = await lifeboat(['repo', 'gc'], { config: w.config });
      expect(gc.code, gc.stderr).toBe(0);
      expect(unwrap(gc.stdout)).toContain(`removed temp dir ${staging} of a killed job`); // the line folds at 80 columns
      expect(await readdir(staging!).catch(() => 'gone')).toBe('gone');
    } finally {
      await w.cleanup();
    }
  }, 120_000);

  test('job.cancel kills pg_dump and keeps nothing; the agent goes on serving', async () => {
    const wrapper = path.join(ws.dir, 'slow-dump-cancel.sh');
    // pg_dump writes everything, then the wrapper holds the pipe open for a long time
    await writeFile(wrapper, '#!/bin/sh\nif [ "$1" = pg_dump ] && [ "$2" != --version ]; then "$@"; exec sleep 600; fi\nexec "$@"\n');
    await chmod(wrapper, 0o755);
    const w = await workspace(pg, { connection: { commandPrefix: [wrapper] } });
    try {
      const agent = spawn(process.execPath, [BIN, 'agent', '--stdio', '--config', w.config], { stdio: ['pipe', 'pipe', 'inherit'] });
      const messages: any[] = [];
      let buf = '';
      const waitFor = (pred: (m: any) => boolean) =>
        new Promise<any>((resolve) => {
          const check = () => {
            const m = messages.find(pred);
            if (m) resolve(m);
            else setTimeout(check, 20);
          };
          check();
        });
      agent.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          messages.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
      const send = (id: number, method: string, params: unknown) => agent.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
      send(1, 'job.start', { type: 'backup', params: { cluster: 'pg', database: SAMPLE_DB } });
      const { result } = await waitFor((m) => m.id === 1);
      await waitFor((m) => m.method === 'job.progress' && m.params.bytes > 0);
      send(2, 'job.cancel', { jobId: result.jobId });
      expect((await waitFor((m) => m.id === 2)).result).toEqual({ cancelled: true });
      const done = await waitFor((m) => m.method === 'job.done');
      expect(done.params.ok).toBe(false);
      expect(done.params.error.code).toBe('CANCELLED');
      // the child processes are gone (the wrapper's sleep included)
      const ps = await execa('ps', ['-eo', 'args']);
      expect(ps.stdout).not.toContain(`${wrapper} pg_dump`);
      expect(ps.stdout).not.toMatch(/sleep 600/);
      // the agent still serves, and nothing was kept
      send(3, 'catalog.list', {});
      expect((await waitFor((m) => m.id === 3)).result.backups).toEqual([]);
      expect((await filesUnder(w.repo)).filter((f) => f.includes('/backup/'))).toEqual([]);
      agent.stdin.end();
      await new Promise((r) => agent.on('close', r));
    } finally {
      await w.cleanup();
    }
  });

  // Needs root to mount a small tmpfs (CI runs as root); elsewhere it is skipped.
  test.skipIf(process.getuid?.() !== 0)('a full disk fails the backup clearly and leaves nothing that looks complete', async () => {
    const w = await workspace(pg);
    const mnt = path.join(w.dir, 'small');
    await mkdir(mnt);
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    try {
      const cfg = JSON.parse(await readFile(w.config, 'utf8'));
      cfg.repositories.main.path = path.join(mnt, 'repo');
      await writeFile(w.config, JSON.stringify(cfg));
      const small = await backup(['-t', 'public.pgbench_branches'], w);
      expect(small.code, small.stderr).toBe(0);
      const r = await backup(['--compression', 'none'], w);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no space left on device/);
      expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('lifeboat:')).length).toBe(1);
      const list = await lifeboat(['--json', 'list'], { config: w.config });
      expect(list.json.backups.map((b: any) => b.id)).toEqual([small.json.backup.id]);
      expect(list.json.invalid).toEqual([]);
      const files = await filesUnder(path.join(mnt, 'repo'));
      expect(files.filter((f) => f.includes('.lifeboat-tmp-'))).toEqual([]);
      expect(files.filter((f) => f.includes('/backup/') && !f.includes(small.json.backup.id))).toEqual([]);
      const v = await lifeboat(['verify', small.json.backup.id], { config: w.config });
      expect(v.code, v.stderr).toBe(0);
    } finally {
      await execa('umount', [mnt]);
      await w.cleanup();
    }
  });
});
