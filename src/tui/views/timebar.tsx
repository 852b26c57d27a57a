import React from 'react';
import { Box, Text } from 'ink';
import { shortTime } from '../../client/format.js';
import type { RecoverableWindow } from '../state/model.js';
import { cell, T } from './common.js';

export interface TimeBarCells {
  /** One character per column: █ recoverable, ░ not, ╳ where a WAL gap cuts it. */
  cells: string;
  /** ▼ above each base backup's end. */
  marks: string;
  from: number;
  to: number;
}

/**
 * The recoverable window as cells: from the oldest span (or base backup) to
 * now, each column a slice of time, filled where a span covers its middle.
 */
export function timeBarCells(w: RecoverableWindow, backupEnds: number[], width: number, now: number): TimeBarCells {
  const starts = [...w.spans.map((s) => Date.parse(s.from)), ...backupEnds].filter(Number.isFinite);
  const from = starts.length ? Math.min(...starts) : now - 24 * 3.6e6;
  const to = Math.max(now, from + 60_000);
  const dt = (to - from) / width;
  const spans = w.spans.map((s) => ({ a: Date.parse(s.from), b: Date.parse(s.to), gapAt: s.gap ? Date.parse(s.gap.at ?? s.to) : undefined }));
  let cells = '';
  const marks = Array.from({ length: width }, () => ' ');
  for (let i = 0; i < width; i++) {
    const a = from + i * dt;
    const b = a + dt;
    const mid = (a + b) / 2;
    const covered = spans.some((s) => s.a <= b && s.b >= mid) || spans.some((s) => s.a <= mid && s.b >= a);
    const gap = spans.some((s) => s.gapAt !== undefined && s.gapAt >= a && s.gapAt < b);
    cells += gap ? '╳' : covered ? '█' : '░';
  }
  for (const e of backupEnds) {
    const i = Math.min(width - 1, Math.max(0, Math.floor((e - from) / dt)));
    marks[i] = '▼';
  }
  return { cells, marks: marks.join(''), from, to };
}

export function TimeBar(props: { window: RecoverableWindow | undefined; loading: boolean; error?: string | undefined; backupEnds: number[]; width: number; now: number }): React.ReactElement {
  const label = 'PITR ';
  const w = props.width - label.length;
  if (!props.window) {
    return (
      <Box flexDirection="column">
        <Text> </Text>
        <Text wrap="truncate">
          <T tone="dim">{label}</T>
          <T tone={props.error ? 'warn' : 'dim'}>{props.error ? `window unknown: ${props.error}` : props.loading ? 'reading the WAL archive…' : ''}</T>
        </Text>
        <Text> </Text>
      </Box>
    );
  }
  const bar = timeBarCells(props.window, props.backupEnds, w, props.now);
  const gaps = props.window.gaps;
  const legend = props.window.spans.length
    ? `${gaps ? `${gaps} WAL gap${gaps > 1 ? 's' : ''} (╳)` : 'no WAL gap'}; ▼ base backup; █ recoverable`
    : 'no physical backup with archived WAL: point-in-time recovery is not possible yet';
  const left = shortTime(new Date(bar.from).toISOString());
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">
        {' '.repeat(label.length)}
        <T tone="dim">{bar.marks}</T>
      </Text>
      <Text wrap="truncate">
        <T tone="dim">{label}</T>
        {[...groupRuns(bar.cells)].map((r, i) => (
          <T key={i} tone={r.ch === '█' ? 'ok' : r.ch === '╳' ? 'bad' : 'dim'}>
            {r.text}
          </T>
        ))}
      </Text>
      <Text wrap="truncate">
        {' '.repeat(label.length)}
        <T tone="dim">{cell(`${left} … now · ${legend}`, w)}</T>
      </Text>
    </Box>
  );
}

function* groupRuns(s: string): Generator<{ ch: string; text: string }> {
  let i = 0;
  while (i < s.length) {
    let j = i;
    while (j < s.length && s[j] === s[i]) j++;
    yield { ch: s[i]!, text: s.slice(i, j) };
    i = j;
  }
}
