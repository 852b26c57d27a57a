/**
 * Small pieces the views share: colour that honours NO_COLOR, fixed-width
 * cells, a progress bar with rate and ETA, a windowed list.
 *
 * @module
 */
import React from 'react';
import { Box, Text } from 'ink';
import { printable } from '../../client/format.js';
import { fieldAsWords, sayFields } from '../../core/fields.js';
import type { ProgressEvent } from '../../protocol/index.js';
import { bytes, rateAndEta } from '../../client/format.js';
import type { Health } from '../state/selectors.js';

/** NO_COLOR (any non-empty value) turns colour off; symbols and text still carry the meaning. */
export const colorOn = (): boolean => !(process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '');

export type Tone = 'ok' | 'warn' | 'bad' | 'dim' | 'accent' | 'info';
const TONES: Record<Tone, string> = { ok: 'green', warn: 'yellow', bad: 'red', dim: 'gray', accent: 'cyan', info: 'blue' };

/** Text in a tone; plain text without colour. */
export function T(props: { tone?: Tone | undefined; bold?: boolean; inverse?: boolean; children?: React.ReactNode; wrap?: 'truncate' | 'wrap' }): React.ReactElement {
  const color = props.tone && colorOn() ? TONES[props.tone] : undefined;
  return (
    <Text {...(color ? { color } : {})} {...(props.bold ? { bold: true } : {})} {...(props.inverse ? { inverse: true } : {})} {...(props.wrap ? { wrap: props.wrap } : {})}>
      {safe(props.children)}
    </Text>
  );
}

/**
 * Text from agents and repositories (labels, names, errors) never drives the
 * terminal: control characters show as \xNN. The fields an agent's message
 * names (`force`, core/fields.ts) are said in words, not as CLI flags.
 */
export function tuiText(text: string): string {
  return printable(sayFields(text, fieldAsWords));
}

function safe(children: React.ReactNode): React.ReactNode {
  if (typeof children === 'string') return tuiText(children);
  if (Array.isArray(children)) return children.map((c) => (typeof c === 'string' ? tuiText(c) : c));
  return children;
}

export const HEALTH_MARK: Record<Health, { mark: string; tone: Tone; word: string }> = {
  ok: { mark: '●', tone: 'ok', word: 'ok' },
  warn: { mark: '▲', tone: 'warn', word: 'warn' },
  bad: { mark: '✖', tone: 'bad', word: 'BAD' },
  down: { mark: '✖', tone: 'bad', word: 'DOWN' },
  connecting: { mark: '○', tone: 'dim', word: '…' },
};

/** Pad or cut to exactly `w` characters (a cut ends in …). */
export function cell(text: string, w: number, align: 'left' | 'right' = 'left'): string {
  if (w <= 0) return '';
  const s = tuiText(text);
  const str = s.length > w ? (w > 1 ? s.slice(0, w - 1) + '…' : s.slice(0, w)) : s;
  return align === 'right' ? str.padStart(w) : str.padEnd(w);
}

/** `[█████░░░░░] 45% 1.2 GiB of 2.6 GiB at 300 MiB/s ETA 5s  phase` in `width` columns. */
export function progressText(p: ProgressEvent | undefined, width: number): { bar: string; rest: string } {
  if (!p) return { bar: '', rest: 'starting…' };
  const amount = p.totalBytes ? `${bytes(p.bytes)} of ${bytes(p.totalBytes)}` : bytes(p.bytes);
  const rest = `${amount} at ${rateAndEta(p)}${p.phase ? `  ${p.phase}` : ''}`;
  if (!p.totalBytes) return { bar: '', rest: cell(rest, width) };
  const frac = Math.max(0, Math.min(1, p.bytes / p.totalBytes));
  const w = Math.max(10, Math.min(30, width - 40));
  const fill = Math.round(frac * w);
  const bar = `${'█'.repeat(fill)}${'░'.repeat(w - fill)} ${String(Math.floor(frac * 100)).padStart(3)}% `;
  return { bar, rest: cell(rest, Math.max(0, width - bar.length)) };
}

export function ProgressBar(props: { progress: ProgressEvent | undefined; width: number }): React.ReactElement {
  const { bar, rest } = progressText(props.progress, props.width);
  return (
    <Text>
      <T tone="accent">{bar}</T>
      {rest}
    </Text>
  );
}

/** The first visible row so that `cursor` stays on screen, roughly centred. */
export function windowStart(cursor: number, count: number, height: number): number {
  if (count <= height) return 0;
  return Math.max(0, Math.min(count - height, cursor - Math.floor(height / 2)));
}

/** A titled box line: `── Title ───────` across `width`. */
export function Rule(props: { title?: string; width: number }): React.ReactElement {
  const t = props.title ? `── ${props.title} ` : '';
  return <T tone="dim">{cell(t + '─'.repeat(Math.max(0, props.width - t.length)), props.width)}</T>;
}

export function KeyHints(props: { hints: [string, string][]; width: number }): React.ReactElement {
  let used = 0;
  const parts: React.ReactElement[] = [];
  for (const [k, what] of props.hints) {
    const len = k.length + what.length + 3;
    if (used + len > props.width) break;
    used += len;
    parts.push(
      <Text key={k}>
        <T tone="accent" bold>
          {k}
        </T>{' '}
        {what}
        {'  '}
      </Text>,
    );
  }
  return <Box>{parts}</Box>;
}
