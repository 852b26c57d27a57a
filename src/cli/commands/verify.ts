import type { Command } from 'commander';
import { paint, plural, wrap } from '../../client/format.js';
import { printJson, runJobWithUi, startDetached, withAgent, type GlobalOptions } from '../session.js';
import { parseId } from '../args.js';

export function registerVerify(program: Command, globals: () => GlobalOptions): void {
  program
    .command('verify')
    .description('verify a backup; the result is stored in the repository')
    .argument('<id>', 'backup id, a unique prefix of one, or "latest"', parseId)
    .option('-c, --cluster <name>', 'cluster (when ids are ambiguous)')
    .option('-l, --level <level>', 'checksum | structure | restore', 'checksum')
    .option('--detach', 'start the job and print its id at once (lifeboat jobs attach ID follows it)')
    .addHelpText(
      'after',
      `
Levels (each includes the ones before it):
  checksum   re-read every object; compare size and sha256 with the manifest
  structure  pg_restore --list and a full decode (custom/directory), or the
             dump's header and trailer (plain)
  restore    load into a scratch database on the same server, compare table
             count and per-table row counts with the manifest, drop it again`,
    )
    .action(async (id: string, o) => {
      const g = globals();
      const params = { id, level: o.level, ...(o.cluster ? { cluster: o.cluster } : {}) };
      if (o.detach) return void (await withAgent(g, (c) => startDetached(c, g, 'verify', params)));
      const v = await withAgent(g, (c) => runJobWithUi(c, g, 'verify', params));
      if (g.json) return printJson({ ok: true, verification: v });
      process.stdout.write(wrap(`backup ${v.backupId}: ${paint('verified', 'green')} at level ${v.level} (${plural(v.checks.length, 'check')} passed)`, { indent: 2 }) + '\n');
    });
}
