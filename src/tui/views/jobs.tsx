import React from 'react';
import { Box, Text } from 'ink';
import { duration, shortTime } from '../../client/format.js';
import type { SerializedError } from '../../core/errors.js';
import type { JobRow } from '../state/selectors.js';
import type { LiveJob } from '../state/model.js';
import { cell, ProgressBar, T, windowStart, type Tone } from './common.js';

const STATUS_TONE: Record<string, Tone> = { running: 'accent', succeeded: 'ok', failed: 'bad', crashed: 'bad', cancelled: 'warn' };

/** Running and recent jobs across the fleet. */
export function JobsView(p: { rows: JobRow[]; cursor: number; width: number; height: number; now: number }): React.ReactElement {
  const listH = Math.max(1, p.height - 2);
  const start = windowStart(p.cursor, p.rows.length, listH);
  const idW = 21;
  const hostW = Math.max(6, p.width - idW - 6 - 8 - 9 - 11 - 6 - 7);
  return (
    <Box flexDirection="column" height={p.height}>
      <Text wrap="truncate">
        <T tone="dim">{cell(`${cell('HOST', hostW)} ${cell('JOB', idW)} ${cell('TYPE', 6)} ${cell('CLUSTER', 8)} ${cell('STATUS', 9)} ${cell('STARTED', 11)} ${cell('TOOK', 6, 'right')}`, p.width)}</T>
      </Text>
      {p.rows.length === 0 ? <T tone="dim">no jobs yet on any host</T> : null}
      {p.rows.slice(start, start + listH).map((r, i) => {
        const sel = start + i === p.cursor;
        const took = r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : r.status === 'running' ? p.now - Date.parse(r.startedAt) : undefined;
        return (
          <Text key={`${r.host}/${r.jobId}`} wrap="truncate">
            {cell(r.host, hostW)}{' '}
            <T inverse={sel} bold={sel}>
              {cell(r.jobId, idW)}
            </T>{' '}
            {cell(r.type, 6)} {cell(r.cluster ?? '-', 8)} <T tone={STATUS_TONE[r.status]}>{cell(r.status, 9)}</T> {cell(shortTime(r.startedAt).slice(5), 11)} {cell(duration(took), 6, 'right')}
          </Text>
        );
      })}
    </Box>
  );
}

function errorLines(e: SerializedError): string[] {
  return [`error: ${e.message}`, ...(e.hint ? [`hint: ${e.hint}`] : [])];
}

/** What a finished job produced, in a line or two. */
export function resultLines(j: LiveJob): string[] {
  const r = j.result as Record<string, unknown> | undefined;
  if (!r || typeof r !== 'object') return [];
  if (Array.isArray(r.checks)) {
    const checks = r.checks as { name: string; ok: boolean; detail?: string }[];
    const failed = checks.filter((c) => !c.ok);
    return [`${checks.length - failed.length} of ${checks.length} checks passed`, ...failed.slice(0, 3).map((c) => `FAILED ${c.name}: ${c.detail ?? ''}`)];
  }
  if (typeof r.id === 'string' && typeof r.kind === 'string') return [`backup ${r.id} (${r.kind}) is listed`];
  if (Array.isArray(r.steps)) return [(r.steps as { name: string; status: string; detail?: string }[]).map((s) => `${s.name}: ${s.status}`).join(', ')];
  return [];
}

/** One job: progress with rate and ETA, the log tail, and its result. */
export function JobView(p: { job: LiveJob | undefined; jobId: string; host: string; width: number; height: number }): React.ReactElement {
  const j = p.job;
  if (!j) return <T tone="dim">attaching to {p.jobId} on {p.host}…</T>;
  const tail = j.logs.slice(-Math.max(1, p.height - 7));
  const done = j.status !== 'running';
  return (
    <Box flexDirection="column" height={p.height}>
      <Text wrap="truncate">
        <T tone={STATUS_TONE[j.status]} bold>
          {j.status}
          {j.cancelRequested && !done ? ' (cancelling…)' : ''}
        </T>{' '}
        <T bold>{j.label}</T>
      </Text>
      <Text wrap="truncate">
        <T tone="dim">{`job ${j.jobId} on ${j.host}`}</T>
      </Text>
      {done ? <Text> </Text> : <ProgressBar progress={j.progress} width={p.width} />}
      <Box flexDirection="column" flexGrow={1}>
        {tail.map((l, i) => (
          <Text key={i} wrap="truncate">
            <T tone={l.level === 'error' ? 'bad' : l.level === 'warn' ? 'warn' : 'dim'}>{l.time.slice(11, 19)} </T>
            {l.message}
          </Text>
        ))}
      </Box>
      {done
        ? [...(j.error ? errorLines(j.error) : resultLines(j))].map((l, i) => (
            <Text key={`r${i}`} wrap="truncate">
              <T tone={j.error ? 'bad' : 'ok'}>{l}</T>
            </Text>
          ))
        : null}
    </Box>
  );
}
