import type { Command } from 'commander';
import { renderRetentionPlan } from '../../client/plans.js';
import type { ParamsOf } from '../../protocol/index.js';
import { LifeboatError } from '../../core/errors.js';
import { bytes, plural } from '../../client/format.js';
import { confirmTyped, printJson, runJobWithUi, showBeforeApplying, withAgent, type GlobalOptions } from '../session.js';
import { parseId } from '../args.js';


async function planThenApply(g: GlobalOptions, params: ParamsOf<'retention.plan'>, o: { dryRun?: boolean; yes?: boolean }): Promise<void> {
  await withAgent(g, async (c) => {
    const plan = await c.call('retention.plan', { ...params, dryRun: true });
    // a pinned backup named for delete: the plan shows it kept; doing it goes on to the agent's refusal
    if (o.dryRun || (plan.remove.length === 0 && plan.wal.count === 0 && !plan.pinnedRefused?.length)) {
      if (g.json) printJson({ ok: true, plan });
      else process.stdout.write(renderRetentionPlan(plan, g) + '\n');
      return;
    }
    showBeforeApplying(g, renderRetentionPlan(plan, g), o.yes);
    await confirmTyped(plan.cluster, `removing ${plural(plan.remove.length, 'backup')} and ${plural(plan.wal.count, 'WAL file')} of ${plan.cluster}`, o.yes);
    const done = await runJobWithUi(c, g, 'expire', { ...params, cluster: plan.cluster, dryRun: false });
    if (g.json) printJson({ ok: true, plan: done });
    else process.stdout.write(`removed ${plural(done.remove.length, 'backup')} and ${plural(done.wal.count, 'WAL file')}, ${bytes(done.bytes)} freed\n`);
  });
}

export function registerRetention(program: Command, globals: () => GlobalOptions): void {
  program
    .command('expire')
    .description('apply the retention policy: remove old backups, and WAL no kept backup needs')
    .option('-c, --cluster <name>', 'cluster')
    .option('--keep-physical <n>', 'keep the newest N physical backups', (v) => Number.parseInt(v, 10))
    .option('--keep-logical <n>', 'keep the newest N logical backups', (v) => Number.parseInt(v, 10))
    .option('--keep-days <d>', 'keep every backup younger than D days', Number.parseFloat)
    .option('--dry-run', 'show exactly what would go, change nothing')
    .option('-y, --yes', 'do not ask (needed without a TTY)')
    .addHelpText(
      'after',
      `
Options left out come from the cluster's "retention" config. Pinned backups
always stay. WAL goes only when it lies before the WAL start of the oldest
physical backup that stays, so every kept base backup keeps its PITR range;
timeline history files always stay. With no physical backup left, WAL stays.

  lifeboat expire -c main --keep-physical 2 --keep-logical 7 --dry-run
  lifeboat expire -c main --yes           # policy from the config (cron)`,
    )
    .action(async (o) => {
      const g = globals();
      const params: ParamsOf<'retention.plan'> = {};
      if (o.cluster) params.cluster = o.cluster;
      for (const [k, v] of [['keepPhysical', o.keepPhysical], ['keepLogical', o.keepLogical], ['keepDays', o.keepDays]] as const) {
        if (v === undefined) continue;
        if (!Number.isFinite(v) || v <= 0) throw new LifeboatError('USAGE', `--${k.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase())} takes a positive number`);
        params[k] = v;
      }
      await planThenApply(g, params, o);
    });

  program
    .command('delete')
    .description('remove backups by id (and WAL no remaining backup needs)')
    .argument('<backup...>', 'backup ids (or unique prefixes)', (v: string, prev: string[] = []) => [...prev, parseId(v)])
    .option('-c, --cluster <name>', 'cluster')
    .option('--dry-run', 'show exactly what would go, change nothing')
    .option('--force', 'also remove pinned backups')
    .option('-y, --yes', 'do not ask (needed without a TTY)')
    .action(async (ids: string[], o) => {
      const g = globals();
      await planThenApply(g, { backups: ids, force: !!o.force, ...(o.cluster ? { cluster: o.cluster } : {}) }, o);
    });

  for (const [name, pinned] of [['pin', true], ['unpin', false]] as const) {
    program
      .command(name)
      .description(pinned ? 'keep a backup whatever the retention policy says' : 'let retention remove a pinned backup again')
      .argument('<backup>', 'backup id (or unique prefix)', parseId)
      .option('-c, --cluster <name>', 'cluster')
      .action(async (backup: string, o) => {
        const g = globals();
        const r = await withAgent(g, (c) => c.call('backup.pin', { backup, pinned, ...(o.cluster ? { cluster: o.cluster } : {}) }));
        if (g.json) return printJson({ ok: true, ...r });
        process.stdout.write(`${r.id} of ${r.cluster} is ${r.pinned ? 'pinned: retention keeps it' : 'no longer pinned'}\n`);
      });
  }
}
