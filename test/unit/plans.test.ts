import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { PlanStore } from '../../src/runtime/plans.js';
import { AgentState } from '../../src/runtime/state.js';
import type { PitrPlan } from '../../src/core/pitr.js';

const plan = (id: string): PitrPlan => ({
  id, cluster: 'main', createdAt: new Date().toISOString(), backupId: '20261204-010000P-abcd', target: { kind: 'latest' }, inclusive: true, action: 'promote',
  mode: 'side-by-side', dataDir: '/srv/copy', port: 5433, restoreCommand: 'x', wal: { timeline: 1, from: 'a', to: 'b', segments: 1 }, steps: [],
});

// Recovery plans are their own files (issue 12 item 4): they outlive state.json, come over from it once, and a plan id never becomes a path outside plans/.
test('plans are files of their own (0600), read back by id and prefix; plans of an older state.json move over', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-plans-'));
  try {
    const state = new AgentState(dir);
    await state.update((d) => (d.plans['pitr-20261204010101-0a0b'] = plan('pitr-20261204010101-0a0b')));
    const store = new PlanStore(dir, state);
    store.save(plan('pitr-20261204020202-1c1d'));
    expect((await store.list()).map((p) => p.id).sort()).toEqual(['pitr-20261204010101-0a0b', 'pitr-20261204020202-1c1d']);
    expect((await readdir(path.join(dir, 'plans'))).sort()).toEqual(['pitr-20261204010101-0a0b.json', 'pitr-20261204020202-1c1d.json']);
    expect((await stat(path.join(dir, 'plans', 'pitr-20261204020202-1c1d.json'))).mode & 0o777).toBe(0o600);
    expect((await store.get('pitr-20261204020202'))?.id).toBe('pitr-20261204020202-1c1d');
    await expect(store.get('pitr-2026120')).rejects.toThrow(/ambiguous/);
    // the state file goes: the plans stay
    await rm(path.join(dir, 'state.json'));
    const again = new PlanStore(dir, new AgentState(dir));
    expect((await again.get('pitr-20261204010101-0a0b'))?.backupId).toBe('20261204-010000P-abcd');
    for (const hostile of ['../state', '../../etc/passwd', 'pitr-2026/../../x', '']) expect(await again.get(hostile)).toBeUndefined();
    expect(() => again.save(plan('../escape'))).toThrow(/not a plan id/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
