import type { Command } from 'commander';
import type { PitrPlan } from '../../core/pitr.js';
import { LifeboatError } from '../../core/errors.js';
import { paint } from '../format.js';
import { confirmTyped, printJson, runJobWithUi, withAgent, type GlobalOptions } from '../session.js';

function describeTarget(p: PitrPlan): string {
  const t = p.target;
  const what = t.kind === 'time' ? `time ${t.time}` : t.kind === 'lsn' ? `LSN ${t.lsn}` : t.kind === 'xid' ? `transaction ${t.xid}` : t.kind === 'name' ? `restore point "${t.name}"` : t.kind === 'latest' ? 'the end of the archived WAL' : 'the first consistent point of the base backup';
  const incl = t.kind === 'latest' || t.kind === 'immediate' ? '' : p.inclusive ? ' (inclusive)' : ' (exclusive: stop just before)';
  return what + incl;
}

export function renderPitrPlan(p: PitrPlan): string {
  const lines = [
    `Recovery plan ${p.id} for cluster ${p.cluster}`,
    `  target:       ${describeTarget(p)}, then ${p.action}`,
    `  base backup:  ${p.backupId}`,
    `  WAL:          ${p.wal.from} .. ${p.wal.to} (${p.wal.segments} segments archived without a gap, timeline ${p.wal.timeline})`,
    `  restore into: ${p.dataDir} on port ${p.port} (${p.mode})`,
    '  steps:',
  ];
  p.steps.forEach((s, i) => {
    const mark = s.status === 'done' ? paint('done', 'green') : s.status === 'failed' ? paint('FAILED', 'red') : s.status === 'running' ? paint('running', 'yellow') : 'pending';
    lines.push(`    ${i + 1}. [${mark}] ${s.name}: ${s.description}`);
    lines.push(`       needs: ${s.precondition}${s.detail ? `; result: ${s.detail}` : ''}${s.error ? `; error: ${s.error}` : ''}`);
  });
  return lines.join('\n');
}

export function registerPitr(program: Command, globals: () => GlobalOptions): void {
  program
    .command('restore-point')
    .description('create a named restore point to recover to later (before a migration, say)')
    .argument('<name>', 'the name (at most 63 characters)')
    .option('-c, --cluster <name>', 'cluster')
    .action(async (name: string, o) => {
      const g = globals();
      const r = await withAgent(g, (c) => c.call<{ cluster: string; name: string; lsn: string }>('pitr.restorePoint', { name, ...(o.cluster ? { cluster: o.cluster } : {}) }));
      if (g.json) return printJson({ ok: true, ...r });
      process.stdout.write(`restore point "${r.name}" of ${r.cluster} at ${r.lsn}; recover to it with: lifeboat pitr plan -c ${r.cluster} --name ${JSON.stringify(r.name)}\n`);
    });

  const pitr = program.command('pitr').description('point-in-time recovery: plan, then apply step by step');
  pitr
    .command('plan')
    .description('choose the base backup, prove the WAL covers it, list the steps (read-only)')
    .option('-c, --cluster <name>', 'cluster')
    .option('--time <time>', "recover to this time, e.g. '2026-11-21 09:30:00+00'")
    .option('--lsn <lsn>', 'recover to this WAL location')
    .option('--xid <xid>', 'recover to this transaction')
    .option('--name <name>', 'recover to this restore point (lifeboat restore-point NAME)')
    .option('--latest', 'recover to the end of the archived WAL')
    .option('--immediate', 'stop as soon as the base backup is consistent')
    .option('--exclusive', 'stop just before the target instead of just after it')
    .option('--action <action>', 'promote | pause | shutdown at the target', 'promote')
    .option('--to-datadir <dir>', 'restore side by side into this directory (the running server is left alone)')
    .option('--port <port>', 'port of the side-by-side server', (v) => Number.parseInt(v, 10))
    .option('--backup <id>', 'use this base backup instead of the newest one before the target')
    .option('--verify-query <sql>', 'the verify step also runs this query on the recovered server and shows its rows')
    .addHelpText(
      'after',
      `
Examples:
  lifeboat pitr plan -c main --time '2026-11-21 09:30:00+00' --to-datadir /srv/pg/copy --port 5433
  lifeboat pitr plan -c main --name before-migration
  lifeboat pitr apply PLAN --yes          walk every step
  lifeboat pitr apply PLAN --step 3       run one step (earlier ones must be done)`,
    )
    .action(async (o) => {
      const g = globals();
      const params: Record<string, unknown> = { inclusive: !o.exclusive, action: o.action };
      for (const k of ['cluster', 'time', 'lsn', 'xid', 'name', 'toDatadir', 'port', 'backup', 'verifyQuery'] as const) if (o[k] !== undefined) params[k] = o[k];
      if (o.latest) params.latest = true;
      if (o.immediate) params.immediate = true;
      const plan = await withAgent(g, (c) => c.call<PitrPlan>('pitr.plan', params));
      if (g.json) return printJson({ ok: true, plan });
      process.stdout.write(renderPitrPlan(plan) + `\n\nNothing was changed. Apply with: lifeboat pitr apply ${plan.id} --yes\n`);
    });
  pitr
    .command('show')
    .description('a plan and how far its steps got')
    .argument('<plan>', 'plan id')
    .action(async (id: string) => {
      const g = globals();
      const plan = await withAgent(g, (c) => c.call<PitrPlan>('pitr.show', { plan: id }));
      if (g.json) return printJson({ ok: true, plan });
      process.stdout.write(renderPitrPlan(plan) + '\n');
    });
  pitr
    .command('apply')
    .description('walk a plan: every pending step, or one with --step (resumes where it stopped)')
    .argument('<plan>', 'plan id')
    .option('--step <n>', 'run only step N', (v) => Number.parseInt(v, 10))
    .option('-y, --yes', 'no typed confirmation (needed without a TTY)')
    .action(async (id: string, o) => {
      const g = globals();
      await withAgent(g, async (c) => {
        const plan = await c.call<PitrPlan>('pitr.show', { plan: id });
        if (o.step !== undefined && Number.isNaN(o.step)) throw new LifeboatError('USAGE', '--step takes a number');
        if (!g.json) process.stderr.write(renderPitrPlan(plan) + '\n');
        await confirmTyped(plan.cluster, `recovery of ${plan.cluster} into ${plan.dataDir}`, o.yes);
        const done = await runJobWithUi<PitrPlan>(c, g, 'pitr', { plan: plan.id, ...(o.step !== undefined ? { step: o.step } : {}) });
        if (g.json) return printJson({ ok: true, plan: done });
        process.stdout.write(renderPitrPlan(done) + '\n');
      });
    });
}
