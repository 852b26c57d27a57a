import type { Command } from 'commander';
import type { Check } from '../../core/plugin.js';
import type { GcResult } from '../../agent/units/repo.js';
import type { JobRecord } from '../../agent/state.js';
import { LifeboatError } from '../../core/errors.js';
import { bytes, compactBytes, paint, table } from '../format.js';
import { Exit, printJson, runJobWithUi, withAgent, type GlobalOptions } from '../session.js';

export function registerAdmin(program: Command, globals: () => GlobalOptions): void {
  program
    .command('init')
    .description('write a starter agent config: one cluster and a local-directory repository')
    .requiredOption('-c, --cluster <name>', 'a name for the cluster, e.g. main')
    .requiredOption('--repo <dir>', 'directory for the repository (created 0700)')
    .option('-h, --host <host>', 'PostgreSQL host or socket dir (default: $PGHOST, libpq default)')
    .option('-p, --port <port>', 'port (default: $PGPORT, 5432)', (v) => Number.parseInt(v, 10))
    .option('-U, --user <user>', 'user (default: $PGUSER)')
    .option('-d, --database <db>', 'database to back up (default: $PGDATABASE, postgres)')
    .option('--command-prefix <cmd>', 'run pg tools through this, e.g. "docker exec -i pg" or "sudo -u postgres"')
    .option('--bindir <dir>', 'directory of pg_dump and friends')
    .option('--state-dir <dir>', 'where the agent keeps its job log and cache')
    .option('--force', 'replace a cluster of the same name')
    .addHelpText('after', '\nPasswords never go into the config: use ~/.pgpass or PGPASSFILE.\nThen: lifeboat config check && lifeboat backup --cluster NAME')
    .action(async (o) => {
      const g = globals();
      if (o.port !== undefined && Number.isNaN(o.port)) throw new LifeboatError('USAGE', '--port takes a number');
      const params: Record<string, unknown> = { cluster: o.cluster, repo: o.repo, force: !!o.force };
      for (const k of ['host', 'port', 'user', 'database', 'bindir', 'stateDir'] as const) if (o[k] !== undefined) params[k] = o[k];
      if (o.commandPrefix) params.commandPrefix = String(o.commandPrefix).split(' ').filter(Boolean);
      const res = await withAgent(g, (c) => c.call<{ path: string; created: boolean; cluster: string }>('config.init', params));
      if (g.json) return printJson({ ok: true, ...res });
      process.stdout.write(`${res.created ? 'wrote' : 'updated'} ${res.path} with cluster ${res.cluster}\nnext: lifeboat config check, then lifeboat backup --cluster ${res.cluster}\n`);
    });

  const config = program.command('config').description('check the agent config');
  config
    .command('check')
    .description('validate the config, connect to each cluster, test each repository')
    .option('-c, --cluster <name>', 'only this cluster')
    .action(async (o) => {
      const g = globals();
      const res = await withAgent(g, (c) => c.call<{ path: string; ok: boolean; clusters: { cluster: string; checks: Check[] }[] }>('config.check', o.cluster ? { cluster: o.cluster } : {}));
      if (g.json) printJson(res);
      else {
        process.stdout.write(`config ${res.path}\n`);
        for (const c of res.clusters) {
          for (const k of c.checks) process.stdout.write(`${k.ok ? paint('ok  ', 'green') : paint('FAIL', 'red')} ${c.cluster}: ${k.name}${k.detail ? `: ${k.detail}` : ''}\n`);
        }
      }
      if (!res.ok) process.exitCode = Exit.FAILED;
    });

  const repo = program.command('repo').description('repository maintenance');
  repo
    .command('reindex')
    .description("rebuild this agent's catalog cache from the repository")
    .option('-c, --cluster <name>', 'only this cluster')
    .action(async (o) => {
      const g = globals();
      const res = await withAgent(g, (c) => runJobWithUi<{ backups: number; invalid: number }>(c, g, 'reindex', o.cluster ? { cluster: o.cluster } : {}));
      if (g.json) return printJson({ ok: true, ...res });
      process.stdout.write(`catalog rebuilt: ${res.backups} backup(s)${res.invalid ? `, ${res.invalid} damaged manifest(s) not listed` : ''}\n`);
    });
  repo
    .command('gc')
    .description('remove objects that no manifest references (interrupted backups)')
    .option('-c, --cluster <name>', 'only this cluster')
    .option('--dry-run', 'list what would be removed')
    .action(async (o) => {
      const g = globals();
      const res = await withAgent(g, (c) => runJobWithUi<GcResult>(c, g, 'gc', { dryRun: !!o.dryRun, ...(o.cluster ? { cluster: o.cluster } : {}) }));
      if (g.json) return printJson({ ok: true, ...res });
      for (const r of res.removed) process.stdout.write(`${res.dryRun ? 'would remove' : 'removed'} ${r.key} (${bytes(r.size)})\n`);
      process.stdout.write(`${res.removed.length} object(s), ${bytes(res.bytes)}${res.dryRun ? ' would be removed (dry run)' : ' removed'}\n`);
    });

  program
    .command('jobs')
    .description('running and recent jobs of the agent')
    .action(async () => {
      const g = globals();
      const res = await withAgent(g, (c) => c.call<{ running: JobRecord[]; recent: JobRecord[] }>('jobs.list'));
      if (g.json) return printJson(res);
      // the job id starts with its UTC start time
      const rows = res.recent.slice(-20).map((j) => [j.id, j.type, j.cluster ?? '-', j.status, compactBytes(j.bytes), j.error?.message ?? '']);
      process.stdout.write(table([{ header: 'JOB (UTC start)' }, { header: 'TYPE' }, { header: 'CLUSTER', shrink: true }, { header: 'STATUS' }, { header: 'BYTES', align: 'right' }, { header: 'ERROR', shrink: true }], rows) + '\n');
    });
}
