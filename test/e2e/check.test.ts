import { afterAll, beforeAll, expect, test } from 'vitest';
import { startCluster, type PgCluster } from '../harness/pg.js';
import { BIN, giveToServer, lifeboatAsServer, serverCanRunLifeboat, unwrap, workspace, type Workspace } from '../helpers/cli.js';

// lifeboat check / setup-archiving against a cluster that does not archive yet.
const canRun = serverCanRunLifeboat;
let pg: PgCluster;
let ws: Workspace;

const lb = (args: string[]) => lifeboatAsServer(ws.config, args);
/** Output as one line per item: wrapped lines joined, and SQL literals split to fit 80 columns joined back. */
const flat = (text: string) => unwrap(text.replace(/'\n +'/g, ''));

beforeAll(async () => {
  if (!canRun) return;
  pg = await startCluster({ name: 'check', settings: { archive_mode: 'on' } });
  ws = await workspace(pg);
  await giveToServer(ws);
});

afterAll(async () => {
  await pg?.stop();
  await ws?.cleanup();
});

test.skipIf(!canRun)('check names each missing setting with its fix; setup-archiving applies them; the probe then passes', async () => {
  const before = await lb(['check', '-c', 'pg', '--probe-seconds', '5']);
  expect(before.code).toBe(1);
  expect(before.stdout).toMatch(/FAIL pg: archive_command: empty/);
  // the fix wraps within 80 columns as adjacent SQL literals, which PostgreSQL joins (issue 11 item 16)
  expect(before.stdout.replace(/'\n +'/g, '').replace(/\s+/g, ' ')).toMatch(/fix: ALTER SYSTEM SET archive_command = '.*wal push --cluster .*%p'/);
  expect(before.stdout).toMatch(/warn pg: archive_timeout/);
  expect(before.stdout).toMatch(/end-to-end probe: skipped/);

  const dry = await lb(['setup-archiving', '-c', 'pg', '--dry-run']);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.stderr).toMatch(/ALTER SYSTEM SET archive_command/);
  expect(await pg.psql('SHOW archive_command')).toBe('');
  const noTty = await lb(['setup-archiving', '-c', 'pg']);
  expect(noTty.code).toBe(2);

  const apply = await lb(['--json', 'setup-archiving', '-c', 'pg', '--yes']);
  expect(apply.code, apply.stderr).toBe(0);
  expect(apply.json.applied.length).toBe(2); // archive_command and archive_timeout
  expect(await pg.psql('SHOW archive_command')).toMatch(/wal push --cluster 'pg' %p$/);

  const after = await lb(['--json', 'check', '-c', 'pg', '--probe-seconds', '30']);
  expect(after.code, after.stdout + after.stderr).toBe(0);
  expect(after.json.findings.find((f: any) => f.name === 'end-to-end probe')).toMatchObject({ ok: true });
  expect(await pg.psql('SELECT failed_count FROM pg_stat_archiver')).toBe('0');
});

test.skipIf(!canRun)('an unmounted repository (an empty directory in its place): wal push fails and stores nothing, check says so; back in place, both work (issue 10 item 5)', async () => {
  const { mkdir, readdir, rename } = await import('node:fs/promises');
  const { execa } = await import('execa');
  const aside = `${ws.repo}.mounted`;
  await rename(ws.repo, aside);
  await mkdir(ws.repo, { mode: 0o755 }); // the bare mount point
  if (process.getuid?.() === 0) await execa('chown', ['postgres:', ws.repo]);
  try {
    const seg = `${ws.dir}/000000010000000000000099`;
    const { writeFile } = await import('node:fs/promises');
    await writeFile(seg, Buffer.alloc(16 * 1024 * 1024, 7));
    if (process.getuid?.() === 0) await execa('chown', ['postgres:', seg]);
    const push = await lb(['wal', 'push', '--cluster', 'pg', seg]);
    expect(push.code, push.stderr).not.toBe(0); // PostgreSQL keeps the segment and retries
    expect(push.stderr).toMatch(/has no lifeboat\.json/);
    expect(await readdir(ws.repo)).toEqual([]);
    const check = await lb(['--json', 'check', '-c', 'pg', '--probe-seconds', '5']);
    expect(check.code).toBe(1);
    expect(check.json.findings.find((f: any) => f.name === 'repository')).toMatchObject({ ok: false });
    expect(check.json.findings.find((f: any) => f.name === 'repository').detail).toMatch(/has no lifeboat\.json.*mounted/);
    expect(await readdir(ws.repo)).toEqual([]);
  } finally {
    await (await import('node:fs/promises')).rm(ws.repo, { recursive: true, force: true });
    await rename(aside, ws.repo);
  }
  const after = await lb(['--json', 'check', '-c', 'pg', '--probe-seconds', '30']);
  expect(after.code, after.stdout + after.stderr).toBe(0);
  expect(after.json.findings.find((f: any) => f.name === 'repository')).toMatchObject({ ok: true });
});

test.skipIf(!canRun)('a lifeboat archive_command naming another cluster or config is not "in place"; setup-archiving replaces it only with --force (issue 11 item 8)', async () => {
  const ours = await pg.psql('SHOW archive_command');
  expect(ours).toContain(`--config '${ws.config}'`);
  const setCommand = async (cmd: string) => {
    await pg.psql(`ALTER SYSTEM SET archive_command = '${cmd.replaceAll("'", "''")}'`);
    await pg.psql('SELECT pg_reload_conf()');
    await expect.poll(() => pg.psql('SHOW archive_command')).toBe(cmd);
  };
  // a copy of the config with another repository: WAL goes there, so the probe must not pass
  const { readFile, writeFile } = await import('node:fs/promises');
  const other = `${ws.dir}/other.json`;
  const doc = JSON.parse(await readFile(ws.config, 'utf8'));
  doc.repositories.main.path = `${ws.dir}/other-repo`;
  await writeFile(other, JSON.stringify(doc));
  await giveToServer(ws);
  expect((await lifeboatAsServer(other, ['repo', 'init'])).code).toBe(0);
  const cases: [string, RegExp, string][] = [
    [ours.replace(`--config '${ws.config}'`, `--config '${other}'`), /archives through config \S+other\.json, this config is \S+config\.json: its WAL may go to another repository/, 'warn'],
    [ours.replace("--cluster 'pg'", "--cluster 'other'"), /archives as cluster other, this is pg/, 'FAIL'],
    [ours.replace(`--config '${ws.config}'`, "--config '/nonexistent/lifeboat.json'"), /names config \/nonexistent\/lifeboat\.json, which does not exist/, 'FAIL'],
    ["cp %p /mnt/wal-archive/%f", /\(not lifeboat\)/, 'FAIL'],
  ];
  try {
    for (const [cmd, why, mark] of cases) {
      await setCommand(cmd);
      const check = await lb(['check', '-c', 'pg', '--probe-seconds', '5']);
      expect(check.code, check.stdout).toBe(1);
      expect(flat(check.stdout)).toMatch(new RegExp(`${mark} pg: archive_command: .*${why.source}`));
      expect(flat(check.stdout)).toContain(`fix: ALTER SYSTEM SET archive_command = '${ours.replaceAll("'", "''")}';`);
      if (mark === 'warn') expect(flat(check.stdout)).toMatch(/FAIL pg: end-to-end probe: segment \w+ did not reach the repository/);
      const refused = await lb(['setup-archiving', '-c', 'pg', '--yes']);
      expect(refused.code, refused.stdout + refused.stderr).toBe(2);
      expect(flat(refused.stderr)).toMatch(why);
      expect(flat(refused.stderr)).toMatch(/run again with --force/);
      expect(await pg.psql('SHOW archive_command')).toBe(cmd);
    }
    const forced = await lb(['setup-archiving', '-c', 'pg', '--yes', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    await expect.poll(() => pg.psql('SHOW archive_command')).toBe(ours);
  } finally {
    await setCommand(ours);
  }
  const after = await lb(['--json', 'check', '-c', 'pg', '--probe-seconds', '30']);
  expect(after.code, after.stdout + after.stderr).toBe(0);
});

test.skipIf(!canRun)('before the restart archive_mode needs, check reads the pending values and setup-archiving names exactly the setting that waits (issue 11 item 10)', async () => {
  const off = await startCluster({ name: 'check-off' }); // archive_mode off, as a fresh install has it
  const w = await workspace(off);
  await giveToServer(w);
  const run = (args: string[]) => lifeboatAsServer(w.config, args);
  try {
    const before = await run(['check', '-c', 'pg', '--probe-seconds', '5']);
    expect(before.code).toBe(1);
    expect(flat(before.stdout)).toMatch(/FAIL pg: archive_mode: off: no WAL is archived\s+fix: ALTER SYSTEM SET archive_mode = 'on';\s+\(then restart PostgreSQL\)/);
    expect(flat(before.stdout)).toMatch(/FAIL pg: archive_command: empty/);
    expect(flat(before.stdout)).not.toContain('(disabled)');

    const apply = await run(['setup-archiving', '-c', 'pg', '--yes']);
    expect(apply.code, apply.stderr).toBe(0);
    expect(flat(apply.stderr)).toMatch(/^archive_mode: in effect only after a PostgreSQL restart\.$/m);
    expect(flat(apply.stdout)).toMatch(/applied 3 settings and reloaded\. Restart PostgreSQL for archive_mode to take effect\./);

    // set, not in effect yet: the fix is the restart, and archive_command is the line just set
    const pending = await run(['check', '-c', 'pg', '--probe-seconds', '5']);
    expect(pending.code).toBe(1);
    expect(flat(pending.stdout)).toMatch(/FAIL pg: archive_mode: off now; on once PostgreSQL restarts \(set, not in effect yet\)\s+fix: restart PostgreSQL\n/);
    expect(flat(pending.stdout)).toMatch(/ok {3}pg: archive_command: .*wal push --cluster 'pg' %p \(not in effect while archive_mode is off\)/);
    expect(flat(pending.stdout)).not.toMatch(/ALTER SYSTEM SET archive_(mode|command)/);
    const again = await run(['setup-archiving', '-c', 'pg', '--yes']);
    expect(again.code, again.stderr).toBe(0);
    expect(flat(again.stdout)).toMatch(/archiving settings are set; archive_mode takes effect only after a PostgreSQL restart/);

    await off.stopServer();
    await off.startServer();
    const after = await run(['--json', 'check', '-c', 'pg', '--probe-seconds', '30']);
    expect(after.code, after.stdout + after.stderr).toBe(0);
  } finally {
    await off.stop();
    await w.cleanup();
  }
});

test.skipIf(!canRun || process.getuid?.() !== 0)('set up as root: check and setup-archiving say the server\'s OS user cannot read the config or write the repository, and what to change (issue 11 item 9)', async () => {
  const { chmod, mkdir, readFile, writeFile } = await import('node:fs/promises');
  const { execa } = await import('execa');
  const { lifeboat } = await import('../helpers/cli.js');
  const server = await startCluster({ name: 'check-root', settings: { archive_mode: 'on' } });
  const w = await workspace(server); // made by root: the repository is root's, 0700
  try {
    // as the README's quick start leaves it when done as root: the config 0600 in root's 0700 home
    const home = `${w.dir}/root`;
    const config = `${home}/.config/lifeboat/config.json`;
    await mkdir(`${home}/.config/lifeboat`, { recursive: true, mode: 0o755 });
    await chmod(home, 0o700);
    await writeFile(config, await readFile(w.config), { mode: 0o600 });
    await chmod(w.dir, 0o755);
    const asRoot = (args: string[]) => lifeboat(args, { config });

    const check = await asRoot(['check', '-c', 'pg', '--probe-seconds', '5']);
    expect(check.code).toBe(1);
    expect(flat(check.stdout)).toContain(`FAIL pg: config access: postgres (the server's OS user, which runs archive_command: owner of the data directory ${server.dataDir}) may not read the config ${config}: ${home} is drwx------ root:root (postgres may not enter it)`);
    expect(flat(check.stdout)).toMatch(/fix: install -D -m 640 -g postgres .* \/etc\/lifeboat\/config\.json/);
    expect(flat(check.stdout)).toContain(`FAIL pg: repository access: postgres may not write WAL into ${w.repo}: ${w.repo} is drwx------ root:root (postgres may not enter it)`);
    expect(flat(check.stdout)).toContain(`fix: chown -R postgres: ${w.repo}`);
    expect(flat(check.stdout)).toMatch(/ok {3}pg: lifeboat access: postgres may run /);
    expect(flat(check.stdout)).toMatch(/end-to-end probe: skipped/);

    const setup = await asRoot(['setup-archiving', '-c', 'pg', '--yes']);
    expect(setup.code).toBe(1);
    expect(flat(setup.stderr)).toMatch(/archive_command would fail on pg as the server's OS user: config access, repository access \(above\); nothing was changed/);
    expect(await server.psql('SHOW archive_command')).toBe('');

    // the file itself, once the home lets postgres in
    await chmod(home, 0o755);
    const file = await asRoot(['--json', 'check', '-c', 'pg', '--probe-seconds', '5']);
    expect(file.json.findings.find((f: any) => f.name === 'config access')).toMatchObject({ ok: false, detail: expect.stringContaining(`${config} is -rw------- root:root (postgres may not read it)`), fix: `chgrp postgres ${config} && chmod g+r ${config}` });

    // the fixes it named: then setup-archiving applies and the probe passes
    await execa('sh', ['-c', `chgrp postgres ${config} && chmod g+r ${config} && chown -R postgres: ${w.repo}`]);
    const apply = await asRoot(['setup-archiving', '-c', 'pg', '--yes']);
    expect(apply.code, apply.stderr).toBe(0);
    const after = await asRoot(['--json', 'check', '-c', 'pg', '--probe-seconds', '30']);
    expect(after.code, after.stdout).toBe(0);
    expect(after.json.findings.filter((f: any) => f.name.endsWith(' access')).map((f: any) => [f.name, f.ok])).toEqual([['config access', true], ['lifeboat access', true], ['repository access', true]]);

    // async archiving: the spool root made the server's
    const spool = `${w.dir}/spool`;
    await mkdir(spool, { mode: 0o700 });
    const doc = JSON.parse(await readFile(config, 'utf8'));
    doc.clusters.pg.walArchive = { async: true, spoolDir: spool };
    await writeFile(config, JSON.stringify(doc));
    const spooled = await asRoot(['--json', 'check', '-c', 'pg', '--probe-seconds', '5']);
    const finding = spooled.json.findings.find((f: any) => f.name === 'spool access');
    expect(finding).toMatchObject({ ok: false, detail: `postgres may not write the spool ${spool}/pg: ${spool} is drwx------ root:root (postgres may not enter it)` });
    expect(finding.fix).toBe(`install -d -o postgres -g postgres -m 700 ${spool} ${spool}/pg && chown -R postgres: ${spool}/pg`);
    await execa('sh', ['-c', finding.fix]);
    const fixed = await asRoot(['--json', 'check', '-c', 'pg', '--probe-seconds', '5']);
    expect(fixed.json.findings.find((f: any) => f.name === 'spool access')).toMatchObject({ ok: true });
  } finally {
    await server.stop();
    await w.cleanup();
  }
});

test.skipIf(!canRun)('status shows WAL archiving (last segment, failures, recoverable window) and exits 1 while archiving fails (issue 11 item 17)', async () => {
  const b = await lb(['--json', 'backup', '-c', 'pg', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  await pg.psql('SELECT txid_current(); SELECT pg_switch_wal()');
  await expect.poll(async () => Number(await pg.psql('SELECT archived_count FROM pg_stat_archiver')), { timeout: 30_000 }).toBeGreaterThan(0);
  const good = await lb(['status', '-c', 'pg']);
  expect(good.code, good.stdout + good.stderr).toBe(0);
  expect(flat(good.stdout)).toMatch(/pg: WAL: archiving on, last [0-9A-F]{24} .*ago, .*; recoverable \d{4}-\d\d-\d\d \d\d:\d\d \.\. \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  const list = await lb(['list', '-c', 'pg']);
  expect(list.code, list.stderr).toBe(0);
  expect(flat(list.stdout)).toMatch(/pg: WAL archived up to [0-9A-F]{24} \(.* UTC\); point-in-time recovery from \d{4}-\d\d-\d\d \d\d:\d\d to \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  const json = await lb(['--json', 'status', '-c', 'pg']);
  expect(json.json.clusters[0].wal).toMatchObject({ archiveMode: 'on', archiver: { failingNow: false } });
  expect(json.json.clusters[0].wal.recoverable.from).toBeTruthy();

  const before = await pg.psql("SELECT setting FROM pg_settings WHERE name = 'archive_command'");
  await pg.psql("ALTER SYSTEM SET archive_command = 'false'");
  await pg.psql('SELECT pg_reload_conf()');
  try {
    await pg.psql('SELECT txid_current(); SELECT pg_switch_wal()');
    await expect.poll(async () => await pg.psql('SELECT last_failed_time > coalesce(last_archived_time, \'-infinity\') FROM pg_stat_archiver'), { timeout: 30_000 }).toBe('t');
    const bad = await lb(['status', '-c', 'pg']);
    expect(bad.code, bad.stdout).toBe(1);
    expect(flat(bad.stdout)).toMatch(/^pg\s+WAL\s/m);
    expect(flat(bad.stdout)).toMatch(/pg: WAL archiving fails: [0-9A-F]{24} failed at /);
    expect(flat(bad.stdout)).toMatch(/pg: WAL: archiving FAILING, .*\d+ failures? \(last [0-9A-F]{24}/);
  } finally {
    await pg.psql(`ALTER SYSTEM SET archive_command = '${before.replaceAll("'", "''")}'`);
    await pg.psql('SELECT pg_reload_conf()');
  }
});
