import { expect, test } from 'vitest';
import { restartSettingFinding } from '../../plugins/postgres/archiving.js';

// Settings PostgreSQL applies only at a restart, judged with what the files set (issue 11 item 10).
test('a value set but not in effect yet asks for the restart, not the same ALTER SYSTEM line', () => {
  expect(restartSettingFinding('archive_mode', 'off', 'on', true)).toMatchObject({ ok: false, level: 'error', fix: 'restart PostgreSQL', pending: 'on' });
  expect(restartSettingFinding('wal_level', 'minimal', 'replica', false)).toMatchObject({ ok: false, fix: 'restart PostgreSQL', pending: 'replica' }); // set, not reloaded yet
  expect(restartSettingFinding('archive_mode', 'off', 'off', false)).toMatchObject({ ok: false, fix: "ALTER SYSTEM SET archive_mode = 'on';", needs: 'restart' });
  expect(restartSettingFinding('archive_mode', 'on', 'true', false)).toMatchObject({ ok: true, detail: 'on' });
});

test('a good value that a restart would undo warns; an unreadable pending value is named as such', () => {
  expect(restartSettingFinding('archive_mode', 'on', 'off', true)).toMatchObject({ ok: false, level: 'warn', detail: 'on now, but off after the next restart (set in the configuration files)', needs: 'restart' });
  expect(restartSettingFinding('max_wal_senders', '0', undefined, true)).toMatchObject({ ok: false, level: 'error', detail: expect.stringMatching(/^0: physical backups need a WAL sender; a changed value waits for a restart/), fix: expect.stringMatching(/^restart PostgreSQL/) });
  expect(restartSettingFinding('max_wal_senders', '0', undefined, false)).toMatchObject({ ok: false, fix: "ALTER SYSTEM SET max_wal_senders = '10';" });
});
