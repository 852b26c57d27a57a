import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { age, bytes, colorEnabled, compactBytes, duration, paint, plural, printable, table, wrap } from '../../src/client/format.js';
import { BackupParamsSchema } from '../../src/protocol/index.js';

const ESC = '\x1b[';
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** A stand-in for process.stdout that only answers isTTY. */
const stream = (isTTY: boolean) => ({ isTTY }) as unknown as NodeJS.WriteStream;

describe('table()', () => {
  const long = 'a label that is much too long to fit in an eighty column terminal together with the other columns of the row';

  test('shrinks long shrinkable cells with an ellipsis so every line fits 80 columns', () => {
    const out = table(
      [{ header: 'ID' }, { header: 'LABEL', shrink: true }, { header: 'SIZE', align: 'right' }],
      [
        ['20261121-084501L-3f2a', long, '12M'],
        ['20261121-094501L-0b1c', 'short', '1.5G'],
      ],
    );
    const lines = out.split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    // the long cell was cut and marked, the columns that do not shrink are whole
    expect(lines[1]).toContain('…');
    expect(lines[1]).toContain('a label that is much too long');
    expect(lines[1]).not.toContain('other columns of the row');
    expect(lines[1]!.startsWith('20261121-084501L-3f2a  ')).toBe(true);
    expect(lines[1]!.endsWith('  12M')).toBe(true);
    expect(lines[2]).toContain('short');
    expect(lines[2]).not.toContain('…');
    // the shrunk table uses the whole width: the longest line is exactly 80
    expect(Math.max(...lines.map((l) => l.length))).toBe(80);
  });

  test('honours a wider width and leaves rows alone when they fit', () => {
    const rows = [['x', long]];
    const wide = table([{ header: 'A' }, { header: 'B', shrink: true }], rows, 200);
    expect(wide.split('\n')[1]).toBe(`x  ${long}`);
    const narrow = table([{ header: 'A' }, { header: 'B', shrink: true }], rows, 40);
    expect(narrow.split('\n')[1]!.length).toBe(40);
  });

  test('right-aligned columns pad on the left; left-aligned on the right; headers align with cells', () => {
    const out = table(
      [{ header: 'NAME' }, { header: 'ROWS', align: 'right' }, { header: 'NOTE' }],
      [
        ['a', '5', 'x'],
        ['bbbbbb', '100000', 'y'],
      ],
    );
    expect(out.split('\n')).toEqual([
      'NAME      ROWS  NOTE', //
      'a            5  x',
      'bbbbbb  100000  y',
    ]);
  });

  test('trailing padding is trimmed from each line', () => {
    const out = table([{ header: 'A' }, { header: 'B' }], [['x', '']]);
    for (const line of out.split('\n')) expect(line).toBe(line.trimEnd());
  });

  test('ANSI colour codes do not count toward a column width', () => {
    const red = `\x1b[31mFAIL\x1b[0m`;
    const out = table(
      [{ header: 'STATE' }, { header: 'AGE', align: 'right' }, { header: 'NEXT' }],
      [
        [red, '3h', 'x'],
        ['ok', '12d', 'y'],
      ],
    );
    const lines = out.split('\n');
    expect(lines[1]).toContain(red); // colour kept, not cut
    // once the codes are stripped every row lines up exactly as if there were none
    expect(lines.map(stripAnsi)).toEqual(['STATE  AGE  NEXT', 'FAIL    3h  x', 'ok     12d  y']);
  });

  test('a coloured shrinkable cell is cut by its visible length, and the result has no broken escape', () => {
    const coloured = `\x1b[32m${'g'.repeat(100)}\x1b[0m`;
    const out = table([{ header: 'ID' }, { header: 'LABEL', shrink: true }], [['id-1', coloured]]);
    const line = out.split('\n')[1]!;
    expect(stripAnsi(line).length).toBeLessThanOrEqual(80);
    expect(line.endsWith('…')).toBe(true);
    expect(line).not.toMatch(/\x1b(?!\[[0-9;]*m)/);
  });
});

describe('wrap() and plural() (issue 11 item 16)', () => {
  const detail = 'ok   main: archive_command: \'/usr/bin/node\' \'/tmp/lifeboat/bin/lifeboat.js\' --config \'/var/lib/postgresql/.config/lifeboat/config.json\' wal push %p';

  test('folds at spaces with a hanging indent; every word is kept, in order', () => {
    const lines = wrap(detail, { indent: 5 }).split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    for (const l of lines.slice(1)) expect(l).toMatch(/^ {5}\S/);
    const words = (t: string) => t.split(/\s+/).filter(Boolean);
    expect(words(lines.join('\n'))).toEqual(words(detail));
    expect(lines[0]!.startsWith('ok   main:')).toBe(true); // runs of spaces inside a line stay
  });

  test('a line that fits is left alone, leading indentation included', () => {
    expect(wrap('    1. [done] check-target: fine')).toBe('    1. [done] check-target: fine');
  });

  test('a word longer than a line is split, not cut', () => {
    const path = '/srv/' + 'x'.repeat(150);
    const lines = wrap(`restore into: ${path} on port 5433`, { indent: 2 }).split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines.join('').replace(/ /g, '')).toBe(`restore into: ${path} on port 5433`.replace(/ /g, ''));
    expect(lines[0]).toBe('restore into:'); // the path starts a line of its own before it is split
  });

  test('colour codes do not count toward the width', () => {
    const red = `\x1b[31mFAIL\x1b[0m ${'word '.repeat(15).trim()}`;
    const lines = wrap(red, { width: 40 }).split('\n');
    expect(lines[0]).toContain('\x1b[31mFAIL\x1b[0m');
    for (const l of lines) expect(stripAnsi(l).length).toBeLessThanOrEqual(40);
  });

  test('plural', () => {
    expect(plural(1, 'check')).toBe('1 check');
    expect(plural(0, 'check')).toBe('0 checks');
    expect(plural(5, 'segment')).toBe('5 segments');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });
});

describe('table() with a wrapping column', () => {
  test('the cell continues on more lines of its row instead of being cut; the row fits', () => {
    const tags = 'daily:31 weekly:8 monthly:12 yearly:2 pre-migration:3 manual:14 safety:4';
    const out = table([{ header: 'CLUSTER' }, { header: 'NEWEST' }, { header: 'BY TAG', wrap: true }, { header: 'REPO', align: 'right' }], [['main', '20261121-084501L-3f2a', tags, '1.2 GiB'], ['other', '-', '-', '0 B']]);
    const lines = out.split('\n');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
    expect(lines.length).toBeGreaterThan(3);
    expect(out).not.toContain('…');
    for (const t of tags.split(' ')) expect(out).toContain(t);
    expect(lines[1]).toMatch(/^main +20261121-084501L-3f2a +daily:31 .* +1\.2 GiB$/);
    expect(lines[2]).toMatch(/^ {8} +\S/); // continuation: the other columns are blank
    expect(lines.at(-1)).toMatch(/^other/);
  });
});

describe('bytes()', () => {
  test.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024, '10 KiB'],
    [1023 * 1024, '1023 KiB'],
    [5 * 1024 ** 2, '5.0 MiB'],
    [123.4 * 1024 ** 3, '123 GiB'],
    [5 * 1024 ** 4, '5.0 TiB'],
    [2048 * 1024 ** 4, '2048 TiB'], // no unit above TiB
  ])('%d → %s', (n, want) => {
    expect(bytes(n)).toBe(want);
  });

  test('unknown sizes print as -', () => {
    expect(bytes(undefined)).toBe('-');
    expect(bytes(Number.NaN)).toBe('-');
    expect(bytes(Number.POSITIVE_INFINITY)).toBe('-');
  });
});

describe('compactBytes()', () => {
  test.each([
    [0, '0B'],
    [999, '999B'],
    [1000, '1.0K'],
    [1024, '1.0K'],
    [1536, '1.5K'],
    [12 * 1024, '12K'],
    [1.2 * 1024 ** 3, '1.2G'],
    [1024 ** 5, '1.0P'],
    [10 ** 15, '909T'],
  ])('%d → %s', (n, want) => {
    expect(compactBytes(n)).toBe(want);
  });

  test('is at most 5 characters for every size from 0 to 10^15', () => {
    const tooLong: string[] = [];
    const check = (n: number) => {
      const s = compactBytes(n);
      if (s.length > 5) tooLong.push(`${n} → ${s}`);
    };
    // a dense sweep over the orders of magnitude, plus every rounding boundary
    for (let e = 0; e <= 15; e += 0.0005) check(Math.round(10 ** e));
    for (let u = 0; u <= 5; u++) {
      for (const v of [9.9, 9.94, 9.95, 9.96, 99.4, 99.5, 99.6, 999, 999.4, 999.5, 999.6, 1000, 1023, 1023.9]) {
        const n = Math.round(v * 1024 ** u);
        if (n <= 1e15) check(n);
      }
    }
    check(1e15);
    expect(tooLong).toEqual([]);
  });

  test('unknown sizes print as -', () => {
    expect(compactBytes(undefined)).toBe('-');
    expect(compactBytes(Number.NaN)).toBe('-');
  });
});

describe('duration()', () => {
  test.each([
    [0, '0.0s'],
    [1_234, '1.2s'],
    [9_940, '9.9s'],
    [9_960, '10s'],
    [10_000, '10s'],
    [89_000, '89s'],
    [90_000, '1m30s'],
    [119_600, '2m00s'], // was "1m60s": the seconds part was rounded on its own
    [3_599_600, '60m00s'], // was "59m60s"
    [5_399_000, '89m59s'],
    [5_399_700, '1h30m'], // was "89m60s"
    [5_400_000, '1h30m'],
    [36 * 3_600_000 + 5 * 60_000, '36h05m'],
  ])('%d ms → %s', (ms, want) => {
    expect(duration(ms)).toBe(want);
  });

  test('never prints 60 seconds or 60 minutes in a unit', () => {
    for (let ms = 0; ms < 6 * 3_600_000; ms += 137) {
      const s = duration(ms);
      expect(s, `${ms} ms`).toMatch(/^(\d+\.\ds|\d+s|\d+m[0-5]\ds|\d+h[0-5]\dm)$/);
    }
  });

  test('unknown durations print as -', () => {
    expect(duration(undefined)).toBe('-');
    expect(duration(Number.NaN)).toBe('-');
  });
});

describe('age()', () => {
  test.each([
    [0, '0m'],
    [-0.5, '0m'], // clock skew: never a negative age
    [0.25, '15m'],
    [1, '1.0h'],
    [25.5, '25.5h'],
    [47.9, '47.9h'],
    [48, '2d'],
    [24 * 30, '30d'],
  ])('%d h → %s', (h, want) => {
    expect(age(h)).toBe(want);
  });

  test('unknown age prints as -', () => {
    expect(age(undefined)).toBe('-');
  });
});

describe('colour', () => {
  let saved: { NO_COLOR: string | undefined; FORCE_COLOR: string | undefined };
  const setEnv = (name: 'NO_COLOR' | 'FORCE_COLOR', value: string | undefined) => {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  };

  beforeEach(() => {
    saved = { NO_COLOR: process.env.NO_COLOR, FORCE_COLOR: process.env.FORCE_COLOR };
    setEnv('NO_COLOR', undefined);
    setEnv('FORCE_COLOR', undefined);
  });
  afterEach(() => {
    setEnv('NO_COLOR', saved.NO_COLOR);
    setEnv('FORCE_COLOR', saved.FORCE_COLOR);
  });

  test('without NO_COLOR, colour follows the stream being a TTY', () => {
    expect(colorEnabled(stream(true))).toBe(true);
    expect(colorEnabled(stream(false))).toBe(false);
    expect(paint('FAIL', 'red', stream(true))).toBe(`${ESC}31mFAIL${ESC}0m`);
    expect(paint('ok', 'green', stream(true))).toBe(`${ESC}32mok${ESC}0m`);
    expect(paint('FAIL', 'red', stream(false))).toBe('FAIL');
  });

  test('NO_COLOR (any non-empty value) turns colour off, even on a TTY and with FORCE_COLOR', () => {
    setEnv('NO_COLOR', '1');
    expect(colorEnabled(stream(true))).toBe(false);
    expect(paint('FAIL', 'red', stream(true))).toBe('FAIL');
    setEnv('FORCE_COLOR', '1');
    expect(colorEnabled(stream(true))).toBe(false);
    setEnv('NO_COLOR', 'yes please');
    expect(paint('warn', 'yellow', stream(true))).toBe('warn');
  });

  test('an empty NO_COLOR counts as unset (no-color.org)', () => {
    setEnv('NO_COLOR', '');
    expect(colorEnabled(stream(true))).toBe(true);
    expect(paint('x', 'bold', stream(true))).toBe(`${ESC}1mx${ESC}0m`);
  });

  test('FORCE_COLOR turns colour on for a pipe when NO_COLOR is unset', () => {
    setEnv('FORCE_COLOR', '1');
    expect(colorEnabled(stream(false))).toBe(true);
    expect(paint('dim', 'dim', stream(false))).toBe(`${ESC}2mdim${ESC}0m`);
  });

});

describe('stored text on a terminal (issue 10 item 18)', () => {
  test('printable() shows control characters and escape sequences instead of writing them', () => {
    expect(printable('nightly')).toBe('nightly');
    expect(printable('a\nb')).toBe('a\\nb');
    expect(printable('\x1b[2J\x1b]0;owned\x07')).toBe('\\x1b[2J\\x1b]0;owned\\x07');
    expect(printable('tab\there\u009b')).toBe('tab\\there\\x9b');
    expect(printable('zürich ✓')).toBe('zürich ✓');
    expect(printable('x\x1b[31m')).not.toContain('\x1b');
  });
  test('a label with a newline or an escape sequence is refused at the edge', () => {
    expect(BackupParamsSchema.safeParse({ label: 'nightly run' }).success).toBe(true);
    for (const label of ['a\nb', 'x\x1b[31mred', 'bell\x07']) {
      const r = BackupParamsSchema.safeParse({ label });
      expect(r.success, JSON.stringify(label)).toBe(false);
      expect(JSON.stringify(r.error?.issues)).toMatch(/control characters/);
    }
  });
});
