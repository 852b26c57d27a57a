import React from 'react';
import { Box, Text } from 'ink';
import { age, bytes, compactBytes, duration, shortTime } from '../../client/format.js';
import type { BackupGroups } from '../state/selectors.js';
import type { BackupSummary, ClusterViewState } from '../state/model.js';
import { cell, Rule, T } from './common.js';
import { TimeBar } from './timebar.js';

export interface ClusterViewProps {
  view: ClusterViewState;
  groups: BackupGroups;
  width: number;
  height: number;
  now: number;
}

type Line = { kind: 'tag'; tag: string; count: number } | { kind: 'backup'; b: BackupSummary; index: number };

/** Display lines `start..start+height` of the grouped list (a tag heading before each group) without building all of them. */
export function groupedLines(g: BackupGroups, cursor: number, height: number): Line[] {
  const total = g.ordered.length + g.groups.length;
  const groupsBefore = g.groups.filter((x) => x.start <= cursor).length;
  const cursorLine = cursor + groupsBefore;
  const start = total <= height ? 0 : Math.max(0, Math.min(total - height, cursorLine - Math.floor(height / 2)));
  const out: Line[] = [];
  let line = 0;
  for (const grp of g.groups) {
    if (line + 1 + grp.count <= start) {
      line += 1 + grp.count;
      continue;
    }
    if (line >= start && out.length < height) out.push({ kind: 'tag', tag: grp.tag, count: grp.count });
    line++;
    const first = Math.max(0, start - line);
    line += first;
    for (let i = first; i < grp.count && out.length < height; i++, line++) out.push({ kind: 'backup', b: g.ordered[grp.start + i]!, index: grp.start + i });
    if (out.length >= height) break;
  }
  return out;
}

function verifiedText(b: BackupSummary): { text: string; tone?: 'ok' | 'bad' | 'dim' } {
  const v = b.verification;
  if (!v) return { text: '-', tone: 'dim' };
  const lvl = v.level.slice(0, 3);
  return v.ok ? { text: `ok ${lvl}`, tone: 'ok' } : { text: `FAIL ${lvl}`, tone: 'bad' };
}

function detailLines(view: ClusterViewState, b: BackupSummary | undefined, now: number): { text: string; tone?: 'ok' | 'bad' | 'dim' | 'warn' }[] {
  if (!b) return [{ text: view.backups.loading ? 'loading backups…' : view.backups.error ? `could not list backups: ${view.backups.error.message}` : 'no backups yet: press b to take one', tone: view.backups.error ? 'bad' : 'dim' }];
  const d = view.details[b.id];
  const m = d?.data?.manifest;
  const out: { text: string; tone?: 'ok' | 'bad' | 'dim' | 'warn' }[] = [];
  out.push({ text: `${b.id}  ${b.kind}, tag ${b.tag}${b.pinned ? ', pinned' : ''}${b.label ? `, "${b.label}"` : ''}` });
  out.push({ text: `started ${shortTime(b.startedAt)} (${age((now - Date.parse(b.finishedAt)) / 3.6e6)} ago), took ${duration(b.durationMs)}, ${bytes(b.rawSize)} raw, ${bytes(b.storedSize)} stored` });
  if (b.wal) out.push({ text: `LSN ${b.wal.start} → ${b.wal.stop}, timeline ${b.wal.timeline}${m?.physical ? `, WAL ${m.physical.walStart} … ${m.physical.walStop}` : ''}` });
  if (b.databases.length) out.push({ text: `databases: ${b.databases.join(', ')}` });
  if (m) {
    out.push({ text: `PostgreSQL ${m.server.version}, ${m.compression.algorithm}, encryption ${m.encryption.mode}, ${m.objects.length} object${m.objects.length === 1 ? '' : 's'}:` });
    for (const o of m.objects.slice(0, 3)) out.push({ text: `  ${o.name}  ${compactBytes(o.size)}  sha256 ${o.sha256.slice(0, 16)}…`, tone: 'dim' });
    if (m.objects.length > 3) out.push({ text: `  … ${m.objects.length - 3} more`, tone: 'dim' });
    const v = d!.data!.verifications;
    if (!v.length) out.push({ text: 'never verified: press v', tone: 'warn' });
    for (const x of v.slice(-3).reverse()) {
      const verdict = x.ok ? 'ok' : `${x.inconclusive ? 'could not verify' : 'FAILED'}${x.error ? ` ${x.error}` : ''}`;
      out.push({ text: `verified ${shortTime(x.finishedAt)} ${x.level}: ${verdict}`, tone: x.ok ? 'ok' : x.inconclusive ? 'warn' : 'bad' });
    }
  } else if (d?.error) out.push({ text: `manifest: ${d.error.message}`, tone: 'bad' });
  else out.push({ text: 'reading the manifest…', tone: 'dim' });
  return out;
}

/** One cluster: the recoverable window, backups grouped by tag, details of the selected one. */
export function ClusterView(p: ClusterViewProps): React.ReactElement {
  const v = p.view;
  const detailH = Math.max(4, Math.floor((p.height - 5) / 2));
  const listH = Math.max(2, p.height - 5 - detailH - 1);
  const lines = groupedLines(p.groups, v.cursor, listH);
  const sel = p.groups.ordered[v.cursor];
  const idW = 21;
  const ends = (v.backups.data?.backups ?? []).filter((b) => b.kind === 'physical').map((b) => Date.parse(b.finishedAt));
  return (
    <Box flexDirection="column" height={p.height}>
      <TimeBar window={v.window.data} loading={v.window.loading} error={v.window.error?.message} backupEnds={ends} width={p.width} now={p.now} />
      <Text wrap="truncate">
        <T tone="dim">{cell(`  ${cell('ID (UTC start)', idW)} KIND  AGE    STORED TOOK    VERIFIED  `, p.width)}</T>
      </Text>
      <Box flexDirection="column" height={listH}>
        {lines.map((l) =>
          l.kind === 'tag' ? (
            <Text key={`tag-${l.tag}`} wrap="truncate">
              <T tone="accent" bold>
                {cell(`${l.tag} (${l.count})`, p.width)}
              </T>
            </Text>
          ) : (
            <Text key={l.b.id} wrap="truncate">
              {l.b.pinned ? <T tone="warn">⚑ </T> : '  '}
              <T inverse={l.index === v.cursor} bold={l.index === v.cursor}>
                {cell(l.b.id, idW)}
              </T>{' '}
              {cell(l.b.kind === 'physical' ? 'phy' : 'log', 5)} {cell(age((p.now - Date.parse(l.b.finishedAt)) / 3.6e6), 6)} {cell(compactBytes(l.b.storedSize), 6, 'right')} {cell(duration(l.b.durationMs), 7)} <T tone={verifiedText(l.b).tone}>{cell(verifiedText(l.b).text, 9)}</T>
            </Text>
          ),
        )}
        {!lines.length ? <T tone={v.backups.error ? 'bad' : 'dim'}>{v.backups.loading ? '  loading…' : v.backups.error ? `  ${v.backups.error.message}` : '  no backups yet: press b to take one'}</T> : null}
      </Box>
      <Rule title={sel ? `backup ${sel.id}` : 'details'} width={p.width} />
      <Box flexDirection="column" height={detailH}>
        {detailLines(v, sel, p.now)
          .slice(0, detailH)
          .map((l, i) => (
            <Text key={i} wrap="truncate">
              <T tone={l.tone}>{l.text}</T>
            </Text>
          ))}
      </Box>
    </Box>
  );
}
