/**
 * `lifeboat tui` on a real terminal (a tmux pane) against real agents, keys
 * typed as an operator types them and the screen read back:
 *
 * - cluster `alpha` is reached through this machine's agent (`local`, its
 *   config from LIFEBOAT_CONFIG) and has a logical backup;
 * - cluster `bravo` is on inventory host `db`, reached over a real OpenSSH
 *   sshd on 127.0.0.1; its agent runs as the server's OS user (postgres, as
 *   PITR's pg_ctl must) through the host's agent command. It archives WAL
 *   through lifeboat and has a physical backup.
 *
 * The fleet view shows both; a backup of alpha is verified from its cluster
 * view; bravo is recovered to a named restore point through the whole PITR
 * wizard (target, options, plan, each step on Enter) and the recovered server
 * is checked with psql: the rows before the restore point, none after. Then
 * colour: none with NO_COLOR, some without; and `q` leaves the terminal as it
 * found it with exit code 0.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, startCluster, type PgCluster } from '../harness/pg.js';
import { makeKey, makeSshHome, removeSshd, sshSkipReason, startSshd, type Sshd, type SshHome } from '../harness/sshd.js';
import { archiveThroughLifeboat, psqlAt, stopDataDir, switchAndWaitArchived } from '../helpers/archiving.js';
import { BIN, giveToServer, lifeboat, lifeboatAsServer, serverCanRunLifeboat, workspace, type Workspace } from '../helpers/cli.js';
import { colourCodes, inverseRuns, shq, startPane, tmuxSkipReason, type Pane } from '../helpers/tmux.js';

const skip = sshSkipReason() ?? (await tmuxSkipReason()) ?? (serverCanRunLifeboat ? undefined : 'the postgres OS user cannot read this checkout (it runs lifeboat as archive_command)');
if (skip) console.warn(`skipping the TUI end-to-end test: ${skip}`);

const RESTORE_POINT = 'tui-before-t2';
/** Every row of markers, in one line: count and md5 of the contents. */
const FINGERPRINT = "SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || batch || ':' || payload, ',' ORDER BY id)), '-') FROM markers";

let pgA: PgCluster;
let pgB: PgCluster;
let wsA: Workspace;
let wsB: Workspace;
let sshd: Sshd;
let home: SshHome;
let pane: Pane | undefined;
let plain: Pane | undefined;
let alphaBackup = '';
/** FINGERPRINT of bravo when only t1 was in (the restore point follows). */
let beforeT2 = '';
const recovered = { dir: '', port: 0 };

/** The TUI as the operator runs it: this machine's agent plus host db, its own HOME (ssh keys, known hosts) and inventory. */
function tui(env: Record<string, string> = {}): Promise<Pane> {
  return startPane([process.execPath, BIN, 'tui', '--hosts', 'local,db', '--refresh', '2'], {
    HOME: home.home,
    LIFEBOAT_HOSTS_FILE: path.join(home.home, 'hosts.json'),
    LIFEBOAT_CONFIG: wsA.config,
    XDG_CONFIG_HOME: path.join(home.home, '.config'),
    SSH_AUTH_SOCK: '',
    ...env,
  });
}

/** Both clusters' rows show a server version (their agents answered the overview). */
const fleetShown = (s: string) => /db\/bravo\s+\d+ /.test(s) && /local\/alpha\s+\d+ /.test(s);

/** Press a key and wait until the run under the cursor (inverse video) starts with `selected`. */
async function press(p: Pane, key: string, selected: string): Promise<void> {
  await p.keys(key);
  await p.waitFor((s) => inverseRuns(s).some((r) => r.startsWith(selected)), 10_000, { escapes: true });
}

beforeAll(async () => {
  if (skip) return;
  [pgA, pgB, sshd, home] = await Promise.all([
    startCluster({ name: 'tui-alpha' }),
    startCluster({ name: 'tui-bravo', settings: { archive_mode: 'on', archive_timeout: '0', wal_level: 'replica' } }),
    startSshd({ name: 'tui' }),
    makeSshHome(),
  ]);
  wsA = await workspace(pgA, { clusterName: 'alpha' });
  wsB = await workspace(pgB, { clusterName: 'bravo' });
  await giveToServer(wsB);

  // alpha: a table and a logical backup, through the local agent as the TUI's will be
  await pgA.psql("CREATE TABLE fruit (name text); INSERT INTO fruit VALUES ('apple'), ('pear')");
  const a = await lifeboat(['--json', 'backup', '-c', 'alpha', '--tag', 'daily'], { config: wsA.config });
  expect(a.code, a.stderr).toBe(0);
  alphaBackup = a.json.backup.id;

  // bravo: archiving through lifeboat, a physical backup, then t1, a restore point, t2
  await archiveThroughLifeboat(pgB.psql, wsB.config);
  await pgB.psql('CREATE TABLE markers (id serial PRIMARY KEY, batch text NOT NULL, payload text NOT NULL)');
  const b = await lifeboatAsServer(wsB.config, ['--json', 'backup', '-c', 'bravo', '--physical']);
  expect(b.code, b.stderr).toBe(0);
  await pgB.psql("INSERT INTO markers (batch, payload) SELECT 't1', md5(i::text) FROM generate_series(1, 500) i");
  beforeT2 = await pgB.psql(FINGERPRINT);
  await pgB.psql(`SELECT pg_create_restore_point('${RESTORE_POINT}')`);
  await pgB.psql("INSERT INTO markers (batch, payload) SELECT 't2', md5(i::text) FROM generate_series(1, 300) i");
  expect(await switchAndWaitArchived(pgB.psql)).toBe(true);

  // host db: this machine over sshd; its agent runs as postgres with bravo's config. It starts
  // in / because the login's directory (root's HOME) is closed to postgres, and a child
  // process cannot be started in a directory its user cannot enter.
  const key = await makeKey(home.sshDir, 'id_ed25519');
  await sshd.authorize(key.pub);
  const agentCommand = `cd / && ${['/usr/sbin/runuser', '-u', 'postgres', '--', process.execPath, BIN, 'agent', '--stdio', '--config', wsB.config].map(shq).join(' ')}`;
  const add = await lifeboat(['--accept-new-host-key', 'hosts', 'add', 'db', `root@127.0.0.1:${sshd.port}`, '--agent-command', agentCommand], {
    env: { HOME: home.home, LIFEBOAT_HOSTS_FILE: path.join(home.home, 'hosts.json'), SSH_AUTH_SOCK: '', XDG_CONFIG_HOME: path.join(home.home, '.config') },
  });
  expect(add.code, add.stderr).toBe(0);
  recovered.dir = path.join(wsB.dir, 'recovered');
  recovered.port = await freePort();
}, 120_000);

afterAll(async () => {
  await pane?.kill();
  await plain?.kill();
  if (recovered.dir) await stopDataDir(recovered.dir);
  await removeSshd(sshd);
  await Promise.all([pgA?.stop(), pgB?.stop()]);
  await Promise.all([wsA?.cleanup(), wsB?.cleanup(), home?.cleanup()]);
});

describe.skipIf(!!skip)('lifeboat tui in a terminal, against a local and an SSH agent', () => {
  test('the fleet shows both clusters (in colour); a backup is verified from its cluster view', async () => {
    pane = await tui();
    const fleet = await pane.waitFor(fleetShown, 30_000);
    expect(fleet).toMatch(/hosts 2\/2 up/);
    expect(colourCodes(await pane.capture({ escapes: true })).length).toBeGreaterThan(0);
    // rows sort by host: db/bravo first, under the cursor
    await pane.waitFor((s) => inverseRuns(s)[0]?.startsWith('db/bravo') === true, 5_000, { escapes: true });
    await press(pane, 'j', 'local/alpha');
    await pane.keys('Enter');
    await pane.waitFor(/fleet › local\/alpha/);
    // the one backup is under the cursor and its manifest is read
    await pane.waitFor((s) => inverseRuns(s).includes(alphaBackup), 10_000, { escapes: true });
    await pane.waitFor(/never verified: press v/, 15_000);

    await pane.keys('v');
    await pane.waitFor(new RegExp(`Verify backup ${alphaBackup}`));
    await pane.waitFor((s) => inverseRuns(s).includes('checksum'), 5_000, { escapes: true });
    await press(pane, 'j', 'structure');
    await pane.keys('Enter');
    const job = await pane.waitFor(/^(succeeded|failed|cancelled) verify /m, 60_000);
    expect(job).toContain(`succeeded verify ${alphaBackup} (structure)`);
    expect(job).toMatch(/^job \S+ on local$/m);
    expect(job).toMatch(/(\d+) of \1 checks passed/);
    await pane.keys('Escape');
    // back in the cluster view, which reads the new verification from the repository
    const cluster = await pane.waitFor(/verified \S+ \S+ structure: ok/, 15_000);
    expect(cluster).toMatch(new RegExp(`${alphaBackup}\\s+log .* ok str`));
  });

  test('a point-in-time recovery of the SSH cluster, walked step by step in the wizard, holds the rows before the restore point and none after', async () => {
    const p = pane!;
    await p.keys('Escape');
    await p.waitFor(/Lifeboat\s+fleet\s+hosts \d/);
    await press(p, 'k', 'db/bravo');
    await p.keys('Enter');
    await p.waitFor(/fleet › db\/bravo/);
    await p.waitFor(/physical, tag/, 15_000);
    await p.keys('w');
    await p.waitFor(/db\/bravo › recovery/);
    await p.waitFor((s) => inverseRuns(s).some((r) => r.startsWith('latest: replay every archived WAL')), 15_000, { escapes: true });
    for (const next of ['time:', 'LSN:', 'xid:', 'restore point:']) await press(p, 'j', next);
    await p.keys('Enter');
    await p.waitFor(/Recover to the restore point named:/);
    await p.type(RESTORE_POINT);
    await p.waitFor((s) => inverseRuns(s).some((r) => r.startsWith(`${RESTORE_POINT}▏`)), 5_000, { escapes: true });
    // Tab toggles inclusive; a restore point is a point, so either way is fine: back to inclusive
    await p.keys('Tab');
    await p.waitFor(/Tab: exclusive \(stop just before the target\)/);
    await p.keys('Tab');
    await p.waitFor(/Tab: inclusive/);
    await p.keys('Enter');

    // options: Space flips the mode on the first field (and back); Tab goes to the fields, typing fills them
    await p.waitFor(new RegExp(`Target: name ${RESTORE_POINT}`));
    await press(p, 'Space', 'side by side  [in place]');
    await press(p, 'Space', '[side by side]  in place');
    await p.keys('Tab');
    await p.waitFor((s) => inverseRuns(s).includes('▏'), 5_000, { escapes: true }); // the empty data dir field
    await p.type(recovered.dir);
    await p.waitFor((s) => inverseRuns(s).includes(`${recovered.dir}▏`), 5_000, { escapes: true });
    await p.keys('Tab');
    await p.waitFor((s) => inverseRuns(s).includes('▏'), 5_000, { escapes: true }); // typed at once, Tab and digits would be one input
    await p.type(String(recovered.port));
    await p.waitFor((s) => inverseRuns(s).includes(`${recovered.port}▏`), 5_000, { escapes: true });
    await p.keys('Enter');

    // the plan, read-only
    const plan = await p.waitFor(/Enter: walk these steps|the plan was refused/, 30_000);
    expect(plan).toMatch(new RegExp(`recover bravo to restore point "${RESTORE_POINT}", then promote`));
    expect(plan).toContain(`side by side: the running server is untouched; data directory ${recovered.dir}`);
    expect(plan).toContain(`start the server on port ${recovered.port}`);
    // the steps of a side-by-side recovery (names are cut to their column: write-recov…)
    const steps = ['check-target', 'restore-base', 'write-recovery', 'start', 'follow', 'verify'];
    const shown = [...plan.matchAll(/^\s*(\d+)\. (\S+)/gm)].map((m) => m[2]!.replace(/…$/, ''));
    expect(shown).toHaveLength(steps.length);
    shown.forEach((name, i) => expect(steps[i]).toMatch(new RegExp(`^${name}`)));
    await p.keys('Enter');
    await p.waitFor(/Enter: run this step/);

    // each step on Enter, waiting for its ✓
    for (let i = 1; i <= steps.length; i++) {
      await p.keys('Enter');
      const s = await p.waitFor(new RegExp(`✓ ${i}\\. |✗ ${i}\\. `), 90_000);
      expect(s, `step ${i} (${steps[i - 1]})`).toMatch(new RegExp(`✓ ${i}\\. `));
    }
    await p.waitFor(/recovery complete: every step is done/);

    // the recovered server: t1 as it was, no t2; the original still has both
    expect(await psqlAt(recovered.port, FINGERPRINT)).toBe(beforeT2);
    expect(await psqlAt(recovered.port, "SELECT count(*) FROM markers WHERE batch = 't2'")).toBe('0');
    expect(beforeT2).toMatch(/^500 [0-9a-f]{32}$/);
    expect(await pgB.psql("SELECT count(*) FROM markers WHERE batch = 't2'")).toBe('300');
    expect(await psqlAt(recovered.port, 'SELECT pg_is_in_recovery()')).toBe('f');
  });

  test('q quits with exit code 0 and leaves the terminal as it was (main screen, cursor shown, same tty modes)', async () => {
    const p = pane!;
    await p.keys('Escape');
    await p.waitFor(/fleet › db\/bravo/);
    await p.keys('q');
    const end = await p.waitFor(/EXIT=\d+ TTY=\w+/, 15_000);
    expect(end).toMatch(/EXIT=0 TTY=same/);
    expect(end).not.toMatch(/HOST\/CLUSTER/); // the TUI's screen went away with the alternate screen
    expect(await p.format('#{alternate_on} #{cursor_flag}')).toBe('0 1');
  });

  test('with NO_COLOR the screen has no colour codes, the cursor row is still shown (inverse), and q exits 0', async () => {
    plain = await tui({ NO_COLOR: '1' });
    await plain.waitFor(fleetShown, 30_000);
    const screen = await plain.waitFor((s) => inverseRuns(s)[0]?.startsWith('db/bravo') === true, 5_000, { escapes: true });
    expect(colourCodes(screen)).toEqual([]);
    await plain.keys('q');
    expect(await plain.waitFor(/EXIT=\d+ TTY=\w+/, 15_000)).toMatch(/EXIT=0 TTY=same/);
  });
});
