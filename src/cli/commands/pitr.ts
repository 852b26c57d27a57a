import type { Command } from 'commander';
import { renderPitrPlan } from '../../client/plans.js';
import { PITR_CANDIDATE_KINDS, type PitrCandidateKind } from '../../core/pitr.js';
import type { ParamsOf, PitrTargetsResult } from '../../protocol/index.js';
import { LifeboatError } from '../../core/errors.js';
import { paint, plural, wrap, wrapCommand, wrapLines } from '../../client/format.js';
import { confirmTyped, printJson, runJobWithUi, showBeforeApplying, startDetached, withAgent, type GlobalOptions } from '../session.js';
import { parsePort, parseId } from '../args.js';
import { suggest, withGlobals, type Where } from '../../client/suggest.js';



export function registerPitr(program: Command, globals: () => GlobalOptions): void {
  program
    .command('restore-point')
    .description('create a named restore point to recover to later (before a migration, say)')
    .argument('<name>', 'the name (at most 63 characters)')
    .option('-c, --cluster <name>', 'cluster')
    .action(async (name: string, o) => {
      const g = globals();
      const r = await withAgent(g, (c) => c.call('pitr.restorePoint', { name, ...(o.cluster ? { cluster: o.cluster } : {}) }));
      if (g.json) return printJson({ ok: true, ...r });
      process.stdout.write(`restore point "${r.name}" of ${r.cluster} at ${r.lsn}; recover to it with:\n${wrapCommand(suggest(g, 'pitr', 'plan', '-c', r.cluster, '--name', r.name), { indent: '  ' }).join('\n')}\n`);
    });

  const pitr = program.command('pitr').description('point-in-time recovery: plan, then apply step by step');
  registerPitrTargets(pitr, globals);
  pitr
    .command('plan')
    .description('choose the base backup, prove the WAL covers it, list the steps (read-only)')
    .option('-c, --cluster <name>', 'cluster')
    .option('--time <time>', "recover to this time, with its zone: '2026-11-21 09:30:00+00', ...Z, ...-05:30")
    .option('--lsn <lsn>', 'recover to this WAL location')
    .option('--xid <xid>', 'recover to this transaction')
    .option('--name <name>', 'recover to this restore point (lifeboat restore-point NAME)')
    .option('--latest', 'recover to the end of the archived WAL')
    .option('--immediate', 'stop as soon as the base backup is consistent')
    .option('--exclusive', 'stop just before the target instead of just after it')
    .option('--action <action>', 'promote | pause | shutdown at the target', 'promote')
    .option('--to-datadir <dir>', 'restore side by side into this directory (the running server is left alone)')
    .option('--port <port>', 'port of the side-by-side server', parsePort)
    .option('--backup <id>', 'use this base backup instead of the newest one before the target')
    .option('--verify-query <sql>', 'the verify step also runs this query on the recovered server and shows its rows')
    .addHelpText(
      'after',
      `
Examples:
  lifeboat pitr plan -c main --time '2026-11-21 09:30:00+00' \\
      --to-datadir /srv/pg/copy --port 5433
  lifeboat pitr plan -c main --name before-migration
  lifeboat pitr apply PLAN --yes          walk every step
  lifeboat pitr apply PLAN --step 3       run one step (the ones before done)`,
    )
    .action(async (o) => {
      const g = globals();
      const params: ParamsOf<'pitr.plan'> = { inclusive: !o.exclusive, action: o.action };
      for (const k of ['cluster', 'time', 'lsn', 'xid', 'name', 'toDatadir', 'port', 'backup', 'verifyQuery'] as const) if (o[k] !== undefined) params[k] = o[k];
      if (o.latest) params.latest = true;
      if (o.immediate) params.immediate = true;
      const plan = await withAgent(g, (c) => c.call('pitr.plan', params));
      if (g.json) return printJson({ ok: true, plan });
      process.stdout.write(renderPitrPlan(plan, g) + `\n\nNothing was changed. Apply with:\n${wrapCommand(suggest(g, 'pitr', 'apply', plan.id, '--yes'), { indent: '  ' }).join('\n')}\n`);
    });
  pitr
    .command('show')
    .description('a plan and how far its steps got')
    .argument('<plan>', 'plan id', parseId)
    .action(async (id: string) => {
      const g = globals();
      const plan = await withAgent(g, (c) => c.call('pitr.show', { plan: id }));
      if (g.json) return printJson({ ok: true, plan });
      process.stdout.write(renderPitrPlan(plan, g) + '\n');
    });
  pitr
    .command('apply')
    .description('walk a plan: every pending step, or one with --step (resumes where it stopped)')
    .argument('<plan>', 'plan id', parseId)
    .option('--step <n>', 'run only step N', (v) => Number.parseInt(v, 10))
    .option('--through <n>', 'run the pending steps up to and including N (e.g. restore, inspect, then go on)', (v) => Number.parseInt(v, 10))
    .option('-y, --yes', 'no typed confirmation (needed without a TTY)')
    .option('--detach', 'start the job and print its id at once (lifeboat jobs attach ID follows it)')
    .action(async (id: string, o) => {
      const g = globals();
      await withAgent(g, async (c) => {
        const plan = await c.call('pitr.show', { plan: id });
        if (o.step !== undefined && Number.isNaN(o.step)) throw new LifeboatError('USAGE', '--step takes a number');
        if (o.through !== undefined && Number.isNaN(o.through)) throw new LifeboatError('USAGE', '--through takes a number');
        showBeforeApplying(g, renderPitrPlan(plan, g), o.yes);
        await confirmTyped(plan.cluster, `recovery of ${plan.cluster} into ${plan.dataDir}`, o.yes);
        const jobParams = { plan: plan.id, ...(o.step !== undefined ? { step: o.step } : {}), ...(o.through !== undefined ? { through: o.through } : {}) };
        if (o.detach) return void (await startDetached(c, g, 'pitr', jobParams));
        const done = await runJobWithUi(c, g, 'pitr', jobParams);
        if (g.json) return printJson({ ok: true, plan: done });
        process.stdout.write(renderPitrPlan(done, g) + '\n');
      });
    });
}

// ---------------------------------------------------------------------------
// lifeboat pitr targets: where could a recovery stop?

/** `2026-11-21T10:03:44.284942Z` → `11-21 10:03:44` (UTC; the year is in --json). */
function utcShort(iso: string | undefined): string {
  if (!iso) return '-';
  const m = /^\d{4}-(\d\d-\d\d)T(\d\d:\d\d:\d\d)/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso.slice(0, 14);
}

export function renderPitrTargets(r: PitrTargetsResult, g: Where = {}): string {
  const out: string[] = [];
  const rg = r.range;
  const why = { backup: 'since the newest backup', from: 'from --from on', 'newest-segments': 'the newest only', 'archive-start': 'from the archive start' }[rg.startedAt];
  if (rg.segments === 0) out.push(`Cluster ${r.cluster}, timeline ${rg.timeline}: no archived WAL in this range.`);
  else {
    out.push(wrap(`Cluster ${r.cluster}, timeline ${rg.timeline}: ${plural(rg.segments, 'WAL segment')} read, ${why}`, { indent: 2 }));
    out.push(`  ${rg.from} .. ${rg.to}, ${r.records} records`);
    if (rg.backup) out.push(`  older WAL (before backup ${rg.backup}) not read: see --from`);
  }
  out.push('');
  if (r.candidates.length === 0) {
    out.push('No candidates found. Widen the search with --from/--to, --kinds all');
    out.push('or a lower --min-rows.');
  } else {
    const kindW = Math.max(4, ...r.candidates.map((c) => c.kind.length));
    const xidW = Math.max(3, ...r.candidates.map((c) => (c.xid ?? '').length));
    const lead = 14 + 2 + kindW + 2 + xidW + 2;
    const whatW = Math.max(20, 80 - lead);
    out.push(paint(`${'UTC TIME'.padEnd(14)}  ${'KIND'.padEnd(kindW)}  ${'XID'.padEnd(xidW)}  WHAT`, 'bold'));
    for (const c of r.candidates) {
      const what = c.kind === 'restore-point' ? `"${c.name}"${c.timeApprox ? ' (time approx.)' : ''}` : c.summary;
      const [first, ...more] = wrapLines(what, { width: whatW });
      const line = `${utcShort(c.time).padEnd(14)}  ${c.kind.padEnd(kindW)}  ${(c.xid ?? '').padEnd(xidW)}  ${first}`;
      out.push(c.destructive ? paint(line, 'yellow') : line);
      for (const m of more) out.push(`${' '.repeat(lead)}${m}`);
      if (c.command) {
        out.push(...wrapCommand(withGlobals(g, c.command), { indent: '    ' }));
      } else if (c.note?.includes('no physical backup')) out.push('    (no base backup ends before it: recovery cannot reach it)');
    }
    out.push('');
    out.push('Each command plans a recovery to just before (for restore points and');
    out.push('commits: just after) that point; nothing changes until pitr apply.');
    out.push('Add --to-datadir DIR --port P to recover side by side.');
  }
  if (r.omitted > 0) out.push(`${plural(r.omitted, 'older candidate')} not shown (--limit).`);
  return out.join('\n');
}

export function registerPitrTargets(pitr: Command, globals: () => GlobalOptions): void {
  pitr
    .command('targets')
    .description('find where to stop: restore points, DROP/TRUNCATE, mass DELETE/UPDATE in archived WAL')
    .option('-c, --cluster <name>', 'cluster')
    .option('--from <time>', "only from this time on, e.g. '2026-11-21 14:00+01' (default: the newest physical backup)")
    .option('--to <time>', 'only up to this time')
    .option('--relation <name>', 'only candidates touching this table (schema.table or table)')
    .option('--kinds <list>', `comma-separated: ${PITR_CANDIDATE_KINDS.join(', ')}, or all (default: all but commit)`)
    .option('--min-rows <n>', 'rows one transaction must delete/update in one table to be a burst', (v) => Number.parseInt(v, 10), 1000)
    .option('--limit <n>', 'show the newest N candidates', (v) => Number.parseInt(v, 10), 50)
    .option('--max-segments <n>', 'read at most the newest N WAL segments of the range', (v) => Number.parseInt(v, 10), 256)
    .option('--timeline <n>', 'follow this timeline (default: the newest archived)', (v) => Number.parseInt(v, 10))
    .addHelpText(
      'after',
      `
Reads archived WAL (pg_waldump over segments fetched from the repository and
checked against their sha256) and lists candidate recovery targets, oldest
first, each destructive one with the exact 'pitr plan' command that stops just
before it. Table names come from the live catalog and from the map each
physical backup records; a table created after the newest backup and dropped
since shows as a storage id (tablespace/database/file).

Kinds: restore-point, drop (DROP TABLE), truncate, rewrite (ALTER TABLE /
VACUUM FULL / CLUSTER replaced the files), delete-burst / update-burst (one
transaction changed >= --min-rows rows of one table), drop-database, and with
--kinds commit every commit (use with --relation and --limit).

Examples:
  lifeboat pitr targets -c main
  lifeboat pitr targets -c main --from '2026-11-21 14:00+01' \\
      --to '2026-11-21 14:10+01'
  lifeboat pitr targets -c main --relation app.orders --kinds all --limit 20
  lifeboat pitr targets -c main --json          structured, for scripts`,
    )
    .action(async (o) => {
      const g = globals();
      const params: ParamsOf<'pitr.targets'> = {};
      for (const k of ['cluster', 'from', 'to', 'relation'] as const) if (o[k] !== undefined) params[k] = o[k];
      for (const [k, flag] of [['minRows', '--min-rows'], ['limit', '--limit'], ['maxSegments', '--max-segments'], ['timeline', '--timeline']] as const) {
        if (o[k] === undefined) continue;
        if (!Number.isInteger(o[k]) || o[k] < 1) throw new LifeboatError('USAGE', `${flag} takes a positive whole number`);
        params[k] = o[k];
      }
      if (o.kinds !== undefined) {
        const list = String(o.kinds).split(',').map((s) => s.trim()).filter(Boolean);
        const bad = list.filter((k) => k !== 'all' && !(PITR_CANDIDATE_KINDS as readonly string[]).includes(k));
        if (bad.length || list.length === 0) throw new LifeboatError('USAGE', `--kinds: unknown kind ${bad.join(', ') || '(none given)'}`, { hint: `kinds: ${PITR_CANDIDATE_KINDS.join(', ')}, all` });
        params.kinds = list.includes('all') ? [...PITR_CANDIDATE_KINDS] : (list as PitrCandidateKind[]); // each checked above
      }
      for (const k of ['from', 'to'] as const) {
        if (o[k] !== undefined && Number.isNaN(Date.parse(o[k]))) throw new LifeboatError('USAGE', `--${k} ${o[k]} is not a time`, { hint: "use ISO 8601 with a zone, e.g. '2026-11-21 14:05:00+01'" });
      }
      const r = await withAgent(g, (c) => c.call('pitr.targets', params));
      if (g.json) return printJson({ ok: true, ...r });
      for (const w of r.warnings) process.stderr.write(`${paint('warn', 'yellow', process.stderr)}: ${w}\n`);
      process.stdout.write(renderPitrTargets(r, g) + '\n');
    });
}
