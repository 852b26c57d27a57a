import type { Command } from 'commander';
import type { AgentClient } from '../../fleet/client.js';
import type { ArchivingFinding } from '../../core/plugin.js';
import { LifeboatError } from '../../core/errors.js';
import { paint, plural, WIDTH, wrap, wrapSql } from '../../client/format.js';
import { Exit, printJson, withAgent, type GlobalOptions } from '../session.js';
import { suggest, withGlobals, type Where } from '../../client/suggest.js';
import { fleetDocument, type FleetFlags } from '../../fleet/fleet.js';
import { addFleetOptions, FLEET_HELP, fleetFooter, runOnFleet, setFleetExit } from './hosts.js';

/** One line per finding (`ok`/`warn`/`FAIL`), then its fix; with `host`, the fix line names it too. */
function renderFindings(cluster: string, findings: ArchivingFinding[], g: Where, host?: string): string {
  const lines: string[] = [];
  for (const f of findings) {
    const mark = f.ok ? paint('ok  ', 'green') : f.level === 'warn' ? paint('warn', 'yellow') : paint('FAIL', 'red');
    lines.push(wrap(`${mark} ${cluster}: ${f.name}: ${withGlobals(host ? { ...g, host } : g, f.detail)}`, { indent: 5 }));
    if (!f.ok && f.fix) {
      const fix = wrapSql(f.fix, { first: `       ${host ? `${host}: ` : ''}fix: `, indent: 12 });
      const then = f.needs ? `(then ${f.needs === 'restart' ? 'restart PostgreSQL' : 'SELECT pg_reload_conf()'})` : '';
      if (then && fix.at(-1)!.length + 2 + then.length <= WIDTH) fix.push(`${fix.pop()}  ${then}`);
      else if (then) fix.push(`${' '.repeat(12)}${then}`);
      lines.push(...fix);
    }
  }
  return lines.join('\n');
}

export function registerCheck(program: Command, globals: () => GlobalOptions): void {
  addFleetOptions(
    program
      .command('check')
      .description('check WAL archiving: settings (each with its fix) and an end-to-end probe')
      .option('-c, --cluster <name>', 'cluster')
      .option('--probe-seconds <n>', 'how long to wait for the probe segment', (v) => Number.parseInt(v, 10), 60),
  )
    .addHelpText('after', FLEET_HELP)
    .action(async (o: { cluster?: string; probeSeconds: number } & FleetFlags) => {
      const g = globals();
      const call = (c: AgentClient) => c.call('check.cluster', { probeSeconds: o.probeSeconds, ...(o.cluster ? { cluster: o.cluster } : {}) });
      const fleet = await runOnFleet(g, o, (c) => call(c), (r) => r.ok);
      if (fleet) {
        if (g.json) printJson(fleetDocument(fleet));
        else {
          const parts: string[] = [];
          for (const f of fleet) {
            if (f.result) parts.push(renderFindings(`${f.host}: ${f.result.cluster}`, f.result.findings, g, f.host));
            else parts.push(`${paint('FAIL', 'red')} ${f.host}: no answer (below)`);
          }
          process.stdout.write(parts.join('\n') + '\n' + fleetFooter(fleet));
        }
        return setFleetExit(fleet);
      }
      const r = await withAgent(g, (c) => call(c));
      if (g.json) printJson(r);
      else process.stdout.write(renderFindings(r.cluster, r.findings, g) + '\n');
      if (!r.ok) process.exitCode = Exit.FAILED;
    });
  program
    .command('setup-archiving')
    .description('show the settings WAL archiving through lifeboat needs, then apply them (ALTER SYSTEM)')
    .option('-c, --cluster <name>', 'cluster')
    .option('-y, --yes', 'apply without asking (needed without a TTY)')
    .option('--dry-run', 'only show what would be applied')
    .option('--force', "replace an archive_command set for another tool, config or cluster; apply even if the server's OS user cannot use what it names")
    .action(async (o: { cluster?: string; yes?: boolean; dryRun?: boolean; force?: boolean }) => {
      const g = globals();
      await withAgent(g, async (c) => {
        const fixes = await c.call('check.fixes', o.cluster ? { cluster: o.cluster } : {});
        // archive_command would fail as the server's OS user: say what to change before anything is set
        const blockers = fixes.blockers ?? [];
        if (blockers.length) {
          process.stderr.write(`${renderFindings(fixes.cluster, blockers, g)}\n`);
          if (!o.force && !o.dryRun) {
            throw new LifeboatError('FILE_ACCESS', `archive_command would fail on ${fixes.cluster} as the server's OS user: ${blockers.map((f) => f.name).join(', ')} (above); nothing was changed`, {
              hint: 'change what the fix lines above say, then run setup-archiving again (--force applies the settings anyway)',
            });
          }
        }
        if (fixes.statements.length === 0) {
          const waiting = fixes.findings.filter((f) => f.pending !== undefined).map((f) => f.name);
          if (g.json) return printJson({ ok: true, applied: [], pendingRestart: waiting });
          process.stdout.write(
            wrap(
              waiting.length
                ? `${fixes.cluster}: archiving settings are set; ${waiting.join(', ')} take${waiting.length === 1 ? 's' : ''} effect only after a PostgreSQL restart. Restart it, then: ${suggest(g, 'check', '-c', fixes.cluster)}`
                : `${fixes.cluster}: archiving settings are already in place; run ${suggest(g, 'check', '-c', fixes.cluster)} for the end-to-end probe`,
              { indent: 2 },
            ) + '\n',
          );
          return;
        }
        const text = fixes.statements.flatMap((s) => wrapSql(s, { first: '  ', indent: 4 })).join('\n');
        const foreign = fixes.findings.filter((f) => f.replacesForeign && f.fix && fixes.statements.includes(f.fix));
        const replaces = foreign.map((f) => wrap(`It replaces ${f.name} ${f.detail}${o.force ? '' : ' (only with --force)'}.`, { indent: 2 }) + '\n').join('');
        if (!g.json || o.dryRun) process.stderr.write(`These settings will be changed on ${fixes.cluster}:\n${text}\n${replaces}${fixes.restartSettings?.length ? wrap(`${fixes.restartSettings.join(', ')}: in effect only after a PostgreSQL restart.`, { indent: 2 }) + '\n' : ''}`);
        if (o.dryRun) return g.json ? printJson({ ok: true, dryRun: true, statements: fixes.statements }) : undefined;
        if (foreign.length && !o.force) {
          throw new LifeboatError('CONFIRMATION_REQUIRED', `${foreign.map((f) => `${f.name} is ${f.detail}`).join('; ')}; replacing it stops that archiving`, {
            hint: 'make sure nothing else relies on it, then run again with --force',
          });
        }
        if (!o.yes) {
          if (!process.stdin.isTTY) throw new LifeboatError('CONFIRMATION_REQUIRED', 'changing server settings needs confirmation', { hint: 'review them (--dry-run), then run again with --yes' });
          const { createInterface } = await import('node:readline/promises');
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          const answer = await rl.question('Apply them? [y/N] ');
          rl.close();
          if (!/^y(es)?$/i.test(answer.trim())) throw new LifeboatError('CONFIRMATION_REQUIRED', 'not applied; nothing was changed');
        }
        const r = await c.call('check.apply', { statements: fixes.statements, ...(o.cluster ? { cluster: o.cluster } : {}) });
        if (g.json) return printJson({ ok: true, ...r });
        const waiting = r.pendingRestart ?? fixes.restartSettings ?? [];
        process.stdout.write(wrap(`applied ${plural(r.applied.length, 'setting')} and reloaded.${waiting.length ? ` Restart PostgreSQL for ${waiting.join(', ')} to take effect.` : ''} Then: ${suggest(g, 'check', '-c', fixes.cluster)}`, { indent: 2 }) + '\n');
      });
    });
}
