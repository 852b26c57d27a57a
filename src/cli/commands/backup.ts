import type { Command } from 'commander';
import { LifeboatError } from '../../core/errors.js';
import type { JobParamsOf } from '../../protocol/index.js';
import { bytes, duration, plural, wrap } from '../../client/format.js';
import { printJson, runJobWithUi, startDetached, withAgent, type GlobalOptions } from '../session.js';

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerBackup(program: Command, globals: () => GlobalOptions): void {
  program
    .command('backup')
    .description('take a backup of a cluster into its repository')
    .option('-c, --cluster <name>', 'cluster from the config (optional when there is one)')
    .option('--logical', 'logical backup with pg_dump (the default)')
    .option('--physical', 'physical base backup of the whole cluster (pg_basebackup, tar stream with WAL)')
    .option('-F, --format <format>', 'custom | plain | directory (default from config: custom)')
    .option('-d, --database <name>', 'database to dump (default: the cluster\'s database)')
    .option('--all-databases', 'every database plus globals (roles, tablespaces)')
    .option('--schema-only', 'definitions only, no data')
    .option('--data-only', 'data only, no definitions')
    .option('-t, --table <name>', 'only this table (schema.table; repeatable)', collect, [])
    .option('-n, --schema <name>', 'only this schema (repeatable)', collect, [])
    .option('--compression <algo>', 'zstd | gzip | none (default: zstd)')
    .option('--level <n>', 'compression level (zstd -7..22, default 1; gzip 1-9, default 6)', (v) => Number.parseInt(v, 10))
    .option('--tag <tag>', 'daily | weekly | monthly | yearly | pre-migration | manual')
    .option('--label <text>', 'free text shown in list and show (no control characters)')
    .option('--detach', 'start the backup and print its job id at once (follow it with lifeboat jobs attach ID)')
    .addHelpText(
      'after',
      `
Examples:
  lifeboat backup --cluster main            custom format, zstd, whole database
  lifeboat backup -c main --tag daily --label nightly
  lifeboat backup -c main -t public.orders -t public.customers
  lifeboat backup -c main --all-databases   every database + roles
  lifeboat backup -c main --format plain --compression gzip --level 6

The dump streams from pg_dump through compression and a sha256 tee into the
repository; the manifest is written last, so an interrupted backup is never
listed. Ctrl-C cancels the backup. A dropped connection does not: the backup
goes on on the agent's host, and lifeboat jobs attach ID follows it again.`,
    )
    .action(async (o) => {
      const g = globals();
      if (o.physical && o.logical) throw new LifeboatError('USAGE', 'choose one of --logical and --physical');
      // --data-only and --schema-only combine with --table or --schema (as in pg_dump); the rest exclude each other
      const only = o.dataOnly && o.schemaOnly ? 'both' : o.dataOnly ? 'data' : o.schemaOnly ? 'schema' : undefined;
      if (only === 'both') throw new LifeboatError('USAGE', 'choose one of --data-only and --schema-only');
      const selected = o.table.length || o.schema.length;
      const scopes = [o.allDatabases && 'all', !selected && only && `${only}-only`, o.table.length && 'tables', o.schema.length && 'schemas'].filter(Boolean);
      if (scopes.length > 1 || (o.allDatabases && only)) {
        throw new LifeboatError('USAGE', `choose one of --all-databases, --table, --schema, each with --data-only or --schema-only or not (got ${[...scopes, only && `${only}-only`].filter(Boolean).join(', ')})`);
      }
      const params: JobParamsOf<'backup'> = { kind: o.physical ? 'physical' : 'logical', scope: scopes[0] ?? 'database', tables: o.table, schemas: o.schema, ...(selected && only ? { only } : {}) };
      if (o.cluster) params.cluster = o.cluster;
      if (o.format) params.format = o.format;
      if (o.database) params.database = o.database;
      if (o.tag) params.tag = o.tag;
      if (o.label) params.label = o.label;
      if (o.compression || o.level !== undefined) {
        const algorithm = o.compression ?? 'zstd';
        if (o.level !== undefined && Number.isNaN(o.level)) throw new LifeboatError('USAGE', '--level takes a number');
        params.compression = { algorithm, ...(o.level !== undefined ? { level: o.level } : {}) };
      }
      if (o.detach) return void (await withAgent(g, (client) => startDetached(client, g, 'backup', params)));
      const res = await withAgent(g, (client) => runJobWithUi(client, g, 'backup', params));
      if (g.json) return printJson({ ok: true, backup: res });
      const what = res.kind === 'physical' ? `physical, WAL ${res.wal?.start}..${res.wal?.stop} on timeline ${res.wal?.timeline}` : `${res.databases.join(', ')}`;
      const line = `backup ${res.id} of ${res.cluster} done in ${duration(res.durationMs)}: ${what} (${res.format ?? 'tar'}, ${bytes(res.rawSize)} raw, ${bytes(res.storedSize)} stored, ${plural(res.objects, 'object')})`;
      process.stdout.write(wrap(line, { indent: 2 }) + '\n');
    });
}
