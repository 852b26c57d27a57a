import { expect, test } from 'vitest';
import type { Connector } from '../../src/tui/services/connector.js';
import { FleetService } from '../../src/tui/services/fleet.js';
import { initialState, liveKey, type AppState } from '../../src/tui/state/model.js';
import { reducer, type Action } from '../../src/tui/state/reducer.js';
import { Store } from '../../src/tui/state/store.js';
import { loadFixture } from './harness.js';
import { replayTransport } from './replay.js';

// Quitting while a job is followed: closing ends the attach (its connection
// closes), which must not reconnect. A connection opened after close kept the
// process alive after q: the TUI printed the re-attach hint and never exited.
test('after close, an attach that ends does not connect again (issue 11 item 13)', async () => {
  const store = new Store<AppState, Action>(reducer, initialState({ columns: 80, rows: 24 }));
  let opens = 0;
  const closes: Promise<unknown>[] = [];
  const connector: Connector = {
    hosts: async () => ['local'],
    open: async () => {
      opens++;
      // job.attach answers at once, but no done event ever comes: a job that runs on
      const t = replayTransport(loadFixture(), { override: { 'job.attach': () => ({ attached: true }) } });
      closes.push(t.closed);
      return t;
    },
  };
  const fleet = new FleetService(store, connector, { refreshMs: 60_000, slowMs: 300, timeoutMs: 60_000, retryMs: 10 });
  await fleet.start();
  await expect.poll(() => store.getState().hosts.local?.conn).toBe('up');
  fleet.attach('local', 'job-that-runs-on', 'backup', 'a long backup');
  await expect.poll(() => store.getState().live[liveKey('local', 'job-that-runs-on')]?.status).toBe('running');
  expect(opens).toBe(1);
  fleet.close();
  await Promise.all(closes);
  await new Promise((r) => setTimeout(r, 100)); // longer than retryMs: a reconnect would have happened
  expect(opens).toBe(1);
  // the job goes on on its agent: it is still running in the state, so the re-attach hint is printed
  expect(Object.values(store.getState().live).map((j) => j.status)).toEqual(['running']);
});
