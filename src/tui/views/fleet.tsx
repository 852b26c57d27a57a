import React from 'react';
import { Box, Text } from 'ink';
import { age, compactBytes } from '../../client/format.js';
import type { FleetRow } from '../state/selectors.js';
import type { SortKey } from '../state/model.js';
import { cell, HEALTH_MARK, T, windowStart, type Tone } from './common.js';

export interface FleetViewProps {
  rows: FleetRow[];
  cursor: number;
  sort: SortKey;
  filter: string;
  filtering: boolean;
  width: number;
  height: number;
  now: number;
}

const W = { pg: 4, newest: 15, wal: 12, verified: 9, repo: 6, jobs: 4 };

function newestCell(r: FleetRow): string {
  const l = r.overview?.status.latest;
  if (!l) return r.overview ? 'none' : '';
  return `${age(r.overview!.status.ageHours)} ${l.kind === 'physical' ? 'phy' : 'log'} ${compactBytes(l.storedSize)}`;
}

function walCell(r: FleetRow, now: number): { text: string; tone?: Tone } {
  const o = r.overview;
  if (!o) return { text: '' };
  if (!o.server) return { text: o.serverError ? 'no answer' : '?', tone: 'warn' };
  const a = o.server.archiver;
  if (o.server.archiveMode === 'off') return { text: 'off', tone: 'dim' };
  if (a.failingNow) return { text: `FAIL ${a.failedCount}`, tone: 'bad' };
  if (!a.lastArchivedAt) return { text: 'none yet', tone: 'dim' };
  return { text: `${age((now - Date.parse(a.lastArchivedAt)) / 3.6e6)} ago${a.failedCount ? ` ${a.failedCount}✗` : ''}` };
}

function verifiedCell(r: FleetRow, now: number): { text: string; tone?: Tone } {
  const v = r.overview?.status.lastVerification;
  if (!v) return { text: r.overview ? '-' : '' };
  return v.ok ? { text: `ok ${age((now - Date.parse(v.at)) / 3.6e6)}`, tone: 'ok' } : { text: 'FAILED', tone: 'bad' };
}

/** The fleet: a row per host and cluster with health, newest backup, WAL archiving, verification, repository use, jobs. */
export function FleetView(p: FleetViewProps): React.ReactElement {
  const nameW = Math.max(12, p.width - 2 - W.pg - W.newest - W.wal - W.verified - W.repo - W.jobs - 7);
  const listH = Math.max(1, p.height - 4);
  const start = windowStart(p.cursor, p.rows.length, listH);
  const visible = p.rows.slice(start, start + listH);
  const sel = p.rows[p.cursor];
  const header = `  ${cell('HOST/CLUSTER', nameW)} ${cell('PG', W.pg)} ${cell('NEWEST BACKUP', W.newest)} ${cell('WAL ARCHIVE', W.wal)} ${cell('VERIFIED', W.verified)} ${cell('REPO', W.repo, 'right')} ${cell('JOBS', W.jobs, 'right')}`;
  return (
    <Box flexDirection="column" height={p.height}>
      <Text>
        <T tone="dim">{cell(header, p.width)}</T>
      </Text>
      {visible.length === 0 ? <T tone="dim">{p.filter ? `  nothing matches "${p.filter}"` : '  connecting…'}</T> : null}
      {visible.map((r, i) => {
        const idx = start + i;
        const h = HEALTH_MARK[r.health];
        const name = r.cluster ? `${r.host}/${r.cluster}` : r.host;
        const down = r.health === 'down' || r.health === 'connecting' || !r.overview;
        const wal = walCell(r, p.now);
        const ver = verifiedCell(r, p.now);
        const jobs = r.overview?.runningJobs.length ?? 0;
        const slow = r.state.slow ? ' (slow)' : '';
        const selected = idx === p.cursor;
        const version = r.overview?.server?.version.split(/[ .]/)[0] ?? '';
        const rest = down
          ? cell(r.health === 'connecting' ? 'connecting…' : (r.problems[0] ?? 'unreachable'), p.width - nameW - 3)
          : `${cell(version, W.pg)} ${cell(newestCell(r), W.newest)} `;
        return (
          <Text key={r.key} wrap="truncate">
            <T tone={h.tone}>{h.mark} </T>
            <T inverse={selected} bold={selected}>
              {cell(name + slow, nameW)}
            </T>{' '}
            {down ? (
              <T tone={r.health === 'down' ? 'bad' : 'dim'}>{rest}</T>
            ) : (
              <>
                {rest}
                <T tone={wal.tone}>{cell(wal.text, W.wal)}</T> <T tone={ver.tone}>{cell(ver.text, W.verified)}</T> {cell(compactBytes(r.overview!.status.repositoryBytes), W.repo, 'right')} <T tone={jobs ? 'accent' : 'dim'}>{cell(jobs ? String(jobs) : '-', W.jobs, 'right')}</T>
              </>
            )}
          </Text>
        );
      })}
      <Box flexGrow={1} />
      <Text wrap="truncate">
        {sel && sel.problems.length ? <T tone={HEALTH_MARK[sel.health].tone}>{cell(`${sel.cluster ? `${sel.host}/${sel.cluster}` : sel.host}: ${sel.problems.join('; ')}`, p.width)}</T> : <T tone="dim">{cell(sel ? `${sel.cluster ? `${sel.host}/${sel.cluster}` : sel.host}: healthy` : '', p.width)}</T>}
      </Text>
      <Text wrap="truncate">
        <T tone="dim">sort: </T>
        {p.sort}
        <T tone="dim">{'  filter: '}</T>
        {p.filtering ? <T tone="accent">/{p.filter}▏</T> : p.filter ? p.filter : <T tone="dim">(press /)</T>}
        <T tone="dim">{`  ${p.rows.length} rows`}</T>
      </Text>
    </Box>
  );
}
