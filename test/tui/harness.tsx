/**
 * Renders the real App (controller, fleet service, reducer, views) with
 * ink-testing-library; agents are replayed recordings (./replay.ts). Keys go in
 * through Ink's stdin, so key parsing is part of what is tested.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import React from 'react';
import { render } from 'ink-testing-library';
import { LifeboatError } from '../../src/core/errors.js';
import { App } from '../../src/tui/app.js';
import { Controller } from '../../src/tui/controller.js';
import type { Connector } from '../../src/tui/services/connector.js';
import { FleetService } from '../../src/tui/services/fleet.js';
import { initialState, type AppState } from '../../src/tui/state/model.js';
import { reducer, type Action } from '../../src/tui/state/reducer.js';
import { Store } from '../../src/tui/state/store.js';
import { replayTransport, type Recording, type ReplayOptions } from './replay.js';

export type Fixture = Recording & { pitr: { planId: string; dataDir: string; port: number } };

/** The recording made by record-fixtures.ts (a fresh copy each call: tests may add to it). */
export function loadFixture(): Fixture {
  return JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'local.json'), 'utf8')) as Fixture;
}

export type HostSpec = { recording: Recording; replay?: ReplayOptions } | { down: string };

export const KEY = { up: '\u001B[A', down: '\u001B[B', enter: '\r', esc: '\u001B', tab: '\t', backspace: '\u007F' };

export function startTui(hosts: Record<string, HostSpec>, o: { columns?: number; rows?: number; slowMs?: number } = {}) {
  const store = new Store<AppState, Action>(reducer, initialState({ columns: o.columns ?? 80, rows: o.rows ?? 24 }));
  const connector: Connector = {
    hosts: async () => Object.keys(hosts),
    open: async (h) => {
      const spec = hosts[h]!;
      if ('down' in spec) throw new LifeboatError('CONNECTION_FAILED', spec.down);
      return replayTransport(spec.recording, spec.replay);
    },
  };
  const fleet = new FleetService(store, connector, { refreshMs: 60_000, slowMs: o.slowMs ?? 300, timeoutMs: 60_000, retryMs: 60_000 });
  let quit = 0;
  const controller = new Controller(store, fleet, () => quit++);
  const ink = render(<App controller={controller} />);
  void fleet.start();
  const frame = () => ink.lastFrame() ?? '';
  /** Wait until the screen matches (polls every 10 ms); fails with the last screen. */
  const waitFor = async (re: RegExp | string, ms = 5000): Promise<string> => {
    const t0 = Date.now();
    for (;;) {
      const f = frame();
      if (typeof re === 'string' ? f.includes(re) : re.test(f)) return f;
      if (Date.now() - t0 > ms) throw new Error(`screen never showed ${re}; last screen:\n${f}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  /** Type keys one at a time (each its own read, as a person types). */
  const press = async (...keys: string[]) => {
    for (const k of keys) {
      ink.stdin.write(k);
      await new Promise((r) => setTimeout(r, k === KEY.esc ? 40 : 5));
    }
  };
  const type = (text: string) => press(...text.split(''));
  const done = () => {
    fleet.close();
    ink.unmount();
  };
  return { store, controller, fleet, ink, frame, waitFor, press, type, done, quits: () => quit };
}
