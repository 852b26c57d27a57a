/** Text formatting for the CLI: sizes, durations, ages, colour, plurals, lines and tables that fit 80 columns. */

/** Text output fits this many columns (terminals, mail, logs). */
export const WIDTH = 80;

export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Bytes in at most 5 characters: `999B`, `12K`, `1.2G`. */
export function compactBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (v >= 999.5 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 || v >= 9.95 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '-';
  const s = ms / 1000;
  if (s < 9.95) return `${s.toFixed(1)}s`;
  // round once, then split: rounding the seconds part alone gave "1m60s"
  const total = Math.round(s);
  if (total < 90) return `${total}s`;
  const m = Math.floor(total / 60);
  if (m < 90) return `${m}m${String(total % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

export function age(hours: number | undefined): string {
  if (hours === undefined || !Number.isFinite(hours)) return '-';
  if (hours < 1) return `${Math.max(0, Math.round(hours * 60))}m`;
  if (hours < 48) return `${hours.toFixed(1)}h`;
  return `${Math.round(hours / 24)}d`;
}

/** `12 MiB/s ETA 1m05s` of a job's progress (the ETA only when the agent knows it). */
export function rateAndEta(p: { rate: number; etaSeconds?: number }): string {
  return `${bytes(p.rate)}/s${p.etaSeconds !== undefined ? ` ETA ${duration(p.etaSeconds * 1000)}` : ''}`;
}

/** `2026-11-21 08:45` in local time. */
export function shortTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR) return true;
  return !!stream.isTTY;
}

const CODES = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Color = keyof typeof CODES;

export function paint(text: string, color: Color, stream: NodeJS.WriteStream = process.stdout): string {
  return colorEnabled(stream) ? `\x1b[${CODES[color]}m${text}\x1b[0m` : text;
}

const ANSI = /\x1b\[[0-9;]*m/g;
const visible = (s: string) => s.replace(ANSI, '').length;

export { noun, plural } from '../core/text.js';

/**
 * One logical line folded at spaces into lines of at most `width` columns:
 * the first keeps its own start, the others begin with `indent` (a hanging
 * indent, so a long detail still reads as one item). Runs of spaces inside a
 * line are kept. A word longer than a line is split where it must be: nothing
 * is cut off. Colour codes do not count toward the width.
 */
export function wrap(text: string, opts: { indent?: string | number; width?: number } = {}): string {
  return wrapLines(text, opts).join('\n');
}

export function wrapLines(text: string, opts: { indent?: string | number; width?: number } = {}): string[] {
  const width = opts.width ?? WIDTH;
  const indent = typeof opts.indent === 'number' ? ' '.repeat(opts.indent) : (opts.indent ?? '');
  // a hanging indent that leaves no room is narrowed rather than looping
  const hang = visible(indent) > width - 20 ? indent.slice(0, Math.max(0, width - 20)) : indent;
  const lines: string[] = [];
  let cur = '';
  let fresh = true; // nothing but the indent on the current line yet
  const room = () => width - visible(cur);
  for (const token of text.split(/( +)/)) {
    if (token === '') continue;
    if (token.startsWith(' ')) {
      if (!fresh || lines.length === 0) cur += token; // leading spaces of the first line are its own indent
      continue;
    }
    if (visible(token) > room() && !fresh) {
      lines.push(cur.trimEnd());
      cur = hang;
    }
    let word = token;
    // a word longer than a whole line: split it (without its colour, which could not be split safely)
    while (visible(word) > room()) {
      const plain = word.replace(ANSI, '');
      const n = Math.max(1, room());
      lines.push((cur + plain.slice(0, n)).trimEnd());
      cur = hang;
      word = plain.slice(n);
    }
    cur += word;
    fresh = false;
  }
  lines.push(cur.trimEnd());
  return lines;
}

/**
 * A command line to copy into a shell, folded at spaces between its words into
 * lines of at most `width`, each but the last continued with a backslash, so
 * it still pastes as one command. A quoted word is never split, and an option
 * stays on the line of its value (`--config FILE`).
 */
export function wrapCommand(cmd: string, opts: { indent?: string; width?: number } = {}): string[] {
  const indent = opts.indent ?? '';
  const width = opts.width ?? WIDTH;
  const words = cmd.match(/(?:[^\s'\\]+|\\.|'[^']*')+/g) ?? [];
  const units: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const value = words[i + 1];
    if (/^-/.test(w) && value !== undefined && !/^-/.test(value)) units.push(`${w} ${words[++i]}`);
    else units.push(w);
  }
  const lines: string[] = [];
  let cur = indent;
  for (const unit of units) {
    const next = cur.trim() === '' ? cur + unit : `${cur} ${unit}`;
    if (next.length > width - 2 && cur.trim() !== '') {
      lines.push(`${cur} \\`);
      cur = `${indent}  ${unit}`;
    } else cur = next;
  }
  lines.push(cur);
  return lines;
}

/**
 * An SQL statement to copy into psql, folded to `width` like {@link wrap}, but
 * a long string literal (an archive_command) is not broken inside its quotes:
 * it becomes adjacent literals, one a line, which PostgreSQL joins back into
 * the same value ('ab' is 'a' newline 'b'). Pasted, it does what the one-line
 * statement does.
 */
export function wrapSql(statement: string, opts: { first?: string; indent?: string | number; width?: number } = {}): string[] {
  const width = opts.width ?? WIDTH;
  const first = opts.first ?? '';
  const indent = typeof opts.indent === 'number' ? ' '.repeat(opts.indent) : (opts.indent ?? '');
  if (visible(first + statement) <= width) return [first + statement];
  const literal = [...statement.matchAll(/'(?:[^']|'')*'/g)].sort((a, b) => b[0].length - a[0].length)[0];
  if (!literal || literal[0].length < width / 2) return wrapLines(first + statement, { indent, width });
  const head = statement.slice(0, literal.index).trimEnd();
  const tail = statement.slice(literal.index! + literal[0].length);
  const value = literal[0].slice(1, -1).replace(/''/g, "'");
  const quoted = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const room = Math.max(10, width - visible(indent) - 2);
  const pieces: string[] = [];
  let cur = '';
  for (const word of value.split(/(?<= )/)) {
    if (cur && quoted(cur + word).length - 2 > room) {
      pieces.push(cur);
      cur = '';
    }
    cur += word;
    // a word longer than a line: split it (the pieces are joined back all the same)
    while (quoted(cur).length - 2 > room) {
      let n = room;
      while (quoted(cur.slice(0, n)).length - 2 > room) n--;
      pieces.push(cur.slice(0, n));
      cur = cur.slice(n);
    }
  }
  if (cur || pieces.length === 0) pieces.push(cur);
  const lines = head ? wrapLines(first + head, { indent, width }) : [first.trimEnd()];
  pieces.forEach((p, i) => lines.push(`${indent}${quoted(p)}${i === pieces.length - 1 ? tail : ''}`));
  return lines;
}

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** May be shortened (with …) to fit the width. */
  shrink?: boolean;
  /** May be narrowed to fit the width; its text then wraps onto more lines of the row (nothing is cut). */
  wrap?: boolean;
}

/**
 * A plain-text table that fits `width` (default 80): shrinkable columns are
 * cut (with …), wrapping columns are narrowed and their cells continue on
 * further lines of the row.
 */
export function table(columns: Column[], rows: string[][], width = WIDTH): string {
  const widths = columns.map((c, i) => Math.max(visible(c.header), ...rows.map((r) => visible(r[i] ?? ''))));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  for (let guard = 0; total() > width && guard < 500; guard++) {
    const narrowable = columns.map((c, i) => ((c.shrink || c.wrap) && widths[i]! > Math.max(6, visible(c.header)) ? i : -1)).filter((i) => i >= 0);
    if (narrowable.length === 0) break;
    const widest = narrowable.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest]!--;
  }
  const pad = (t: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, widths[i]! - visible(t)));
    return columns[i]!.align === 'right' ? fill + t : t + fill;
  };
  const cellLines = (text: string, i: number): string[] => {
    const w = widths[i]!;
    if (visible(text) <= w) return [text];
    if (columns[i]!.wrap) return wrapLines(text, { width: w });
    return [text.replace(ANSI, '').slice(0, w - 1) + '…'];
  };
  const row = (r: string[]): string[] => {
    const cells = columns.map((_, i) => cellLines(r[i] ?? '', i));
    const height = Math.max(...cells.map((c) => c.length));
    return Array.from({ length: height }, (_, k) => cells.map((c, i) => pad(c[k] ?? '', i)).join('  ').trimEnd());
  };
  return [row(columns.map((c) => c.header)), ...rows.map(row)].flat().join('\n');
}

/**
 * Stored text (labels, names, messages from a repository) made safe for a
 * terminal: control characters, escape sequences included, are shown as \xNN
 * (newline as \n) instead of being written raw.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}
