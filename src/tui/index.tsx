/**
 * The render facade: the CLI calls runTui() through a lazy import and never
 * imports Ink itself. Owns the terminal for the session: alternate screen,
 * raw input, and putting both back whatever happens.
 *
 * @module
 */
import React from 'react';
import { render } from 'ink';
import { LifeboatError } from '../core/errors.js';
import { App } from './app.js';
import { Controller } from './controller.js';
import { realConnector, type RealConnectorOptions } from './services/connector.js';
import { FleetService, type FleetServiceOptions } from './services/fleet.js';
import { initialState, type AppState } from './state/model.js';
import { reducer, type Action } from './state/reducer.js';
import { stillRunning } from './state/selectors.js';
import { Store } from './state/store.js';

export interface TuiOptions extends RealConnectorOptions, FleetServiceOptions {
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

const ENTER_ALT = '\x1b[?1049h\x1b[H';
const LEAVE_ALT = '\x1b[?25h\x1b[?1049l';

/** Run the TUI until the operator quits; resolves with the exit code. */
export async function runTui(o: TuiOptions = {}): Promise<number> {
  const stdin = o.stdin ?? process.stdin;
  const stdout = o.stdout ?? process.stdout;
  if (!stdin.isTTY || !stdout.isTTY) {
    throw new LifeboatError('USAGE', 'lifeboat tui needs a terminal', { hint: 'in scripts and cron use the commands (lifeboat status --all, lifeboat list, ...), with --json for machines' });
  }
  const store = new Store<AppState, Action>(reducer, initialState({ columns: stdout.columns || 80, rows: stdout.rows || 24 }));
  const fleet = new FleetService(store, realConnector(o), o);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    stdout.write(LEAVE_ALT);
  };
  // whatever ends the process, the terminal comes back usable
  process.once('exit', restore);
  stdout.write(ENTER_ALT);
  let app: ReturnType<typeof render> | undefined;
  const controller = new Controller(store, fleet, () => app?.unmount());
  const onResize = () => store.dispatch({ type: 'resize', columns: stdout.columns || 80, rows: stdout.rows || 24 });
  stdout.on('resize', onResize);
  const onSignal = () => controller.quit();
  // The terminal went away (SSH connection dropped): nothing can be written or
  // reset any more, and Node's own exit aborts on resetting a dead tty (a core
  // dump for nothing). Leave at once; the jobs run on in their agents' runners.
  const hangUp = () => process.kill(process.pid, 'SIGKILL');
  stdout.on('error', hangUp);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', hangUp);
  try {
    app = render(<App controller={controller} />, { stdin, stdout, exitOnCtrlC: false, patchConsole: true, incrementalRendering: process.env.LIFEBOAT_TUI_INCREMENTAL === "1" });
    void fleet.start();
    await app.waitUntilExit();
  } finally {
    fleet.close();
    stdout.off('resize', onResize);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', hangUp);
    restore();
  }
  for (const line of stillRunning(store.getState(), o.config)) process.stderr.write(line + '\n');
  return 0;
}
