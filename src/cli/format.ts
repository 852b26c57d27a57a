/** Text formatting for the CLI: sizes, durations, ages, colour, tables that fit 80 columns. */

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

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** May be shortened (with …) to fit the width. */
  shrink?: boolean;
}

/** A plain-text table; shrinkable columns are cut so rows fit `width` (default 80). */
export function table(columns: Column[], rows: string[][], width = 80): string {
  const widths = columns.map((c, i) => Math.max(visible(c.header), ...rows.map((r) => visible(r[i] ?? ''))));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  for (let guard = 0; total() > width && guard < 500; guard++) {
    const shrinkable = columns.map((c, i) => (c.shrink && widths[i]! > Math.max(6, visible(c.header)) ? i : -1)).filter((i) => i >= 0);
    if (shrinkable.length === 0) break;
    const widest = shrinkable.reduce((a, b) => (widths[b]! > widths[a]! ? b : a));
    widths[widest]!--;
  }
  const cell = (text: string, i: number) => {
    const w = widths[i]!;
    let t = text;
    if (visible(t) > w) t = t.replace(ANSI, '').slice(0, w - 1) + '…';
    const pad = ' '.repeat(Math.max(0, w - visible(t)));
    return columns[i]!.align === 'right' ? pad + t : t + pad;
  };
  const line = (r: string[]) => r.map((t, i) => cell(t, i)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
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
