import { appendFile, chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, type PgCluster } from '../harness/pg.js';
import { startArchivingCluster, psqlAt, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { giveToServer, lifeboatAsServer, serverCanRunLifeboat, type Workspace } from '../helpers/cli.js';

// Everything runs as the server's OS user: PostgreSQL runs lifeboat as its
// archive_command and restore_command, so config and repository are its own.
const canRun = serverCanRunLifeboat;

let pg: PgCluster;
let ws: Workspace;
const marks: Record<string, string> = {};
const restored: string[] = [];

const lb = (args: string[]) => lifeboatAsServer(ws.config, args);

/** Plan side by side, apply all steps, return the markers the restored server has. */
async function recover(target: string[], extra: string[] = []): Promise<{ markers: string[]; plan: any; port: number }> {
  const port = await freePort();
  const dir = path.join(ws.dir, `restored-${restored.length}`);
  restored.push(dir);
  const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', ...target, '--to-datadir', dir, '--port', String(port), ...extra]);
  expect(plan.code, plan.stderr).toBe(0);
  const apply = await lb(['--json', 'pitr', 'apply', plan.json.plan.id, '--yes']);
  expect(apply.code, apply.stderr).toBe(0);
  expect(apply.json.plan.steps.every((s: any) => s.status === 'done')).toBe(true);
  const markers = (await psqlAt(port, 'SELECT coalesce(string_agg(name, \',\' ORDER BY name), \'\') FROM markers')).split(',').filter(Boolean);
  return { markers, plan: apply.json.plan, port };
}

beforeAll(async () => {
  if (!canRun) return;
  ({ pg, ws } = await startArchivingCluster('pitr'));
  await pg.psql('CREATE TABLE markers (name text PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())');
  const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  marks.backup = b.json.backup.id;
  // a light write load while the markers are committed
  const load = execa('pgbench', ['-i', '-s', '1', '-q', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', 'postgres']);
  await load;
  const bench = execa('pgbench', ['-T', '6', '-R', '40', '-c', '1', '-n', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', 'postgres'], { reject: false });
  await pg.psql("INSERT INTO markers (name) VALUES ('t1')");
  marks.xid2 = await pg.psql("BEGIN; INSERT INTO markers (name) VALUES ('t2'); SELECT txid_current(); COMMIT;");
  marks.lsn2 = await pg.psql('SELECT pg_current_wal_insert_lsn()');
  await pg.psql("SELECT pg_create_restore_point('before-t3')");
  await new Promise((r) => setTimeout(r, 1100));
  marks.time = await pg.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'");
  await new Promise((r) => setTimeout(r, 1100));
  await pg.psql("INSERT INTO markers (name) VALUES ('t3')");
  await bench;
  // a few more segments after t3, so a gap in the middle of the archive can be made
  for (let i = 0; i < 3; i++) await pg.psql(`INSERT INTO markers (name) VALUES ('later${i}'); SELECT pg_switch_wal();`);
  await pg.psql("DELETE FROM markers WHERE name LIKE 'later%'");
  await switchAndWaitArchived(pg.psql); // the segment holding t3
  expect(await pg.psql('SELECT failed_count FROM pg_stat_archiver')).toBe('0');
}, 180_000);

afterAll(async () => {
  for (const d of restored) await stopDataDir(d);
  await pg?.stop();
  await ws?.cleanup();
});

describe.skipIf(!canRun)('point-in-time recovery, side by side', () => {
  test('to a time between t2 and t3: t1 and t2, not t3; the original keeps running untouched', async () => {
    const r = await recover(['--time', marks.time!]);
    expect(r.markers).toEqual(['t1', 't2']);
    expect(await pg.psql('SELECT string_agg(name, \',\' ORDER BY name) FROM markers')).toBe('t1,t2,t3');
    expect(await psqlAt(r.port, 'SELECT pg_is_in_recovery()')).toBe('f'); // promoted
    expect(r.plan.mode).toBe('side-by-side');
    // the same time as ISO 8601 with Z: PostgreSQL cannot read Z at start, so the plan writes +00:00
    const iso = await recover(['--time', `${marks.time!.replace(' ', 'T').replace(/\+00$/, '')}Z`]);
    expect(iso.markers).toEqual(['t1', 't2']);
    expect(iso.plan.target.time).toBe(`${marks.time}:00`);
  });

  test('to the LSN after t2', async () => {
    expect((await recover(['--lsn', marks.lsn2!])).markers).toEqual(['t1', 't2']);
  });

  test("to t2's transaction id (inclusive), and exclusive of it", async () => {
    expect((await recover(['--xid', marks.xid2!])).markers).toEqual(['t1', 't2']);
    expect((await recover(['--xid', marks.xid2!, '--exclusive'])).markers).toEqual(['t1']);
  });

  test('to a named restore point', async () => {
    expect((await recover(['--name', 'before-t3'])).markers).toEqual(['t1', 't2']);
  });

  test('immediate stops at the base backup; latest replays everything', async () => {
    expect((await recover(['--immediate'])).markers).toEqual([]);
    expect((await recover(['--latest'])).markers).toEqual(['t1', 't2', 't3']);
  });

  test('pause leaves the server paused in recovery at the target', async () => {
    const r = await recover(['--name', 'before-t3'], ['--action', 'pause']);
    expect(r.markers).toEqual(['t1', 't2']);
    expect(await psqlAt(r.port, 'SELECT pg_is_in_recovery()')).toBe('t');
  });

  test('wal verify finds the archive continuous from the backup', async () => {
    const v = await lb(['--json', 'wal', 'verify', '-c', 'pg']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.backups).toEqual([expect.objectContaining({ id: marks.backup, ok: true, timeline: 1 })]);
    expect(v.json.backups[0].segments).toBeGreaterThan(3);
    expect(v.json.contents.damaged).toEqual([]);
    expect(v.json.contents.objects).toBeGreaterThan(3);
  });

  test('a bit flip or a truncation in an archived segment makes PITR to latest fail, naming the segment (issue 10 item 1)', async () => {
    const walDir = path.join(ws.repo, 'pg', 'wal');
    const files = (await readdir(walDir, { recursive: true })).filter((f) => /\/[0-9A-F]{24}-[0-9a-f]{64}\.zst$/.test(f)).sort();
    const victim = path.join(walDir, files[files.length - 2]!);
    const segment = path.basename(victim).slice(0, 24);
    const original = await readFile(victim);
    const damages: [string, Buffer][] = [
      ['bit flip', Buffer.from(original.map((b, i) => (i === Math.floor(original.length / 2) ? b ^ 0x10 : b)))],
      ['truncation', original.subarray(0, Math.floor(original.length / 2))],
    ];
    try {
      for (const [what, bytes] of damages) {
        await writeFile(victim, bytes);
        const v = await lb(['wal', 'verify', '-c', 'pg']); // issue 10 item 2: contents are read, not just names
        expect(v.code, `${what}: ${v.stdout}`).toBe(1);
        expect(v.stdout, what).toMatch(new RegExp(`BAD\\s+${segment}: `));
        expect(v.stdout.replace(/\s+/g, ' ')).toMatch(/contents: \d+ archived objects?, .* read back and checked against the sha256 recorded at push: 1 damaged/);
        const port = await freePort();
        const dir = path.join(ws.dir, `damaged-${what.replace(' ', '-')}`);
        restored.push(dir);
        const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(port)]);
        expect(plan.code, plan.stderr).toBe(0);
        const apply = await lb(['pitr', 'apply', plan.json.plan.id, '--yes']);
        expect(apply.code, `${what}: ${apply.stdout}`).not.toBe(0);
        expect(apply.stderr + apply.stdout, what).toContain(segment);
        expect(apply.stdout, what).not.toMatch(/recovery finished and the server was promoted/);
      }
      // a time past the damage: the segment is named too, with how far replay got
      await writeFile(victim, damages[0]![1]);
      const port = await freePort();
      const dir = path.join(ws.dir, 'damaged-time');
      restored.push(dir);
      const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--time', new Date().toISOString(), '--to-datadir', dir, '--port', String(port)]);
      expect(plan.code, plan.stderr).toBe(0);
      const apply = await lb(['pitr', 'apply', plan.json.plan.id, '--yes']);
      expect(apply.code, apply.stdout).toBe(1);
      expect(apply.stderr).toMatch(new RegExp(`the recovering server stopped \\(replayed up to [0-9A-F]+/[0-9A-F]+.*\\): .*${segment}`));
    } finally {
      await writeFile(victim, original);
    }
    expect((await recover(['--latest'])).markers).toEqual(['t1', 't2', 't3']); // the clean archive still recovers everything
  });

  test('a segment gone after the plan was made: recovery to latest ends early, and follow fails naming the segment and the LSN reached (issue 10 item 1)', async () => {
    // restore_command says "not found", PostgreSQL takes that for the end of the archive and promotes;
    // only comparing the LSN reached with the plan's end of WAL catches it
    const walDir = path.join(ws.repo, 'pg', 'wal');
    const files = (await readdir(walDir, { recursive: true })).filter((f) => /\/[0-9A-F]{24}-[0-9a-f]{64}\.zst$/.test(f)).sort();
    const victim = path.join(walDir, files[files.length - 2]!);
    const segment = path.basename(victim).slice(0, 24);
    const port = await freePort();
    const dir = path.join(ws.dir, 'vanished-segment');
    restored.push(dir);
    const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(port)]);
    expect(plan.code, plan.stderr).toBe(0);
    const id = plan.json.plan.id;
    const first = await lb(['pitr', 'apply', id, '--yes', '--through', '3']);
    expect(first.code, first.stderr).toBe(0);
    const bytes = await readFile(victim);
    await rm(victim);
    try {
      const rest = await lb(['pitr', 'apply', id, '--yes']);
      expect(rest.code, rest.stdout).toBe(1);
      expect(rest.stderr).toMatch(new RegExp(`recovery ended early: the server was promoted after replaying up to [0-9A-F]+/[0-9A-F]+, but the plan counted archived WAL up to ${plan.json.plan.wal.to}`));
      expect(rest.stderr).toContain(`WAL segment ${segment} (timeline 1) could not be fetched`);
      expect(rest.stdout).not.toMatch(/step 5 follow done/);
      const shown = await lb(['--json', 'pitr', 'show', id]);
      expect(shown.json.plan.steps.find((s: any) => s.name === 'follow').status).toBe('failed');
    } finally {
      await writeFile(victim, bytes);
    }
  });

  test('a copy whose postgresql.conf says nothing about where it listens (Debian keeps it in /etc) is still reached through the config\'s socket directory (issue 11 item 1)', async () => {
    // the config connects through the original's socket directory, not TCP
    const cfg = JSON.parse(await readFile(ws.config, 'utf8'));
    cfg.clusters.pg.connection.host = pg.socketDir;
    const sockConfig = path.join(ws.dir, 'socket-config.json');
    await writeFile(sockConfig, JSON.stringify(cfg));
    await giveToServer(ws);
    const lbs = (args: string[]) => lifeboatAsServer(sockConfig, args);
    const port = await freePort();
    const dir = path.join(ws.dir, 'no-listen-conf');
    restored.push(dir);
    const plan = await lbs(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(port)]);
    expect(plan.code, plan.stderr).toBe(0);
    const first = await lbs(['pitr', 'apply', plan.json.plan.id, '--yes', '--through', '2']);
    expect(first.code, first.stderr).toBe(0);
    // as if the configuration lived outside the data directory: the copy would listen on the compiled-in defaults
    const conf = path.join(dir, 'postgresql.conf');
    await writeFile(conf, (await readFile(conf, 'utf8')).replace(/^(listen_addresses|unix_socket_directories)\s*=.*$/gm, ''));
    const started = Date.now();
    const rest = await lbs(['--json', 'pitr', 'apply', plan.json.plan.id, '--yes']);
    expect(rest.code, rest.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(await psqlAt(port, "SELECT string_agg(name, ',' ORDER BY name) FROM markers")).toBe('t1,t2,t3');
    const auto = await readFile(path.join(dir, 'postgresql.auto.conf'), 'utf8');
    expect(auto).toContain(`unix_socket_directories = '${dir}'`);
    expect(auto).toContain("listen_addresses = 'localhost'");
  });

  test('into an existing empty 0755 directory: the restore makes it 0700 and the copy starts (issue 11 item 2)', async () => {
    const dir = path.join(ws.dir, 'made-0755');
    await mkdir(dir, { mode: 0o755 });
    await chmod(dir, 0o755);
    await giveToServer(ws);
    restored.push(dir);
    const port = await freePort();
    const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(port)]);
    const apply = await lb(['pitr', 'apply', plan.json.plan.id, '--yes']);
    expect(apply.code, apply.stderr).toBe(0);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await psqlAt(port, "SELECT string_agg(name, ',' ORDER BY name) FROM markers")).toBe('t1,t2,t3');
  });

  test('a target whose parent this user cannot write is refused by check-target, before anything is restored (issue 11 item 2)', async () => {
    const parent = path.join(ws.dir, 'not-writable');
    await mkdir(parent, { mode: 0o555 });
    await chmod(parent, 0o555);
    if (process.getuid?.() === 0) await execa('chown', ['root:', parent]); // the server user (who runs lifeboat here) may not write it
    const dir = path.join(parent, 'copy');
    const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(await freePort())]);
    const apply = await lb(['pitr', 'apply', plan.json.plan.id, '--yes']);
    expect(apply.code, apply.stdout).toBe(1);
    expect(apply.stderr).toMatch(new RegExp(`${dir} cannot be created: ${parent} is not writable by \\S+`));
    expect(apply.stdout + apply.stderr).toMatch(/step 1\/\d+ check-target/);
    expect(apply.stdout + apply.stderr).not.toMatch(/step 2\/\d+ restore-base/);
  });

  test('a copy that cannot start fails within a minute with its own error; one that refuses connections, with why (issue 11 item 1)', async () => {
    const cases: [string, (dir: string) => Promise<void>, RegExp][] = [
      ['bad setting', async (dir) => appendFile(path.join(dir, 'postgresql.auto.conf'), "shared_buffers = 'lots'\n"), /the recovering server stopped .*shared_buffers/],
      ['pg_hba rejects', async (dir) => writeFile(path.join(dir, 'pg_hba.conf'), 'local all all reject\nhost all all 0.0.0.0/0 reject\nhost all all ::/0 reject\n'), /runs but cannot be reached on port \d+ for 15 s: .*pg_hba\.conf rejects connection/],
    ];
    for (const [what, spoil, message] of cases) {
      const port = await freePort();
      const dir = path.join(ws.dir, `spoiled-${what.replace(/ /g, '-')}`);
      restored.push(dir);
      const plan = await lb(['--json', 'pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', dir, '--port', String(port)]);
      const first = await lb(['pitr', 'apply', plan.json.plan.id, '--yes', '--through', '3']);
      expect(first.code, first.stderr).toBe(0);
      await spoil(dir);
      const started = Date.now();
      const rest = await lb(['pitr', 'apply', plan.json.plan.id, '--yes']);
      expect(rest.code, `${what}: ${rest.stdout}`).toBe(1);
      expect(rest.stderr, `${what}: ${rest.stderr}`).toMatch(message);
      expect(Date.now() - started, what).toBeLessThan(60_000);
    }
  });

  test('a deleted WAL segment makes the plan refuse, naming the gap', async () => {
    const walDir = path.join(ws.repo, 'pg', 'wal');
    const files = (await readdir(walDir, { recursive: true })).filter((f) => /\/[0-9A-F]{24}-[0-9a-f]{64}\.zst$/.test(f)).sort();
    expect(files.length).toBeGreaterThan(2);
    const victim = files[files.length - 2]!;
    const segment = path.basename(victim).slice(0, 24);
    await rm(path.join(walDir, victim));
    const plan = await lb(['pitr', 'plan', '-c', 'pg', '--latest', '--to-datadir', path.join(ws.dir, 'never'), '--port', '1']);
    expect(plan.code, `${files.join(' ')} / removed ${victim}: ${plan.stdout}`).toBe(1);
    expect(plan.stderr).toContain(`WAL segment ${segment}`);
    expect(plan.stderr).toMatch(/missing from the archive/);
    const v = await lb(['wal', 'verify', '-c', 'pg']);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(new RegExp(`GAP\\s+\\S+P-[0-9a-f]{4}: segment ${segment} is missing`));
  });
});
