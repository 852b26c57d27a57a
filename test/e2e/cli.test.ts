import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { SAMPLE_DB, startCluster, type PgCluster } from '../harness/pg.js';
import { BIN, lifeboat, unwrap, type CliResult } from '../helpers/cli.js';

// The CLI as an operator uses it, in order: init → config check → status (no
// backup) → backups → status → list/jobs/show → reindex after losing the state dir.
// The tests of this file share one cluster and one config and run in order.

let pg: PgCluster;
let dir: string;
let config: string;
let repoDir: string;
let stateDir: string;
const backups: { id: string; tag: string; label?: string }[] = [];
const LONG_LABEL = 'before moving the orders table to the new partitioned layout, asked for by the on-call DBA in ticket OPS-4242';

/** Run the CLI with our config; NO_COLOR is set by the helper, so no escape codes may appear. */
async function cli(args: string[], opts: { env?: Record<string, string> } = {}): Promise<CliResult> {
  const r = await lifeboat(args, { config, ...opts });
  if (!opts.env) {
    expect(r.stdout, `${args.join(' ')}: escape codes on stdout`).not.toContain('\x1b');
    expect(r.stderr, `${args.join(' ')}: escape codes on stderr`).not.toContain('\x1b');
  }
  return r;
}

async function editConfig(edit: (cfg: any) => void): Promise<void> {
  const cfg = JSON.parse(await readFile(config, 'utf8'));
  edit(cfg);
  await writeFile(config, JSON.stringify(cfg, null, 2));
}

async function backup(extra: string[]): Promise<string> {
  const r = await cli(['--json', 'backup', '-c', 'main', ...extra]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.ok).toBe(true);
  return r.json.backup.id as string;
}

beforeAll(async () => {
  pg = await startCluster({ name: 'cli', sampleData: true });
  dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-cli-'));
  config = path.join(dir, 'etc', 'config.json'); // the directory does not exist yet
  repoDir = path.join(dir, 'repo');
  stateDir = path.join(dir, 'state');
});

afterAll(async () => {
  await pg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const initArgs = () => ['init', '--cluster', 'main', '--repo', repoDir, '-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', SAMPLE_DB, '--state-dir', stateDir];

describe('init and config check', () => {
  test('init writes a valid, private config', async () => {
    const r = await cli(initArgs());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`wrote ${config} with cluster main`);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const text = await readFile(config, 'utf8');
    const parsed = parseConfig(text, config); // throws on anything we would refuse
    expect(parsed.clusters.main).toMatchObject({
      source: 'postgres',
      repository: 'main-local',
      connection: { host: pg.host, port: pg.port, user: pg.user, database: SAMPLE_DB },
    });
    expect(parsed.repositories['main-local']).toEqual({ type: 'local', path: repoDir });
    expect(parsed.stateDir).toBe(stateDir);
    expect(text).not.toMatch(/password/i);
  });

  test('config check passes: every line ok', async () => {
    const r = await cli(['config', 'check']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`config ${config}`);
    const checks = lines.slice(1);
    expect(checks.map((l) => l.replace(/:.*/, ''))).toEqual(['ok   main', 'ok   main', 'ok   main', 'ok   main']);
    expect(checks[0]).toMatch(/^ok {3}main: config: source postgres, repository main-local$/);
    expect(checks[1]).toMatch(new RegExp(`^ok {3}main: connection: PostgreSQL \\d+\\S*, database ${SAMPLE_DB}, \\d+ databases?$`));
    expect(checks[2]).toBe(`ok   main: repository: local:${repoDir} is writable`);
    expect(checks[3]).toBe(`ok   main: state: state directory ${stateDir} is writable`);
  });

  test('a stateDir that is a file, or that this user cannot create: config check fails on it, every command exits 2 with one line naming the path and the fix (issue 10 item 13)', async () => {
    const asFile = path.join(dir, 'state-is-a-file');
    await writeFile(asFile, 'not a directory');
    // a directory other users may read (mkdtemp makes 0700), holding a directory only its owner may write
    const open = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-cli-open-'));
    await chmod(open, 0o755);
    const parent = path.join(open, 'not-mine');
    await mkdir(parent, { mode: 0o755 });
    const cases: [string, string, RegExp][] = [[asFile, '', /is a file \(or lies under one\), not a directory/]];
    // root may write anywhere: the permission case runs as nobody when root (the directory is root's, 0755)
    if (process.getuid?.() === 0) cases.push([path.join(parent, 'state'), 'nobody', /cannot be created by nobody: permission denied/]);
    else {
      await chmod(parent, 0o555);
      cases.push([path.join(parent, 'state'), '', /cannot be created by \S+: permission denied/]);
    }
    for (const [state, user, message] of cases) {
      const cfg = JSON.parse(await readFile(config, 'utf8'));
      cfg.stateDir = state;
      const file = path.join(open, `config-${path.basename(state)}.json`);
      await writeFile(file, JSON.stringify(cfg));
      await chmod(file, 0o644);
      const run = (args: string[]) =>
        user ? execa('runuser', ['-u', user, '--', process.execPath, BIN, '--config', file, ...args], { reject: false, env: { NO_COLOR: '1' } }) : execa(process.execPath, [BIN, '--config', file, ...args], { reject: false, env: { NO_COLOR: '1' } });
      const check = await run(['config', 'check']);
      expect(check.exitCode, check.stdout).toBe(1);
      expect(unwrap(check.stdout)).toMatch(new RegExp(`FAIL main: state: state directory ${state} ${message.source}`));
      expect(check.stdout).toContain('"stateDir"');
      for (const args of [['list'], ['backup', '-c', 'main']]) {
        const r = await run(args);
        expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines[0]).toMatch(new RegExp(`^lifeboat: error: state directory ${state} ${message.source}$`));
        expect(lines[1]).toMatch(/^ {2}hint: .*"stateDir"/);
        expect(r.stderr).not.toMatch(/EEXIST|EACCES|ENOTDIR/);
      }
    }
    await rm(open, { recursive: true, force: true });
  });

  test('a password in a connection string is refused, by init and in the config, and never printed (issue 10 item 16)', async () => {
    const before = await readFile(config, 'utf8');
    const secret = 'Tr0ub4dor-s3cret';
    const uri = `postgresql://${pg.user}:${secret}@${pg.host === '127.0.0.1' ? '127.0.0.1' : 'localhost'}:${pg.port}/${SAMPLE_DB}`;
    const init = await cli(['init', '--cluster', 'withpw', '--repo', repoDir, '-d', uri]);
    expect(init.code).toBe(2);
    expect(init.stderr).toMatch(/^lifeboat: error: database: holds a password/);
    expect(init.stderr + init.stdout).not.toContain(secret);
    expect(await readFile(config, 'utf8')).toBe(before);
    for (const database of [uri, `dbname=${SAMPLE_DB} password=${secret}`]) {
      const cfg = JSON.parse(before);
      cfg.clusters.main.connection.database = database;
      cfg.stateDir = path.join(dir, 'state-with-password'); // its own job log, read below
      const file = path.join(dir, 'config-with-password.json');
      await writeFile(file, JSON.stringify(cfg));
      const b = await lifeboat(['backup', '-c', 'main'], { config: file });
      expect(b.code).toBe(2);
      expect(b.stderr).toContain('clusters.main.connection.database: holds a password');
      const check = await lifeboat(['config', 'check'], { config: file });
      expect(check.code).toBe(1);
      expect(unwrap(check.stdout)).toMatch(/FAIL main: config: .*holds a password/);
      for (const out of [b.stdout, b.stderr, check.stdout, check.stderr]) expect(out).not.toContain(secret);
    }
    const log = path.join(dir, 'state-with-password', 'state.json');
    expect(existsSync(log) ? await readFile(log, 'utf8') : '').not.toContain(secret);
  });

  test('init again for the same cluster fails with exit 2 and leaves the file alone', async () => {
    const before = await readFile(config, 'utf8');
    const r = await cli(initArgs());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cluster main is already in ${config}`);
    expect(r.stderr).toContain('--force');
    expect(await readFile(config, 'utf8')).toBe(before);
  });

  test('init --force replaces the cluster', async () => {
    const r = await cli([...initArgs(), '--bindir', pg.binDir, '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`updated ${config} with cluster main`);
    const parsed = parseConfig(await readFile(config, 'utf8'), config);
    expect(parsed.clusters.main!.connection).toEqual({ host: pg.host, port: pg.port, user: pg.user, database: SAMPLE_DB, bindir: pg.binDir });
    expect(Object.keys(parsed.clusters)).toEqual(['main']);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const check = await cli(['config', 'check']);
    expect(check.code, check.stdout).toBe(0);
  });
});

describe('status', () => {
  test('with no backup yet: exit 1, "no backup yet"', async () => {
    const r = await cli(['status']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^main\s+STALE\s+-/m);
    expect(r.stdout).toContain('main: no backup yet');
    const j = await cli(['--json', 'status']);
    expect(j.code).toBe(1);
    expect(j.json.ok).toBe(false);
    expect(j.json.clusters[0]).toMatchObject({ cluster: 'main', ok: false, problem: 'no backup yet', backups: 0 });
  });

  test('after backups: exit 0 with the latest id, counts by tag and a small age', async () => {
    backups.push({ id: await backup(['--tag', 'daily']), tag: 'daily' });
    backups.push({ id: await backup(['--label', 'second']), tag: 'manual', label: 'second' });
    const r = await cli(['--json', 'status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.ok).toBe(true);
    const s = r.json.clusters[0];
    expect(s.cluster).toBe('main');
    expect(s.ok).toBe(true);
    expect(s.latest.id).toBe(backups[1]!.id);
    expect(s.byTag).toEqual({ daily: 1, manual: 1 });
    expect(s.backups).toBe(2);
    expect(s.ageHours).toBeGreaterThanOrEqual(0);
    expect(s.ageHours).toBeLessThan(0.05); // three minutes
    expect(s.maxBackupAgeHours).toBe(26);
    expect(s.repositoryBytes).toBeGreaterThan(s.storedBytes - 1);
    expect(s.storedBytes).toBeGreaterThan(100_000);
    expect(s.problem).toBeUndefined();

    const text = await cli(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^main\\s+ok\\s+${backups[1]!.id}\\s+\\d+m\\s+daily:1 manual:1`, 'm'));
  });

  test('a newest backup older than maxBackupAgeHours: exit 1, says it is too old', async () => {
    await editConfig((cfg) => (cfg.clusters.main.maxBackupAgeHours = 0.0001)); // 0.36 s
    try {
      await new Promise((r) => setTimeout(r, 500));
      const r = await cli(['status']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^main\s+STALE\s/m);
      expect(r.stdout).toMatch(/^main: newest backup is \d+ min old \(limit 0 min\)$/m);
      const j = await cli(['--json', 'status']);
      expect(j.code).toBe(1);
      expect(j.json.clusters[0]).toMatchObject({ ok: false, maxBackupAgeHours: 0.0001 });
      expect(j.json.clusters[0].ageHours).toBeGreaterThan(0.0001);
    } finally {
      await editConfig((cfg) => delete cfg.clusters.main.maxBackupAgeHours);
    }
    expect((await cli(['status'])).code).toBe(0);
  });
});

describe('help and usage errors', () => {
  test('--help of the program shows examples and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: lifeboat /m);
    expect(r.stdout).toContain('Getting started:');
    expect(r.stdout).toContain('lifeboat init --cluster main --repo');
    expect(r.stdout).toContain('lifeboat backup --cluster main --tag daily');
    expect(r.stdout).toContain('Exit codes: 0 ok, 1 failed, 2 usage or configuration error');
  });

  test('backup --help shows examples and exits 0', async () => {
    const r = await cli(['backup', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: lifeboat backup /m);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('lifeboat backup -c main -t public.orders -t public.customers');
  });

  test('restore --help shows examples and exits 0', async () => {
    const r = await cli(['restore', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: lifeboat restore /m);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('lifeboat restore latest --to-database app_copy');
    expect(r.stdout).toContain('--dry-run');
  });

  test('an unknown option exits 2 with a pointer to --help', async () => {
    const r = await cli(['--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown option '--bogus'");
    expect(r.stderr).toContain('--help');
    const sub = await cli(['list', '--bogus']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain("unknown option '--bogus'");
    const cmd = await cli(['frobnicate']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("unknown command 'frobnicate'");
  });
});

describe('list, jobs, show', () => {
  test('list fits 80 columns, shrinking a long label', async () => {
    backups.push({ id: await backup(['--tag', 'pre-migration', '--label', LONG_LABEL]), tag: 'pre-migration', label: LONG_LABEL });
    const r = await cli(['list']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID \(UTC start\)\s+KIND\s+AGE\s+TAG LABEL\s+RAW\s+STORED\s+TOOK\s+VERIFIED$/);
    expect(lines).toHaveLength(1 + backups.length);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(80);
    backups.forEach((b, i) => expect(lines[i + 1]!.startsWith(`${b.id}  log`), lines[i + 1]).toBe(true));
    expect(lines[1]).toMatch(/\bdaily\b/);
    expect(lines[2]).toMatch(/\bmanual second\b/);
    expect(lines[3]).toMatch(/ pre-migration be\S*…/);
    expect(lines[3]).toContain('…');
    expect(lines[3]).not.toContain('OPS-4242');
  });

  test('NO_COLOR keeps escape codes out; without it (FORCE_COLOR) there are some', async () => {
    const plain = await cli(['list']);
    expect(plain.stdout).not.toContain('\x1b[');
    const coloured = await cli(['list'], { env: { NO_COLOR: '', FORCE_COLOR: '1' } });
    expect(coloured.code).toBe(0);
    expect(coloured.stdout).toContain('\x1b[');
    // colour does not change the layout
    expect(coloured.stdout.replace(/\x1b\[[0-9;]*m/g, '').split('\n').slice(1).map((l) => l.length)).toEqual(
      plain.stdout.split('\n').slice(1).map((l) => l.length),
    );
  });

  test('jobs lists the backup jobs as succeeded', async () => {
    const j = await cli(['--json', 'jobs']);
    expect(j.code, j.stderr).toBe(0);
    const jobs = j.json.recent.filter((x: { type: string }) => x.type === 'backup');
    expect(jobs.map((x: { result: { id: string } }) => x.result.id)).toEqual(backups.map((b) => b.id));
    for (const job of jobs) {
      expect(job).toMatchObject({ type: 'backup', cluster: 'main', status: 'succeeded' });
      expect(job.bytes).toBeGreaterThan(0);
      expect(Date.parse(job.finishedAt)).toBeGreaterThanOrEqual(Date.parse(job.startedAt));
    }
    expect(j.json.running).toEqual([]);

    const text = await cli(['jobs']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^JOB \(UTC start\)\s+TYPE\s+CLUSTER\s+STATUS\s+BYTES\s+ERROR$/);
    expect(lines[0]!.length).toBeLessThanOrEqual(80);
    for (const job of jobs) {
      const row = lines.find((l) => l.startsWith(job.id));
      expect(row, job.id).toBeDefined();
      expect(row).toMatch(/\bbackup\s+main\s+succeeded\s+\d/);
      expect(row!.length, row).toBeLessThanOrEqual(80);
    }
  });

  test('show latest prints the manifest with row counts for public.pgbench_accounts', async () => {
    const latest = backups.at(-1)!;
    const expected = Number(await pg.psql('SELECT count(*) FROM public.pgbench_accounts', SAMPLE_DB));
    expect(expected).toBe(100_000);
    const r = await cli(['show', 'latest']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^backup: +${latest.id}$`, 'm'));
    expect(r.stdout).toMatch(/^cluster: +main$/m);
    expect(r.stdout).toMatch(/^tag: +pre-migration$/m);
    expect(r.stdout).toMatch(new RegExp(`^database ${SAMPLE_DB}: \\d+ tables`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^ +public\\.pgbench_accounts +${expected}$`, 'm'));
    expect(r.stdout).toMatch(/^ +public\.pgbench_branches +1$/m);
    expect(r.stdout).toMatch(/^ +Mixed Schema\.Quoted Table +3$/m);
    // the tables fit 80 columns (key-value lines such as the label may be longer)
    const tableLines = r.stdout.split('\n').filter((l) => l.startsWith('  '));
    expect(tableLines.length).toBeGreaterThan(10);
    for (const line of tableLines) expect(line.length, line).toBeLessThanOrEqual(80);

    const j = await cli(['--json', 'show', 'latest']);
    expect(j.json.manifest.id).toBe(latest.id);
    expect(j.json.manifest.label).toBe(LONG_LABEL);
    expect(j.json.manifest.logical.databases[0].rowCounts['public.pgbench_accounts']).toBe(expected);
  });
});

describe('the repository is the source of truth', () => {
  test('repo reindex after deleting the state dir rebuilds the cache; list still shows every backup', async () => {
    const before = await cli(['--json', 'list']);
    expect(before.json.backups.map((b: { id: string }) => b.id)).toEqual(backups.map((b) => b.id));
    await rm(stateDir, { recursive: true, force: true });
    expect(existsSync(stateDir)).toBe(false);

    const r = await cli(['repo', 'reindex']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`catalog rebuilt: ${backups.length} backups`);
    const state = JSON.parse(await readFile(path.join(stateDir, 'state.json'), 'utf8'));
    const cached = Object.values(state.catalog) as { summary: { id: string } }[];
    expect(cached.map((c) => c.summary.id).sort()).toEqual(backups.map((b) => b.id).sort());

    const after = await cli(['--json', 'list']);
    expect(after.code).toBe(0);
    expect(after.json.backups).toEqual(before.json.backups);
    const text = await cli(['list']);
    for (const b of backups) expect(text.stdout).toContain(b.id);
    // the job log went with the state dir (it is a log, not the truth): only the reindex is there now
    const jobs = await cli(['--json', 'jobs']);
    expect(jobs.json.recent.map((x: { type: string }) => x.type)).toEqual(['reindex']);
    // and status still finds the newest backup
    const status = await cli(['--json', 'status']);
    expect(status.code).toBe(0);
    expect(status.json.clusters[0].latest.id).toBe(backups.at(-1)!.id);
  });
});
