import type { Command } from 'commander';
import { bytes, noun, paint, plural, wrap } from '../../client/format.js';
import { Exit, printJson, withAgent, type GlobalOptions } from '../session.js';
import { suggest } from '../../client/suggest.js';

/**
 * `wal verify` here; `wal push` and `wal fetch` are served by the light entry
 * (src/host/wal-main.ts) and only listed in the help.
 */
export function registerWal(program: Command, globals: () => GlobalOptions): void {
  const wal = program.command('wal').description('the WAL archive: push and fetch (for PostgreSQL), verify');
  wal.command('push').description("archive_command: lifeboat --config FILE wal push --cluster NAME %p").argument('<path>');
  wal.command('fetch').description('restore_command: lifeboat --config FILE wal fetch --cluster NAME %f %p').argument('<name>').argument('<dest>');
  wal
    .command('verify')
    .description('check that archived WAL runs without a gap from each physical backup, and read every archived object back against its sha256')
    .option('-c, --cluster <name>', 'cluster')
    .action(async (o) => {
      const g = globals();
      const r = await withAgent(g, (c) => c.call('wal.verify', o.cluster ? { cluster: o.cluster } : {}));
      if (g.json) printJson(r);
      else {
        const lines = [`cluster ${r.cluster}: ${plural(r.segments, 'archived segment')} on ${noun(r.timelines.length, 'timeline')} ${r.timelines.join(', ') || '-'}`];
        if (r.backups.length === 0) lines.push(`no physical backup: take one with ${suggest(g, 'backup', '-c', r.cluster, '--physical')}`);
        for (const b of r.backups) {
          lines.push(
            b.ok
              ? `${paint('ok  ', 'green')} ${b.id}: WAL continuous ${b.from} .. ${b.to} (${plural(b.segments ?? 0, 'segment')}, timeline ${b.timeline})`
              : `${paint('GAP ', 'red')} ${b.id}: segment ${b.gap} is missing; recovery from this backup stops before it`,
          );
        }
        const c = r.contents;
        for (const d of c.damaged) lines.push(`${paint('BAD ', 'red')} ${d.name}: ${d.problem}; recovery stops there (${d.key})`);
        lines.push(`contents: ${plural(c.objects, 'archived object')}, ${bytes(c.bytes)} read back and checked against the sha256 recorded at push: ${c.damaged.length ? `${c.damaged.length} damaged` : 'all intact'}`);
        process.stdout.write(lines.map((l) => wrap(l, { indent: 5 })).join('\n') + '\n');
      }
      if (!r.ok) process.exitCode = Exit.FAILED;
    });
}
