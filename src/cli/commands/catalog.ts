import type { Command } from 'commander';
import type { AgentClient } from '../../fleet/client.js';
import type { BackupSummary, ClusterStatus, InvalidBackup, WalStatus } from '../../protocol/index.js';
import type { Manifest, Verification } from '../../core/manifest.js';
import type { RecoverableWindow } from '../../core/pitr.js';
import { age, bytes, compactBytes, duration, paint, plural, printable, table, WIDTH, wrap, wrapCommand } from '../../client/format.js';
import { Exit, printJson, withAgent, type GlobalOptions } from '../session.js';
import type { FleetFlags } from '../../fleet/fleet.js';
import { addFleetOptions, FLEET_HELP, fleetFooter, hostDownCell, runOnFleet, setFleetExit } from './hosts.js';
import { fleetDocument } from '../../fleet/fleet.js';
import { parseId } from '../args.js';
import { suggest, type Where } from '../../client/suggest.js';

const LEVEL_SHORT: Record<string, string> = { checksum: 'sum', structure: 'str', restore: 'rst' };

/** `ok rst`, `FAIL sum` or `-`: at most 8 characters. */
export function verificationCell(v: BackupSummary['verification']): string {
  if (!v) return paint('-', 'dim');
  const level = LEVEL_SHORT[v.level] ?? v.level;
  return v.ok ? paint(`ok ${level}`, 'green') : paint(`FAIL ${level}`, 'red');
}

export function registerCatalog(program: Command, globals: () => GlobalOptions): void {
  addFleetOptions(
    program
      .command('list')
      .description('list backups (logical and physical share one catalog)')
      .option('-c, --cluster <name>', 'only this cluster'),
  )
    .addHelpText('after', FLEET_HELP)
    .action(async (o: { cluster?: string } & FleetFlags) => {
      const g = globals();
      const call = (c: AgentClient) => c.call('catalog.list', o.cluster ? { cluster: o.cluster } : {});
      const fleet = await runOnFleet(g, o, (c) => call(c));
      if (fleet) {
        if (g.json) printJson(fleetDocument(fleet));
        else {
          for (const f of fleet) if (f.result) printInvalid(f.result.invalid, f.host);
          const rows: string[][] = [];
          for (const f of fleet) {
            if (!f.result) rows.push([f.host, hostDownCell(f.error!), '', '', '', '', '', '']);
            else if (!f.result.backups.length) rows.push([f.host, paint('no backups yet', 'dim'), '', '', '', '', '', '']);
            else rows.push(...listRows(f.result.backups).map((r) => [f.host, ...r.slice(0, 6), r[7]!]));
          }
          process.stdout.write(
            table(
              [{ header: 'HOST', shrink: true }, { header: 'ID (UTC start)' }, { header: 'KIND' }, { header: 'AGE', align: 'right' }, { header: 'TAG LABEL', shrink: true }, { header: 'RAW', align: 'right' }, { header: 'STORED', align: 'right' }, { header: 'VERIFIED' }],
              rows,
            ) + '\n',
          );
          process.stdout.write(fleetFooter(fleet));
        }
        return setFleetExit(fleet);
      }
      // with the listing, where point-in-time recovery reaches (from the repository's WAL, as pgbackrest info shows)
      const res = await withAgent(g, async (c) => {
        const listing = await call(c);
        const windows: RecoverableWindow[] = [];
        if (!g.json) {
          for (const cl of [...new Set(listing.backups.filter((b) => b.kind === 'physical').map((b) => b.cluster))]) {
            windows.push(await c.call('pitr.window', { cluster: cl }).catch(() => ({ cluster: cl, now: '', spans: [], gaps: 0 })));
          }
        }
        return { ...listing, windows };
      });
      if (g.json) return printJson({ backups: res.backups, invalid: res.invalid });
      printInvalid(res.invalid);
      if (res.backups.length === 0) {
        process.stdout.write(`no backups yet. Take one with: ${suggest(g, 'backup', '--cluster', o.cluster ?? 'NAME')}\n`);
        return;
      }
      process.stdout.write(
        table(
          [
            { header: 'ID (UTC start)' },
            { header: 'KIND' },
            { header: 'AGE', align: 'right' },
            { header: 'TAG LABEL', shrink: true },
            { header: 'RAW', align: 'right' },
            { header: 'STORED', align: 'right' },
            { header: 'TOOK', align: 'right' },
            { header: 'VERIFIED' },
          ],
          listRows(res.backups),
          Math.max(80, Math.min(process.stdout.columns ?? 80, 160)),
        ) + '\n',
      );
      for (const w of res.windows) {
        const last = w.spans.at(-1);
        const t = (iso: string) => iso.slice(0, 16).replace('T', ' ');
        const text = last
          ? `${w.cluster}: WAL archived up to ${last.lastSegment}${w.newestSegmentAt ? ` (${t(w.newestSegmentAt)} UTC)` : ''}; point-in-time recovery from ${t(last.from)} to ${t(last.to)} UTC${last.gap ? `, up to a gap: ${last.gap.segment} is missing` : ''}${w.gaps > 1 ? `; ${plural(w.gaps, 'gap')} in all (lifeboat wal verify)` : ''}`
          : `${w.cluster}: no archived WAL reaches from a physical backup yet`;
        process.stdout.write(wrap(text, { indent: 2 }) + '\n');
      }
    });

  program
    .command('show')
    .description('show a backup\'s whole manifest and its verification history')
    .argument('<id>', 'backup id, a unique prefix of one, or "latest"', parseId)
    .option('-c, --cluster <name>', 'cluster (when ids are ambiguous)')
    .action(async (id: string, o) => {
      const g = globals();
      const res = await withAgent(g, (c) => c.call('catalog.show', { id, ...(o.cluster ? { cluster: o.cluster } : {}) }));
      if (g.json) return printJson(res);
      process.stdout.write(renderManifest(res.manifest, res.verifications, g));
    });

  addFleetOptions(
    program
      .command('status')
      .description('per cluster: newest backup and its age, counts by tag, sizes; exit 1 when too old')
      .option('-c, --cluster <name>', 'only this cluster'),
  )
    .addHelpText(
      'after',
      '\nExit code 1 when a cluster has no backup, its newest backup is older than\nmaxBackupAgeHours (default 26 h), or WAL archiving fails now (STATE WAL), so\ncron jobs and monitors can use it. A WAL line per cluster shows the archiver\n(last segment, failures) and the recoverable window.\nWith --all/--group a host with a stale cluster counts as a failed host.' + FLEET_HELP,
    )
    .action(async (o: { cluster?: string } & FleetFlags) => {
      const g = globals();
      const call = async (c: AgentClient) => {
        const clusters = await c.call('catalog.status', o.cluster ? { cluster: o.cluster } : {});
        return { ok: clusters.every((s) => s.ok), clusters };
      };
      const fleet = await runOnFleet(g, o, (c) => call(c), (r) => r.ok);
      if (fleet) {
        if (g.json) printJson(fleetDocument(fleet));
        else {
          const rows: string[][] = [];
          for (const f of fleet) {
            if (!f.result) rows.push([f.host, '-', hostDownCell(f.error!), '-', '-', '-', '-', '-']);
            else if (!f.result.clusters.length) rows.push([f.host, '-', paint('none', 'yellow'), '-', '-', '-', '-', '-']);
            else rows.push(...f.result.clusters.map((s) => [f.host, ...statusRow(s, true)]));
          }
          process.stdout.write(
            table([{ header: 'HOST', shrink: true }, { header: 'CLUSTER', shrink: true }, { header: 'STATE' }, { header: 'NEWEST' }, { header: 'AGE', align: 'right' }, { header: 'BY TAG', wrap: true }, { header: 'REPO', align: 'right' }, { header: 'VERIFIED' }], rows) + '\n',
          );
          for (const f of fleet) for (const s of f.result?.clusters ?? []) if (s.problem) process.stdout.write(wrap(`${f.host}: ${s.cluster}: ${s.problem}`, { indent: 2 }) + '\n');
          for (const f of fleet) for (const s of f.result?.clusters ?? []) if (s.wal) process.stdout.write(wrap(`${f.host}: ${s.cluster}: ${walLine(s.wal)}`, { indent: 2 }) + '\n');
          process.stdout.write(fleetFooter(fleet));
        }
        return setFleetExit(fleet);
      }
      const res = (await withAgent(g, (c) => call(c))).clusters;
      if (g.json) printJson({ ok: res.every((s) => s.ok), clusters: res });
      else {
        const rows = res.map((s) => statusRow(s, false));
        process.stdout.write(
          table([{ header: 'CLUSTER', shrink: true }, { header: 'STATE' }, { header: 'NEWEST' }, { header: 'AGE', align: 'right' }, { header: 'BY TAG', wrap: true }, { header: 'REPO', align: 'right' }, { header: 'VERIFIED' }], rows) + '\n',
        );
        for (const s of res) if (s.problem) process.stdout.write(wrap(`${s.cluster}: ${s.problem}`, { indent: 2 }) + '\n');
        for (const s of res) if (s.wal) process.stdout.write(wrap(`${s.cluster}: ${walLine(s.wal)}`, { indent: 2 }) + '\n');
      }
      if (!res.every((s) => s.ok)) process.exitCode = Exit.FAILED;
    });
}

/** `WAL: archiving on, last 0000000100000000000000A3 2 min ago, 0 failed; recoverable 2026-12-01 03:00 .. 2026-12-04 02:20` */
function walLine(w: WalStatus): string {
  const when = (iso: string) => `${age((Date.now() - Date.parse(iso)) / 3.6e6)} ago`;
  const parts: string[] = [];
  if (w.serverError) parts.push(`archiving unknown (${printable(w.serverError)})`);
  else if (w.archiveMode === 'off') parts.push('archiving off');
  else if (w.archiver) {
    const a = w.archiver;
    const last = a.lastArchivedWal ? `last ${a.lastArchivedWal}${a.lastArchivedAt ? ` ${when(a.lastArchivedAt)}` : ''}` : 'nothing archived yet';
    const failed = a.failedCount ? `${plural(a.failedCount, 'failure')}${a.lastFailedWal ? ` (last ${a.lastFailedWal}${a.lastFailedAt ? ` ${when(a.lastFailedAt)}` : ''})` : ''}` : 'no failures';
    parts.push(`archiving ${a.failingNow ? paint('FAILING', 'red') : 'on'}, ${last}, ${failed}`);
  }
  if (w.recoverable) {
    const t = (iso: string) => iso.slice(0, 16).replace('T', ' ');
    parts.push(`recoverable ${t(w.recoverable.from)} .. ${t(w.recoverable.to)} UTC${w.recoverable.gap ? ` (ends at a gap: ${w.recoverable.gap} missing)` : ''}`);
  } else if (w.archiveMode && w.archiveMode !== 'off') parts.push('no point-in-time recovery yet (take a physical backup)');
  return `WAL: ${parts.join('; ') || 'nothing known'}`;
}

/** One `list` row: ID, KIND, AGE, TAG LABEL, RAW, STORED, TOOK, VERIFIED. */
function listRows(backups: BackupSummary[]): string[][] {
  const multi = new Set(backups.map((b) => b.cluster)).size > 1;
  const now = Date.now();
  return backups.map((b) => [
    b.id,
    b.kind === 'logical' ? 'log' : 'phy',
    age((now - Date.parse(b.finishedAt)) / 3_600_000),
    printable([multi ? `${b.cluster}:` : '', b.pinned ? `${b.tag},pinned` : b.tag, b.label ?? ''].filter(Boolean).join(' ')),
    compactBytes(b.rawSize),
    compactBytes(b.storedSize),
    duration(b.durationMs),
    verificationCell(b.verification),
  ]);
}

/** One `status` row: CLUSTER, STATE, NEWEST, AGE, BY TAG, REPO, VERIFIED (compact: "ok 2h" instead of "ok 2h ago"). */
function statusRow(s: ClusterStatus, compact: boolean): string[] {
  const v = s.lastVerification;
  return [
    s.cluster,
    s.ok ? paint('ok', 'green') : s.wal?.archiver?.failingNow && s.wal.archiveMode !== 'off' ? paint('WAL', 'red') : paint('STALE', 'red'),
    s.latest ? s.latest.id : '-',
    age(s.ageHours),
    Object.entries(s.byTag).map(([t, n]) => `${t}:${n}`).join(' ') || '-',
    compact ? compactBytes(s.repositoryBytes) : bytes(s.repositoryBytes),
    v ? (v.ok ? paint(`ok ${age((Date.now() - Date.parse(v.at)) / 3.6e6)}${compact ? '' : ' ago'}`, 'green') : paint('FAILED', 'red')) : '-',
  ];
}

function printInvalid(invalid: InvalidBackup[], host?: string): void {
  for (const i of invalid) {
    process.stderr.write(`lifeboat: ${paint('warning', 'yellow', process.stderr)}: ${host ? `${host}: ` : ''}backup ${i.cluster}/${i.id} is not listed: ${printable(i.error)}\n`);
  }
}

const indented = (text: string) => text.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');

/** The manifest as readable text. */
export function renderManifest(m: Manifest, verifications: Verification[], g: Where = {}): string {
  const lines: string[] = [];
  const kv = (k: string, v: string | number | undefined) => lines.push(wrap(`${(k + ':').padEnd(16)}${v === undefined ? '-' : printable(String(v))}`, { indent: 16 }));
  kv('backup', m.id);
  kv('cluster', m.cluster);
  kv('kind', m.kind + (m.logical ? ` (${m.logical.format} format, scope ${m.logical.scope.kind})` : ''));
  kv('tag', m.tag + (m.pinned ? ', pinned' : ''));
  if (m.label) kv('label', m.label);
  kv('started', `${m.startedAt} (took ${duration(m.durationMs)})`);
  kv('host', m.host);
  kv('server', `PostgreSQL ${m.server.version}, system id ${m.server.systemIdentifier}`);
  kv('size', `${bytes(m.rawSize)} raw, ${bytes(m.storedSize)} stored`);
  kv('compression', `${m.compression.algorithm}${m.compression.level !== undefined ? ` level ${m.compression.level}` : ''}`);
  kv('encryption', m.encryption.mode);
  kv('made by', `${m.plugin.name} plugin ${m.plugin.version}, lifeboat ${m.lifeboatVersion}${m.logical ? `, ${m.logical.tool}` : ''}`);
  if (m.logical) {
    if (m.logical.scope.tables?.length) kv('tables', m.logical.scope.tables.join(', '));
    if (m.logical.scope.schemas?.length) kv('schemas', m.logical.scope.schemas.join(', '));
    if (m.logical.scope.only) kv('only', m.logical.scope.only === 'data' ? 'data (no definitions)' : 'definitions (no data)');
    if (m.logical.globals) kv('globals', m.logical.globals);
    for (const db of m.logical.databases) {
      lines.push('', wrap(`database ${printable(db.name)}: ${plural(db.tableCount, 'table')}${db.largeObjects !== undefined ? `, ${plural(db.largeObjects, 'large object')}` : ''}${db.countsInSnapshot ? ', row counts in the dump snapshot' : ''}`, { indent: 2 }));
      const rows = Object.entries(db.rowCounts).map(([t, n]) => [t, String(n)]);
      // names are up to 63+63 characters: wrapped in their column, never cut
      if (rows.length) lines.push(indented(table([{ header: 'TABLE', wrap: true }, { header: 'ROWS', align: 'right' }], rows.map(([t, n]) => [printable(t!), n!]), WIDTH - 2)));
    }
  }
  if (m.physical) {
    const ph = m.physical;
    kv('timeline', ph.timeline);
    kv('LSN', `${ph.startLsn} .. ${ph.stopLsn}`);
    kv('WAL', `from ${ph.walStart} (segment size ${bytes(ph.walSegmentSize)}); recovery needs WAL from there on`);
    if (ph.dataDirectory) kv('data directory', ph.dataDirectory);
    if (ph.tablespaces.length) kv('tablespaces', ph.tablespaces.map((t) => `${t.oid} ${t.location}`).join(', '));
  }
  lines.push('', 'objects:');
  lines.push(
    indented(
      table(
        [{ header: 'NAME', wrap: true }, { header: 'STORED', align: 'right' }, { header: 'RAW', align: 'right' }, { header: 'SHA256' }],
        m.objects.map((o) => [printable(o.name), bytes(o.size), bytes(o.rawSize), o.sha256.slice(0, 16) + '…']),
        WIDTH - 2,
      ),
    ),
  );
  lines.push('', 'verifications:');
  if (verifications.length === 0) lines.push('  none yet; verify it with:', ...wrapCommand(suggest(g, 'verify', m.id), { indent: '    ' }));
  for (const v of verifications) {
    const verdict = v.ok ? paint('ok', 'green') : v.inconclusive ? paint('could not verify', 'yellow') : paint('FAILED', 'red');
    lines.push(wrap(`  ${v.finishedAt}  ${v.level.padEnd(9)} ${verdict}${v.error ? `  ${printable(v.error)}` : ''}`, { indent: 4 }));
  }
  return lines.join('\n') + '\n';
}
