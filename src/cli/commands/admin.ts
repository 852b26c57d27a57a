import type { Command } from 'commander';
import type { ParamsOf } from '../../protocol/index.js';
import { LifeboatError, toLifeboatError } from '../../core/errors.js';
import { bytes, compactBytes, paint, plural, table, wrap, wrapCommand } from '../../client/format.js';
import { attachJobWithUi, Exit, printJson, runJobWithUi, withAgent, type GlobalOptions } from '../session.js';
import { parsePort } from '../args.js';
import { suggest } from '../../client/suggest.js';

export function registerAdmin(program: Command, globals: () => GlobalOptions): void {
  program
    .command('init')
    .description('write a starter agent config: one cluster and a local-directory repository')
    .requiredOption('-c, --cluster <name>', 'a name for the cluster, e.g. main')
    .requiredOption('--repo <dir>', 'directory for the repository (created 0700)')
    .option('-h, --host <host>', 'PostgreSQL host or socket dir (default: $PGHOST, libpq default)')
    .option('-p, --port <port>', 'port (default: $PGPORT, 5432)', parsePort)
    .option('-U, --user <user>', 'user (default: $PGUSER)')
    .option('-d, --database <db>', 'database to back up (default: $PGDATABASE, postgres)')
    .option('--command-prefix <cmd>', 'run pg tools through this, e.g. "docker exec -i pg" or "sudo -u postgres"')
    .option('--bindir <dir>', 'directory of pg_dump and friends')
    .option('--state-dir <dir>', 'where the agent keeps its job log and cache')
    .option('--force', 'replace a cluster of the same name')
    .addHelpText('after', '\nPasswords never go into the config: use ~/.pgpass or PGPASSFILE.\nThen: lifeboat config check && lifeboat backup --cluster NAME')
    .action(async (o) => {
      const g = globals();
      const params: ParamsOf<'config.init'> = { cluster: o.cluster, repo: o.repo, force: !!o.force };
      for (const k of ['host', 'port', 'user', 'database', 'bindir', 'stateDir'] as const) if (o[k] !== undefined) (params as Record<string, unknown>)[k] = o[k];
      if (o.commandPrefix) params.commandPrefix = String(o.commandPrefix).split(' ').filter(Boolean);
      const res = await withAgent(g, (c) => c.call('config.init', params));
      if (g.json) return printJson({ ok: true, ...res });
      const next = [`next: ${suggest(g, 'config', 'check')}`, `then: ${suggest(g, 'backup', '--cluster', res.cluster)}`].flatMap((c) => wrapCommand(c, { indent: '' }));
      process.stdout.write(`${wrap(`${res.created ? 'wrote' : 'updated'} ${res.path} with cluster ${res.cluster}`, { indent: 2 })}\n${next.join('\n')}\n`);
    });

  const config = program.command('config').description('check the agent config');
  config
    .command('check')
    .description('validate the config, connect to each cluster, test each repository')
    .option('-c, --cluster <name>', 'only this cluster')
    .action(async (o) => {
      const g = globals();
      const res = await withAgent(g, (c) => c.call('config.check', o.cluster ? { cluster: o.cluster } : {}));
      if (g.json) printJson(res);
      else {
        process.stdout.write(`config ${res.path}\n`);
        for (const c of res.clusters) {
          for (const k of c.checks) process.stdout.write(wrap(`${k.ok ? paint('ok  ', 'green') : paint('FAIL', 'red')} ${c.cluster}: ${k.name}${k.detail ? `: ${k.detail}` : ''}`, { indent: 5 }) + '\n');
        }
      }
      if (!res.ok) process.exitCode = Exit.FAILED;
    });

  const repo = program.command('repo').description('repository maintenance');
  repo
    .command('init')
    .description("create a cluster's repository (its identity file lifeboat.json); nothing is written into a repository without one")
    .option('-c, --cluster <name>', 'the cluster whose repository to create')
    .action(async (o) => {
      const g = globals();
      const res = await withAgent(g, (c) => c.call('repo.init', o.cluster ? { cluster: o.cluster } : {}));
      if (g.json) return printJson({ ok: true, ...res });
      process.stdout.write(`repository ${res.repository} ready at ${res.where}\n`);
    });
  repo
    .command('reindex')
    .description("rebuild this agent's catalog cache from the repository")
    .option('-c, --cluster <name>', 'only this cluster')
    .action(async (o) => {
      const g = globals();
      const res = await withAgent(g, (c) => runJobWithUi(c, g, 'reindex', o.cluster ? { cluster: o.cluster } : {}));
      if (g.json) return printJson({ ok: true, ...res });
      process.stdout.write(`catalog rebuilt: ${plural(res.backups, 'backup')}${res.invalid ? `, ${plural(res.invalid, 'damaged manifest')} not listed` : ''}\n`);
    });
  repo
    .command('gc')
    .description('remove objects no manifest references (interrupted backups), unfinished uploads and killed jobs\' temp dirs')
    .option('-c, --cluster <name>', 'only this cluster')
    .option('--dry-run', 'list what would be removed')
    .action(async (o) => {
      const g = globals();
      const res = await withAgent(g, (c) => runJobWithUi(c, g, 'gc', { dryRun: !!o.dryRun, ...(o.cluster ? { cluster: o.cluster } : {}) }));
      if (g.json) return printJson({ ok: true, ...res });
      const verb = res.dryRun ? 'would remove' : 'removed';
      for (const r of res.removed) process.stdout.write(wrap(`${verb} ${r.key} (${bytes(r.size)})`, { indent: 2 }) + '\n');
      for (const t of res.tempDirs) process.stdout.write(wrap(`${verb} temp dir ${t.path} of a killed job (${bytes(t.size)})`, { indent: 2 }) + '\n');
      const dirs = res.tempDirs.length ? `, ${plural(res.tempDirs.length, 'temp dir')}` : '';
      process.stdout.write(`${plural(res.removed.length, 'object')}${dirs}, ${bytes(res.bytes)}${res.dryRun ? ' would be removed (dry run)' : ' removed'}\n`);
    });

  const listJobs = async () => {
    const g = globals();
    const res = await withAgent(g, (c) => c.call('jobs.list'));
    if (g.json) return printJson(res);
    if (!res.recent.length) return void process.stdout.write('no jobs yet\n');
    // the job id starts with its UTC start time
    const rows = res.recent.slice(-20).map((j) => [j.id, j.type, j.cluster ?? '-', j.status, compactBytes(j.bytes), j.error?.message ?? '']);
    process.stdout.write(table([{ header: 'JOB (UTC start)' }, { header: 'TYPE' }, { header: 'CLUSTER', shrink: true }, { header: 'STATUS' }, { header: 'BYTES', align: 'right' }, { header: 'ERROR', shrink: true }], rows) + '\n');
  };
  const jobs = program
    .command('jobs')
    .description('running and recent jobs of the agent (list, attach, cancel)')
    .addHelpText(
      'after',
      `
Jobs (backup, verify, restore, pitr apply, gc, ...) run on the agent's host in
a detached runner: a dropped SSH connection or a closed terminal doesn't stop
them.
  lifeboat jobs                     same as: lifeboat jobs list
  lifeboat -H db1 jobs attach ID    follow a job again (progress resumes)
  lifeboat -H db1 jobs cancel ID    cancel it; a cancelled backup keeps nothing
Status: running, succeeded, failed, cancelled, or crashed (its runner was
killed: nothing it wrote is listed; lifeboat repo gc removes the leftovers).`,
    )
    .action(listJobs);
  jobs.command('list').description('running and recent jobs (the last 20; --json: 50)').action(listJobs);
  jobs
    .command('attach')
    .description('follow a job: replays its last log lines and progress, then follows it to the end')
    .argument('<id>', 'job id (see lifeboat jobs list)')
    .option('--tail <n>', 'log lines to replay first (default 20)', (v) => Number.parseInt(v, 10))
    .option('--all', 'replay every recorded log line')
    .addHelpText('after', '\nThe exit code is the job\'s: 0 when it succeeded, else that of its error.\nCtrl-C leaves the job running (use jobs cancel to stop it).')
    .action(async (id: string, o: { tail?: number; all?: boolean }) => {
      const g = globals();
      if (o.tail !== undefined && (Number.isNaN(o.tail) || o.tail < 0)) throw new LifeboatError('USAGE', '--tail takes a number of lines, 0 or more');
      const opts = o.all ? { fromEvent: 0 } : o.tail !== undefined ? { tail: o.tail } : {};
      const result = await withAgent(g, (c) => attachJobWithUi(c, g, id, opts));
      if (g.json) return printJson({ ok: true, jobId: id, result });
      const r = (result ?? {}) as { id?: string; cluster?: string };
      process.stdout.write(`job ${id} succeeded${r.id ? `: ${r.id}${r.cluster ? ` of ${r.cluster}` : ''}` : ''}\n`);
    });
  jobs
    .command('cancel')
    .description('cancel a running job (from any connection) and wait until it has stopped')
    .argument('<id>', 'job id (see lifeboat jobs list)')
    .addHelpText('after', '\nA cancelled backup deletes what it wrote and is never listed. A cancelled\nrestore leaves its target database incomplete.')
    .action(async (id: string) => {
      const g = globals();
      const end = await withAgent(g, async (c) => {
        await c.call('job.cancel', { jobId: id });
        try {
          await c.attachJob(id, {}, { tail: 0 });
          return { status: 'succeeded' as const }; // it finished before the cancel reached it
        } catch (err) {
          const e = toLifeboatError(err);
          return { status: e.code === 'CANCELLED' ? ('cancelled' as const) : ('failed' as const), error: e };
        }
      });
      if (g.json) return printJson({ ok: end.status === 'cancelled', jobId: id, status: end.status, ...(end.error ? { error: end.error.toJSON() } : {}) });
      if (end.status === 'cancelled') process.stdout.write(`job ${id} cancelled: ${end.error!.message}\n`);
      else {
        process.stdout.write(`job ${id} ended ${end.status} before the cancel took effect${end.error ? `: ${end.error.message}` : ''}\n`);
        process.exitCode = Exit.FAILED;
      }
    });
}
