import { describe, expect, test } from 'vitest';
import { fieldAsFlag, fieldAsWords, forCli, sayFields } from '../../src/core/fields.js';
import { withGlobals } from '../../src/client/suggest.js';
import { tuiText } from '../../src/tui/views/common.js';

// Agent and plugin messages name params (`toDatabase`), and each front end says
// them its own way: the CLI as flags, the TUI in words (src/core/fields.ts).

describe('fields as CLI flags', () => {
  test.each([
    ['force', undefined, '--force'],
    ['toDatabase', undefined, '--to-database'],
    ['toDatadir', 'DIR', '--to-datadir DIR'],
    ['port', 'P', '--port P'],
    ['clean', 'true', '--clean'],
    ['safetyBackup', 'false', '--no-safety-backup'],
    ['noOwner', undefined, '--no-owner'],
    ['keepPhysical', 'N', '--keep-physical N'],
    ['keep*', undefined, '--keep-*'],
    ['kind', 'logical', '--logical'],
    ['only', 'data', '--data-only'],
    ['tables', undefined, '--table'],
    ['schemas', undefined, '--schema'],
  ])('`%s` = %s is %s', (field, value, flag) => {
    expect(fieldAsFlag(field, value)).toBe(flag);
  });

  test('the messages the CLI showed before fields are said the same way', () => {
    expect(forCli('choose a cluster with `cluster` (configured: a, b)')).toBe('choose a cluster with --cluster (configured: a, b)');
    expect(forCli('unpin it first (lifeboat unpin X), or pass `force`')).toBe('unpin it first (lifeboat unpin X), or pass --force');
    expect(forCli('only data goes with `tables` or `schemas` (for a whole database use `only=data`)')).toBe('only data goes with --table or --schema (for a whole database use --data-only)');
    expect(forCli('pass `keepPhysical=N`, `keepLogical=N` or `keepDays=D`')).toBe('pass --keep-physical N, --keep-logical N or --keep-days D');
  });

  test('withGlobals says fields as flags and adds -H/--config to suggested commands, and is idempotent', () => {
    const once = withGlobals({ host: 'db1' }, 'unpin it first (lifeboat unpin X), or pass `force`');
    expect(once).toBe('unpin it first (lifeboat -H db1 unpin X), or pass --force');
    expect(withGlobals({ host: 'db1' }, once)).toBe(once);
  });

  test('text without a named field is left alone', () => {
    expect(sayFields('pg_dump: error: `x y` failed; `9lives`', () => 'X')).toBe('pg_dump: error: `x y` failed; `9lives`');
  });
});

describe('fields in the TUI', () => {
  test.each([
    ['force', undefined, 'force'],
    ['toDatabase', undefined, 'to database'],
    ['safetyBackup', 'false', 'safety backup off'],
    ['keep*', undefined, 'keep'],
  ])('`%s` = %s is "%s"', (field, value, words) => {
    expect(fieldAsWords(field, value)).toBe(words);
  });

  test('a TUI user reads no flag: the pinned-backup refusal in words', () => {
    const t = tuiText('backup X is pinned: unpin it first (lifeboat unpin X), or pass `force`');
    expect(t).toBe('backup X is pinned: unpin it first (lifeboat unpin X), or pass force');
    expect(t).not.toMatch(/--\w/);
  });
});
