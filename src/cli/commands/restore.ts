import type { Command } from 'commander';
import { renderRestorePlan } from '../../client/plans.js';
import type { ParamsOf } from '../../protocol/index.js';
import { paint, wrap } from '../../client/format.js';
import { confirmTyped, Exit, printJson, runJobWithUi, showBeforeApplying, startDetached, withAgent, type GlobalOptions } from '../session.js';
import { parseId } from '../args.js';
import { noun } from '../../core/text.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerRestore(program: Command, globals: () => GlobalOptions): void {
  program
    .command('restore')
    .description('restore a logical backup into a database (plan first, then apply)')
    .argument('<id>', 'backup id, a unique prefix of one, or "latest"', parseId)
    .requiredOption('--to-database <name>', 'database to restore into')
    .option('-c, --cluster <name>', 'cluster the backup is of (when ids are ambiguous)')
    .option('--to-cluster <name>', 'restore into another configured cluster (another server); its catalog gets the safety backup')
    .option('--with-globals', 'first create the roles and tablespaces the backup carries that the target lacks')
    .option('-d, --database <name>', 'source database inside an --all-databases backup')
    .option('--clean', 'replace the target database if it exists (after a safety backup)')
    .option('-t, --table <name>', 'restore only this table (repeatable)', collect, [])
    .option('-n, --schema <name>', 'restore only this schema (repeatable)', collect, [])
    .option('--dry-run', 'print the plan and stop')
    .option('-y, --yes', 'apply without the typed confirmation (needed without a TTY)')
    .option('--no-safety-backup', 'do not back up an existing target before replacing it')
    .option('--no-owner', 'do not set owners: objects belong to the restoring role (pg_restore --no-owner)')
    .option('--no-privileges', 'do not restore grants (pg_restore --no-privileges)')
    .option('--data-only', 'load rows into the existing tables of an existing database (appended; with --clean, replaced)')
    .option('--detach', 'start the job and print its id at once (lifeboat jobs attach ID follows it)')
    .addHelpText(
      'after',
      `
Every restore is a plan first: what is created, dropped and terminated. Before
anything destructive, checksums of the backup are checked and an existing target
database is backed up (tag "safety"). After the restore, row counts are compared
with the manifest.

Examples:
  lifeboat restore latest --to-database app_copy
  lifeboat restore 20261121-0845 --to-database app --clean --dry-run
  lifeboat restore 20261121-0845 --to-database scratch -t public.orders --yes
  lifeboat restore latest --to-cluster standby --to-database app --with-globals`,
    )
    .action(async (id: string, o) => {
      const g = globals();
      const params: ParamsOf<'restore.plan'> = {
        id,
        toDatabase: o.toDatabase,
        clean: !!o.clean,
        tables: o.table,
        schemas: o.schema,
        safetyBackup: o.safetyBackup !== false,
        ...(o.owner === false ? { noOwner: true } : {}),
        ...(o.dataOnly ? { dataOnly: true } : {}),
        ...(o.toCluster ? { toCluster: o.toCluster } : {}),
        ...(o.withGlobals ? { withGlobals: true } : {}),
        ...(o.privileges === false ? { noPrivileges: true } : {}),
        ...(o.cluster ? { cluster: o.cluster } : {}),
        ...(o.database ? { database: o.database } : {}),
      };
      await withAgent(g, async (client) => {
        const planned = await client.call('restore.plan', params);
        if (o.dryRun) {
          if (g.json) return printJson({ ok: true, dryRun: true, ...planned });
          process.stdout.write(renderRestorePlan(planned, g) + '\nDry run: nothing was changed.\n');
          return;
        }
        showBeforeApplying(g, renderRestorePlan(planned, g), o.yes);
        const what = planned.plan.dataOnly
          ? `loading rows into ${planned.plan.tables.length} ${noun(planned.plan.tables.length, 'table')} of ${planned.plan.targetDatabase}${planned.plan.clean ? ' (replaces their rows)' : ''}`
          : `restoring into ${planned.plan.targetDatabase}${planned.plan.targetExists ? ' (replaces it)' : ''}`;
        await confirmTyped(planned.plan.targetDatabase, what, o.yes);
        if (o.detach) return void (await startDetached(client, g, 'restore', params));
        const res = await runJobWithUi(client, g, 'restore', params);
        const ok = res.checks.every((c) => c.ok);
        if (g.json) printJson({ ok, restore: res });
        else {
          for (const c of res.checks) process.stdout.write(wrap(`${c.ok ? paint('ok  ', 'green') : paint('DIFF', 'red')} ${c.name}${c.detail ? `: ${c.detail}` : ''}`, { indent: 5 }) + '\n');
          process.stdout.write(wrap(`restored backup ${planned.backup.id} into ${planned.plan.targetDatabase}${res.safetyBackupId ? ` (safety backup: ${res.safetyBackupId})` : ''}`, { indent: 2 }) + '\n');
        }
        if (!ok) process.exitCode = Exit.PARTIAL;
      });
    });
}

