import { afterEach, describe, expect, test } from 'vitest';
import { KEYS } from '../../src/tui/keys.js';
import { jobRows } from '../../src/tui/state/selectors.js';
import { KEY, loadFixture, startTui } from './harness.js';

// Component tests: the real App against recorded agent answers (./replay.ts).
// What is on screen and which RPCs the keys caused are both checked.

const fx = loadFixture();
const answer = <T,>(method: string, i = 0) => fx.exchanges.filter((e) => e.method === method)[i]!.result as T;
const backups = answer<{ backups: { id: string; kind: string; tag: string }[] }>('catalog.list').backups;
const logical = backups.find((b) => b.kind === 'logical')!;
const physical = backups.find((b) => b.kind === 'physical')!;
// eslint-disable-next-line no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

let tui: ReturnType<typeof startTui> | undefined;
afterEach(() => {
  tui?.done();
  tui = undefined;
});

function start(extra: Parameters<typeof startTui>[0] = {}, o: Parameters<typeof startTui>[1] = {}) {
  const seen: { method: string; params: Record<string, unknown> }[] = [];
  tui = startTui({ local: { recording: fx, replay: { seen } }, ...extra }, o);
  return { t: tui, seen };
}

/** Every line fits the terminal (80×24 unless given). */
function expectFits(frame: string, cols = 80, rows = 24) {
  const lines = plain(frame).split('\n');
  expect(lines.length).toBeLessThanOrEqual(rows);
  for (const l of lines) expect([...l].length, `too wide: ${l}`).toBeLessThanOrEqual(cols);
}

describe('fleet view', () => {
  test('a row per host and cluster; a dead host and a silent one never block the rest', async () => {
    const { t } = start({ 'db-dead': { down: 'ssh: connect to 127.0.0.9 port 22: Connection refused' }, 'db-slow': { recording: fx, replay: { delayMs: Infinity } } });
    const f = await t.waitFor(/local\/pg\s+15/);
    expect(f).toMatch(/db-dead\s+ssh: connect to 127\.0\.0\.9/);
    expect(f).toContain('✖');
    // the silent host is shown as slow, the others answered long ago
    const slow = await t.waitFor('db-slow (slow)');
    expect(slow).toMatch(/hosts 1\/3 up/);
    // the newest backup: the physical one, stored size; verified; repository use
    expect(f).toMatch(/local\/pg\s+15\s+\S+ phy \S+/);
    expectFits(f);
  });

  test('filter with / and sort with s', async () => {
    const { t } = start({ 'db-dead': { down: 'refused' } });
    await t.waitFor(/local\/pg\s+15/);
    await t.press('/');
    await t.type('dead');
    let f = await t.waitFor('/dead');
    expect(f).not.toContain('local/pg');
    expect(f).toContain('db-dead');
    await t.press(KEY.enter);
    await t.press(KEY.esc);
    f = await t.waitFor(/local\/pg\s+15/);
    expect(f).toContain('db-dead');
    await t.press('s');
    f = await t.waitFor('sort: health');
    // down hosts sort first by health
    expect(plain(f).indexOf('db-dead')).toBeLessThan(plain(f).indexOf('local/pg'));
  });
});

describe('cluster view', () => {
  test('backups grouped by tag, details pane from the manifest, recoverable window', async () => {
    const { t, seen } = start();
    await t.waitFor(/local\/pg\s+15/);
    await t.press(KEY.enter);
    let f = await t.waitFor('daily (1)');
    expect(f).toContain('weekly (1)');
    expect(f).toContain(logical.id);
    expect(f).toContain(physical.id);
    f = await t.waitFor(/sha256 [0-9a-f]{16}…/);
    expect(f).toMatch(/PITR \S*█/); // the time bar shows where recovery is possible
    expect(f).toContain('no WAL gap');
    expectFits(f);
    // moving down shows the next backup's manifest: LSNs and timeline of the physical one
    await t.press('j');
    f = await t.waitFor(`backup ${physical.id}`);
    f = await t.waitFor(/LSN [0-9A-F]+\/[0-9A-F]+ → [0-9A-F]+\/[0-9A-F]+, timeline 1/);
    expect(seen.filter((s) => s.method === 'catalog.show').map((s) => s.params.id)).toEqual([logical.id, physical.id]);
    expectFits(f);
  });

  test('verify: choose a level, live job view, result', async () => {
    const { t, seen } = start();
    await t.waitFor(/local\/pg\s+15/);
    await t.press(KEY.enter);
    await t.waitFor(/sha256 [0-9a-f]{16}…/);
    await t.press('v');
    let f = await t.waitFor('Verify backup');
    expect(f).toContain('checksum');
    expect(f).toContain('restore');
    await t.press(KEY.enter);
    f = await t.waitFor('succeeded');
    expect(f).toMatch(/\d+ of \d+ checks passed/);
    expect(seen.find((s) => s.method === 'job.start')?.params).toEqual({ type: 'verify', params: { cluster: 'pg', id: logical.id, level: 'checksum' } });
    await t.press(KEY.esc);
    await t.waitFor('daily (1)');
  });

  test('restore: target database, plan shown, typed confirmation, then the job', async () => {
    const { t, seen } = start();
    await t.waitFor(/local\/pg\s+15/);
    await t.press(KEY.enter);
    await t.waitFor(/sha256 [0-9a-f]{16}…/);
    await t.press('r');
    let f = await t.waitFor('into database: sample');
    await t.press(...Array(6).fill(KEY.backspace));
    await t.type('sample_copy');
    await t.press(KEY.enter);
    f = await t.waitFor('Type sample_copy to go ahead');
    expect(f).toContain('from database sample');
    // a wrong word does nothing
    await t.type('sample');
    await t.press(KEY.enter);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.some((s) => s.method === 'job.start')).toBe(false);
    await t.type('_copy');
    await t.press(KEY.enter);
    await t.waitFor('restore');
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.find((s) => s.method === 'job.start')?.params).toEqual({ type: 'restore', params: { cluster: 'pg', id: logical.id, toDatabase: 'sample_copy' } });
  });

  test('delete shows the plan and Esc changes nothing; physical restore points to the wizard', async () => {
    const { t, seen } = start();
    await t.waitFor(/local\/pg\s+15/);
    await t.press(KEY.enter);
    await t.waitFor(/sha256 [0-9a-f]{16}…/);
    await t.press('d');
    const f = await t.waitFor(`Type ${logical.id} to go ahead`);
    expect(f).toContain(`remove ${logical.id}`);
    await t.press(KEY.esc);
    await t.waitFor('daily (1)');
    expect(seen.some((s) => s.method === 'job.start')).toBe(false);
    await t.press('j', 'r');
    await t.waitFor('restored with point-in-time recovery: press w');
  });

  test('pin asks the agent and reloads the list', async () => {
    const seen: { method: string; params: Record<string, unknown> }[] = [];
    tui = startTui({ local: { recording: fx, replay: { seen, override: { 'backup.pin': (p) => ({ cluster: 'pg', id: p.backup, pinned: p.pinned }) } } } });
    const t = tui;
    await t.waitFor(/local\/pg\s+15/);
    await t.press(KEY.enter);
    await t.waitFor(/sha256 [0-9a-f]{16}…/);
    await t.press('p');
    await t.waitFor('pinned: retention keeps it');
    expect(seen.find((s) => s.method === 'backup.pin')?.params).toEqual({ cluster: 'pg', backup: logical.id, pinned: true });
    expect(seen.filter((s) => s.method === 'catalog.list').length).toBe(2);
  });
});

describe('PITR wizard', () => {
  test('a restore point target, side by side, the plan, then every step on Enter', async () => {
    const { t, seen } = start();
    await t.waitFor(/local\/pg\s+15/);
    await t.press('w');
    let f = await t.waitFor('restore point: stop at a named restore point');
    expect(f).toContain('recoverable:');
    await t.press('j', 'j', 'j', 'j', KEY.enter);
    await t.waitFor('Recover to the restore point named');
    await t.type('before-cleanup');
    await t.press(KEY.enter);
    await t.waitFor('[side by side]');
    await t.press(KEY.tab);
    // pasted in one read (as over a laggy SSH link): the Tab still moves to the port field, the Enter still submits
    await t.press(`${fx.pitr.dataDir}\t${fx.pitr.port}\r`);
    f = await t.waitFor('Enter: walk these steps');
    expect(f).toContain(`plan ${fx.pitr.planId}`);
    expect(f).toContain('restore point "before-cleanup"');
    expect(seen.find((s) => s.method === 'pitr.plan')?.params).toEqual({ cluster: 'pg', name: 'before-cleanup', inclusive: true, toDatadir: fx.pitr.dataDir, port: fx.pitr.port });
    await t.press(KEY.enter);
    const steps = (answer<{ steps: { name: string }[] }>('pitr.plan')).steps;
    for (let i = 1; i <= steps.length; i++) {
      await t.waitFor(i < steps.length ? `Enter: run this step` : /Enter: run this step/);
      await t.press(KEY.enter);
      await t.waitFor(new RegExp(`✓ \\S*${i}\\. ${steps[i - 1]!.name}`));
    }
    f = await t.waitFor('recovery complete');
    expectFits(f);
    expect(seen.filter((s) => s.method === 'job.start').map((s) => (s.params.params as { step: number }).step)).toEqual(steps.map((_, i) => i + 1));
  });

  test('resumes an unfinished plan recorded on the agent at its next step', async () => {
    const afterTwo = answer<{ id: string; steps: { name: string; status: string }[] }>('pitr.show', 1);
    expect(afterTwo.steps.slice(0, 2).every((s) => s.status === 'done')).toBe(true);
    const seen: { method: string; params: Record<string, unknown> }[] = [];
    // the agent's record after step 3 (the recording's third pitr.show)
    const afterThree = answer('pitr.show', 2);
    tui = startTui({ local: { recording: fx, replay: { seen, override: { 'pitr.plans': () => [afterTwo], 'pitr.show': () => afterThree } } } });
    const t = tui;
    await t.waitFor(/local\/pg\s+15/);
    await t.press('w');
    const f = await t.waitFor(`resume ${afterTwo.id}`);
    expect(f).toContain(`next step 3 of ${afterTwo.steps.length} (${afterTwo.steps[2]!.name})`);
    await t.press(KEY.enter);
    await t.waitFor(`step 3: ${afterTwo.steps[2]!.name}`);
    await t.press(KEY.enter);
    await t.waitFor(new RegExp(`✓ \\S*3\\. ${afterTwo.steps[2]!.name}`));
    expect(seen.find((s) => s.method === 'job.start')?.params).toEqual({ type: 'pitr', params: { plan: afterTwo.id, step: 3 } });
  });

  test('the target finder lists candidates and picks one', async () => {
    const { t, seen } = start();
    await t.waitFor(/local\/pg\s+15/);
    await t.press('w');
    await t.waitFor('find a target');
    await t.press('G', KEY.enter);
    const f = await t.waitFor(/Enter: recover to (xid|lsn|name|time) /);
    expect(f).toMatch(/DROP TABLE|restore point|DELETE/i);
    expect(seen.some((s) => s.method === 'pitr.targets')).toBe(true);
    await t.press(KEY.enter);
    await t.waitFor('Target: ');
  });
});

describe('jobs, help, quitting', () => {
  test('jobs across the fleet; Enter attaches and shows the log and result', async () => {
    const fx2 = loadFixture();
    const list = fx2.exchanges.filter((e) => e.method === 'jobs.list').at(-1)!.result as { recent: { id: string; type: string }[] };
    const verifyJob = list.recent.find((j) => j.type === 'verify')!;
    const events = fx2.exchanges.find((e) => e.method === 'job.start' && (e.params.type as string) === 'verify')!.events!;
    // the attach answer: the job's record, then its events (as the agent replays them)
    fx2.exchanges.push({ method: 'job.attach', params: { jobId: verifyJob.id, tail: 200 }, result: verifyJob, events: events.map((e) => ({ ...e, params: { ...e.params, jobId: verifyJob.id } })) });
    // the fleet's jobs come from the last jobs.list recorded (after the verify and PITR jobs)
    fx2.exchanges = fx2.exchanges.filter((e) => e.method !== 'jobs.list' || e.result === list);
    const seen: { method: string; params: Record<string, unknown> }[] = [];
    tui = startTui({ local: { recording: fx2, replay: { seen } } });
    const t = tui;
    await t.waitFor(/local\/pg\s+15/);
    await t.press('J');
    let f = await t.waitFor(verifyJob.id);
    expect(f).toContain('pitr');
    expect(f).toContain('succeeded');
    expectFits(f);
    const index = jobRows(t.store.getState()).findIndex((r) => r.jobId === verifyJob.id);
    await t.press('g', ...Array(index).fill('j'));
    expect(t.store.getState().jobsCursor).toBe(index);
    await t.press(KEY.enter);
    f = await t.waitFor(/\d+ of \d+ checks passed/);
    expect(f).toContain(`job ${verifyJob.id} on local`);
    expect(f).toMatch(/ok\s+checksum/); // the replayed log tail
    expect(seen.find((s) => s.method === 'job.attach')?.params).toEqual({ jobId: verifyJob.id, tail: 200 });
  });

  test('? lists every key of the view; any key closes it', async () => {
    const { t } = start();
    await t.waitFor(/local\/pg\s+15/);
    await t.press('?');
    const f = await t.waitFor('Keys (fleet view');
    for (const k of KEYS.filter((x) => x.scope === 'fleet' || x.scope === 'global')) expect(f).toContain(k.what.slice(0, 30));
    await t.press('x');
    await t.waitFor(/local\/pg\s+15/);
  });

  test('q quits without cancelling anything; a small terminal still fits', async () => {
    const { t, seen } = start({}, { columns: 80, rows: 24 });
    await t.waitFor(/local\/pg\s+15/);
    await t.press('q');
    expect(t.quits()).toBe(1);
    expect(t.store.getState().quitting).toBe(true);
    expect(seen.some((s) => s.method === 'job.cancel')).toBe(false);
  });

  test('resizing re-lays out to the new width', async () => {
    const { t } = start();
    await t.waitFor(/local\/pg\s+15/);
    t.store.dispatch({ type: 'resize', columns: 120, rows: 30 });
    const f = await t.waitFor(/HOST\/CLUSTER {20,}/);
    expectFits(f, 120, 30);
  });
});
