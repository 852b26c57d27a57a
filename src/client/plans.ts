/**
 * Plans as text, for both front ends: what a restore, a delete or expire, and a
 * point-in-time recovery will do, shown before it is done. The CLI prints the
 * full forms (within 80 columns, folded); the TUI's confirmation dialogs show
 * the short ones (one line each, its own layout folds them). Agent text in a
 * plan (notes, warnings, errors) goes through withGlobals for the CLI, so the
 * commands it suggests carry -H/--config and the fields it names are flags.
 *
 * @module
 */
import type { PitrPlan } from '../core/pitr.js';
import type { PlanResult, RetentionPlan } from '../protocol/index.js';
import { bytes, compactBytes, paint, plural, table, wrap } from './format.js';
import { withGlobals, type Where } from './suggest.js';

// ---- restore ----------------------------------------------------------------

/** `lifeboat restore` (--dry-run, and before --yes): numbered steps, notes, the no-safety-backup warning. */
export function renderRestorePlan(p: PlanResult, g: Where = {}): string {
  const lines = [wrap(`Restore plan: backup ${p.backup.id} (${p.backup.cluster}, ${p.backup.format ?? p.backup.kind}, taken ${p.backup.startedAt})`, { indent: 2 })];
  if (p.targetCluster && p.targetCluster !== p.backup.cluster) lines.push(`  into cluster ${p.targetCluster}`);
  let n = 1;
  const step = (text: string) => lines.push(wrap(`  ${n++}. ${text}`, { indent: 6 }));
  step("check the backup's checksums");
  if (p.safetyBackup) step(`back up database ${p.plan.targetDatabase} first (tag safety)`);
  for (const a of p.plan.actions) step(a.description);
  for (const w of p.plan.warnings) lines.push(wrap(`  note: ${withGlobals(g, w)}`, { indent: 8 }));
  if (p.plan.targetExists && !p.safetyBackup) lines.push(`  ${paint('warning', 'yellow', process.stderr)}: no safety backup (--no-safety-backup)`);
  return lines.join('\n');
}

/** The TUI's restore confirmation: one line each. */
export function restorePlanLines(r: PlanResult): string[] {
  const p = r.plan;
  return [
    `from database ${p.sourceDatabase} of ${r.backup.id} (${r.backup.kind}, ${bytes(r.backup.rawSize)})`,
    p.targetExists ? `database ${p.targetDatabase} exists${p.connectedSessions ? ` and has ${p.connectedSessions} sessions (they are ended)` : ''}` : `database ${p.targetDatabase} is created`,
    ...(r.safetyBackup && p.targetExists ? [`a safety backup of ${p.targetDatabase} is taken first`] : []),
    ...p.actions.map((a, i) => `${i + 1}. ${a.description}`),
    ...p.warnings.map((w) => `warning: ${w}`),
  ];
}

// ---- delete and expire ------------------------------------------------------

/** `lifeboat expire` and `delete`: policy, what goes and what stays (tables), WAL, notes, bytes freed. */
export function renderRetentionPlan(p: RetentionPlan, g: Where = {}): string {
  const out: string[] = [];
  const verb = p.applied ? 'removed' : 'would remove';
  const policy =
    p.policy === 'explicit'
      ? 'the named backups'
      : [p.policy.keepPhysical && `newest ${p.policy.keepPhysical} physical`, p.policy.keepLogical && `newest ${p.policy.keepLogical} logical`, p.policy.keepDays && `${p.policy.keepDays} days`]
          .filter(Boolean)
          .join(', ');
  out.push(wrap(`Retention for cluster ${p.cluster} (keep: ${policy})`, { indent: 2 }));
  if (p.remove.length) {
    out.push(`${p.applied ? 'Removed' : 'Remove'} ${plural(p.remove.length, 'backup')}:`);
    out.push(table([{ header: 'BACKUP' }, { header: 'KIND' }, { header: 'TAG' }, { header: 'SIZE', align: 'right' }, { header: 'WHY', wrap: true }], p.remove.map((b) => [b.id, b.kind, b.tag, compactBytes(b.storedSize), b.reason])));
  } else out.push('No backup goes.');
  if (p.keep.length) {
    out.push(`Keep ${plural(p.keep.length, 'backup')}:`);
    out.push(table([{ header: 'BACKUP' }, { header: 'KIND' }, { header: 'TAG' }, { header: 'WHY', wrap: true }], p.keep.map((b) => [b.id, b.kind, b.tag, b.reason])));
  }
  if (p.wal.count) out.push(wrap(`WAL: ${verb} ${plural(p.wal.count, 'file')}, ${p.wal.first} .. ${p.wal.last} (${bytes(p.wal.bytes)}); kept from ${p.wal.keepFrom}, which the oldest kept physical backup needs.`, { indent: 5 }));
  else if (p.wal.keepFrom) out.push(wrap(`WAL: nothing goes; the oldest kept physical backup needs WAL from ${p.wal.keepFrom}.`, { indent: 5 }));
  for (const n of p.notes) out.push(wrap(`note: ${withGlobals(g, n)}`, { indent: 6 }));
  out.push(`${p.applied ? 'Freed' : 'Would free'} ${bytes(p.bytes)}.${p.applied ? '' : p.dryRun ? ' (dry run: nothing was changed)' : ''}`);
  return out.join('\n');
}

/** The TUI's delete confirmation: one line each. */
export function deletePlanLines(plan: RetentionPlan): string[] {
  return [
    ...plan.remove.map((r) => `remove ${r.id} (${r.kind}, ${r.tag}, ${bytes(r.storedSize)}): ${r.reason}`),
    plan.wal.count ? `remove ${plan.wal.count} WAL files (${bytes(plan.wal.bytes)}) no kept backup needs: ${plan.wal.first} … ${plan.wal.last}` : 'no WAL is removed',
    ...plan.notes,
    `frees ${bytes(plan.bytes)}`,
  ];
}

// ---- point-in-time recovery -------------------------------------------------

function describeTarget(p: PitrPlan): string {
  const t = p.target;
  const what = t.kind === 'time' ? `time ${t.time}` : t.kind === 'lsn' ? `LSN ${t.lsn}` : t.kind === 'xid' ? `transaction ${t.xid}` : t.kind === 'name' ? `restore point "${t.name}"` : t.kind === 'latest' ? 'the end of the archived WAL' : 'the first consistent point of the base backup';
  const incl = t.kind === 'latest' || t.kind === 'immediate' ? '' : p.inclusive ? ' (inclusive)' : ' (exclusive: stop just before)';
  return what + incl;
}

/**
 * A recovery plan within 80 columns: each field and step folds with a hanging
 * indent (paths, settings and a verify query's rows are long; nothing is cut).
 */
export function renderPitrPlan(p: PitrPlan, g: Where = {}): string {
  const field = (name: string, value: string) => wrap(`  ${`${name}:`.padEnd(14)}${value}`, { indent: 16 });
  const lines = [
    wrap(`Recovery plan ${p.id} for cluster ${p.cluster}`, { indent: 2 }),
    field('target', `${describeTarget(p)}, then ${p.action}`),
    field('base backup', p.backupId),
    field('WAL', `${p.wal.from} .. ${p.wal.to} (${plural(p.wal.segments, 'segment')} archived without a gap, timeline ${p.wal.timeline})`),
    field('restore into', `${p.dataDir} on port ${p.port} (${p.mode})`),
    '  steps:',
  ];
  p.steps.forEach((s, i) => {
    const mark = s.status === 'done' ? paint('done', 'green') : s.status === 'failed' ? paint('FAILED', 'red') : s.status === 'running' ? paint('running', 'yellow') : 'pending';
    lines.push(wrap(`    ${i + 1}. [${mark}] ${s.name}: ${s.description}`, { indent: 7 }));
    const about = (name: string, value: string | undefined) => value && lines.push(wrap(`       ${`${name}:`.padEnd(8)}${value}`, { indent: 15 }));
    about('needs', s.precondition);
    about('result', s.detail);
    about('error', s.error && withGlobals(g, s.error));
  });
  return lines.join('\n');
}
