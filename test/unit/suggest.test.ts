import { describe, expect, test } from 'vitest';
import { suggest, withGlobals } from '../../src/client/suggest.js';
import { initialState } from '../../src/tui/state/model.js';
import { reducer } from '../../src/tui/state/reducer.js';
import { stillRunning } from '../../src/tui/state/selectors.js';

// Suggested commands carry the global options the user gave (issue 11 item 15).
describe('suggested commands', () => {
  test('carry -H (not for local) and --config, quoted for the shell', () => {
    expect(suggest({}, 'pitr', 'apply', 'P1', '--yes')).toBe('lifeboat pitr apply P1 --yes');
    expect(suggest({ config: '/etc/lb/c.json' }, 'jobs', 'attach', 'J')).toBe('lifeboat --config /etc/lb/c.json jobs attach J');
    expect(suggest({ host: 'db1', config: '/my configs/x.json' }, 'list')).toBe("lifeboat -H db1 --config '/my configs/x.json' list");
    expect(suggest({ host: 'local', config: 'c' }, 'list')).toBe('lifeboat --config c list');
    expect(suggest({ config: 'c' }, 'pitr', 'plan', '--name', "it's")).toBe("lifeboat --config c pitr plan --name 'it'\\''s'");
  });

  test('hosts commands work on the inventory here: no -H, no --config', () => {
    expect(suggest({ host: 'db1', config: 'c' }, 'hosts', 'deploy', 'db1')).toBe('lifeboat hosts deploy db1');
  });

  test('withGlobals puts them into every lifeboat COMMAND of a text, once, and leaves prose and named options alone', () => {
    const g = { host: 'db1', config: '/c.json' };
    const hint = 'see the backups with: lifeboat list; then lifeboat verify ID (lifeboat repo gc removes the rest)';
    const once = withGlobals(g, hint);
    expect(once).toBe('see the backups with: lifeboat -H db1 --config /c.json list; then lifeboat -H db1 --config /c.json verify ID (lifeboat -H db1 --config /c.json repo gc removes the rest)');
    expect(withGlobals(g, once)).toBe(once);
    for (const prose of ['the lifeboat agent on db1 is lifeboat 0.1.0', "archive_command = 'lifeboat --config FILE wal push %p'", 'lifeboat logs in with keys only', 'lifeboat hosts deploy db1', 'lifeboat: error', 'lifeboat listing']) {
      expect(withGlobals(g, prose)).toBe(prose);
    }
    expect(withGlobals({}, hint)).toBe(hint);
  });

  test('the TUI\'s re-attach line on quitting names the host and the --config it was started with', () => {
    let s = reducer(initialState(), { type: 'live/start', host: 'db1', jobId: '20261121084501-a1b2c3', jobType: 'backup', label: 'backup of main' });
    s = reducer(s, { type: 'live/start', host: 'local', jobId: '20261121084502-d4e5f6', jobType: 'verify', label: 'verify x' });
    expect(stillRunning(s, '/etc/lb.json')).toEqual([
      'lifeboat: job 20261121084501-a1b2c3 (backup of main) goes on on db1; follow it: lifeboat -H db1 --config /etc/lb.json jobs attach 20261121084501-a1b2c3',
      'lifeboat: job 20261121084502-d4e5f6 (verify x) goes on on local; follow it: lifeboat --config /etc/lb.json jobs attach 20261121084502-d4e5f6',
    ]);
  });
});
