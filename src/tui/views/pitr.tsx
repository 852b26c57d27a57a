import React from 'react';
import { Box, Text } from 'ink';
import { shortTime } from '../../client/format.js';
import type { PitrPlan, PitrTarget } from '../../core/pitr.js';
import { TARGET_KINDS, type LiveJob, type RecoverableWindow, type TargetKind, type WizardState } from '../state/model.js';
import { cell, ProgressBar, Rule, T, windowStart } from './common.js';
import { Menu, type MenuItemProps } from './menu.js';
import { TimeBar } from './timebar.js';

const KIND_TEXT: Record<TargetKind, string> = {
  latest: 'latest: replay every archived WAL segment',
  time: 'time: stop at a moment (ISO 8601 with a zone)',
  lsn: 'LSN: stop at a WAL position',
  xid: 'xid: stop at a transaction',
  name: 'restore point: stop at a named restore point',
  immediate: 'immediate: stop as soon as the base backup is consistent',
  finder: 'find a target: commits, restore points, DROP/TRUNCATE/DELETE bursts in the WAL',
};

const VALUE_PROMPT: Record<string, string> = { time: 'Recover to the time', lsn: 'Recover to the LSN', xid: 'Recover to the transaction id', name: 'Recover to the restore point named' };

const STAGES: [WizardState['stage'][], string][] = [
  [['resume', 'target', 'value', 'finder'], 'Target'],
  [['options'], 'Options'],
  [['plan'], 'Plan'],
  [['steps'], 'Steps'],
];

export function targetText(t: PitrTarget, inclusive: boolean): string {
  const inc = inclusive ? '' : ' (exclusive: stop just before it)';
  switch (t.kind) {
    case 'time':
      return `time ${t.time}${inc}`;
    case 'lsn':
      return `LSN ${t.lsn}${inc}`;
    case 'xid':
      return `xid ${t.xid}${inc}`;
    case 'name':
      return `restore point "${t.name}"`;
    default:
      return t.kind;
  }
}

const STEP_MARK: Record<string, { mark: string; tone: 'ok' | 'bad' | 'accent' | 'dim' }> = {
  done: { mark: '✓', tone: 'ok' },
  failed: { mark: '✗', tone: 'bad' },
  running: { mark: '▶', tone: 'accent' },
  pending: { mark: '·', tone: 'dim' },
};

/** One target kind in the menu (its label is already cut to the width). */
function TargetItem(p: MenuItemProps): React.ReactElement {
  return (
    <Text wrap="truncate">
      <T inverse={p.isSelected} bold={p.isSelected}>
        {p.label}
      </T>
    </Text>
  );
}

function Field(p: { label: string; value: string; active: boolean; width: number }): React.ReactElement {
  return (
    <Text wrap="truncate">
      {cell(p.label, 14)}
      <T inverse={p.active} tone={p.active ? 'accent' : undefined}>
        {cell(p.value + (p.active ? '▏' : ''), Math.max(10, p.width - 16))}
      </T>
    </Text>
  );
}

function PlanSummary(p: { plan: PitrPlan; width: number }): React.ReactElement {
  const pl = p.plan;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">plan {pl.id}: recover {pl.cluster} to {targetText(pl.target, pl.inclusive)}, then {pl.action}</Text>
      <Text wrap="truncate">base backup {pl.backupId}; WAL timeline {pl.wal.timeline} {pl.wal.from} … {pl.wal.to} ({pl.wal.segments} segments)</Text>
      <Text wrap="truncate">
        {pl.mode === 'in-place' ? <T tone="warn">in place: the running server is stopped and its data directory moved aside; </T> : 'side by side: the running server is untouched; '}
        data directory {pl.dataDir}, port {pl.port}
      </Text>
    </Box>
  );
}

export interface PitrViewProps {
  wizard: WizardState;
  window: RecoverableWindow | undefined;
  windowLoading: boolean;
  backupEnds: number[];
  job: LiveJob | undefined;
  width: number;
  height: number;
  now: number;
}

/** The point-in-time recovery wizard: target, options, plan, then each step on Enter. */
export function PitrView(p: PitrViewProps): React.ReactElement {
  const w = p.wizard;
  const bodyH = Math.max(4, p.height - 2);
  return (
    <Box flexDirection="column" height={p.height}>
      <Text wrap="truncate">
        <T bold>PITR {w.host}/{w.cluster}  </T>
        {STAGES.map(([stages, name], i) => (
          <Text key={name}>
            {i ? <T tone="dim"> › </T> : null}
            <T tone={stages.includes(w.stage) ? 'accent' : 'dim'} bold={stages.includes(w.stage)}>
              {name}
            </T>
          </Text>
        ))}
      </Text>
      <Rule width={p.width} />
      <Box flexDirection="column" height={bodyH}>
        <Stage {...p} height={bodyH} />
      </Box>
    </Box>
  );
}

/** The body of the current stage. */
function Stage(p: PitrViewProps): React.ReactElement {
  switch (p.wizard.stage) {
    case 'resume':
      return <ResumeStage {...p} />;
    case 'target':
    case 'value':
      return <TargetStage {...p} />;
    case 'finder':
      return <FinderStage {...p} />;
    case 'options':
      return <OptionsStage {...p} />;
    case 'plan':
      return <PlanStage {...p} />;
    case 'steps':
      return <StepsStage {...p} />;
  }
}

/** Unfinished plans recorded on the agent, each a row to resume, then "start a new recovery". */
function ResumeStage(p: PitrViewProps): React.ReactElement {
  const w = p.wizard;
  if (w.resumable.loading) return <T tone="dim">looking for unfinished recoveries on {w.host}…</T>;
  const plans = w.resumable.data ?? [];
  return (
    <Box flexDirection="column">
      <Text>Unfinished recoveries of {w.cluster} recorded on {w.host}:</Text>
      {plans.map((pl, i) => {
        const next = pl.steps.findIndex((s) => s.status !== 'done');
        return (
          <Box key={pl.id} flexDirection="column">
            <Text wrap="truncate">
              <T inverse={w.resumeCursor === i}>{cell(`resume ${pl.id}: ${targetText(pl.target, pl.inclusive)}, ${pl.mode}`, p.width - 2)}</T>
            </Text>
            <Text wrap="truncate">
              <T tone="dim">{cell(`  next step ${next + 1} of ${pl.steps.length} (${pl.steps[next]?.name}); planned ${shortTime(pl.createdAt)}`, p.width - 2)}</T>
            </Text>
          </Box>
        );
      })}
      <Text>
        <T inverse={w.resumeCursor === plans.length}>start a new recovery</T>
      </Text>
    </Box>
  );
}

/** The recoverable window, then the target kinds (stage target) or the typed value (stage value). */
function TargetStage(p: PitrViewProps): React.ReactElement {
  const w = p.wizard;
  const kind = TARGET_KINDS[w.targetCursor]!;
  return (
    <Box flexDirection="column">
      <TimeBar window={p.window} loading={p.windowLoading} backupEnds={p.backupEnds} width={p.width} now={p.now} />
      {p.window?.spans.length ? (
        <T tone="dim">{cell(`recoverable: ${p.window.spans.map((s) => `${shortTime(s.from)} … ${shortTime(s.to)}${s.gap ? ` (gap at ${s.gap.segment})` : ''}`).join(', ')}`, p.width)}</T>
      ) : null}
      <Text> </Text>
      {w.stage === 'target' ? (
        <Menu items={TARGET_KINDS.map((k) => ({ label: cell(KIND_TEXT[k], p.width - 2), value: k }))} index={w.targetCursor} item={TargetItem} />
      ) : (
        <Box flexDirection="column">
          <Text>{VALUE_PROMPT[kind]}:</Text>
          <Field label="" value={w.value} active width={p.width} />
        </Box>
      )}
      <Text> </Text>
      <Text wrap="truncate">
        <T tone="dim">Tab: </T>
        {w.inclusive ? 'inclusive (the target transaction is replayed)' : 'exclusive (stop just before the target)'}
      </Text>
    </Box>
  );
}

/** Candidate targets found in the archived WAL, a window of them around the cursor. */
function FinderStage(p: PitrViewProps): React.ReactElement {
  const w = p.wizard;
  if (w.finder.loading) return <T tone="dim">reading archived WAL for candidate targets (pg_waldump on the agent)…</T>;
  if (w.finder.error) return <T tone="bad">{w.finder.error.message}</T>;
  const cands = w.finder.data?.candidates ?? [];
  if (!cands.length) return <T tone="dim">no candidates found in the archived WAL (Esc to choose a target by hand)</T>;
  const listH = Math.max(1, p.height - 3);
  const start = windowStart(w.finder.cursor, cands.length, listH);
  const sel = cands[w.finder.cursor];
  return (
    <Box flexDirection="column">
      <T tone="dim">{cell(`${cell('TIME', 16)} ${cell('XID', 8)} WHAT`, p.width)}</T>
      {cands.slice(start, start + listH).map((c, i) => (
        <Text key={`${c.lsn}-${i}`} wrap="truncate">
          <T inverse={start + i === w.finder.cursor} tone={c.destructive ? 'warn' : undefined}>
            {cell(`${cell(c.time ? shortTime(c.time) : '-', 16)} ${cell(c.xid ?? '-', 8)} ${c.summary}`, p.width - 1)}
          </T>
        </Text>
      ))}
      {sel ? <T tone="dim">{cell(`Enter: recover to ${sel.suggested.kind} ${sel.suggested.value} ${sel.suggested.inclusive ? 'inclusive' : 'exclusive (just before it)'}`, p.width)}</T> : null}
    </Box>
  );
}

/** The chosen target in words: a finder pick, latest/immediate, or the kind and typed value. */
function chosenTarget(w: WizardState): string {
  if (w.picked) return `${w.picked.kind} ${w.picked.value} (${w.picked.summary})`;
  const kind = TARGET_KINDS[w.targetCursor];
  return kind === 'latest' || kind === 'immediate' ? kind : `${kind} ${w.value}`;
}

/** Mode (side by side or in place), the new server's data directory and port, the verify query. */
function OptionsStage(p: PitrViewProps): React.ReactElement {
  const w = p.wizard;
  const o = w.options;
  const side = o.mode === 'side-by-side';
  return (
    <Box flexDirection="column">
      <Text wrap="truncate">Target: {chosenTarget(w)}{w.inclusive ? '' : ', exclusive'}</Text>
      <Text> </Text>
      <Text wrap="truncate">
        {cell('Mode', 14)}
        <T inverse={o.field === 0} tone={o.field === 0 ? 'accent' : undefined}>
          {side ? '[side by side]  in place ' : ' side by side  [in place]'}
        </T>
        <T tone="dim"> (Space switches)</T>
      </Text>
      {side ? <Field label="Data dir" value={o.dataDir} active={o.field === 1} width={p.width} /> : null}
      {side ? <Field label="Port" value={o.port} active={o.field === 2} width={p.width} /> : null}
      <Field label="Verify query" value={o.verifyQuery} active={o.field === (side ? 3 : 1)} width={p.width} />
      <Text> </Text>
      <T tone="dim">{side ? 'A new server is started from the backup in the new data directory; the running one is untouched.' : 'In place: the running server is stopped and its data directory moved aside (kept).'}</T>
      <T tone="dim">Enter makes the plan (read-only); nothing runs until you start a step.</T>
    </Box>
  );
}

/** The agent's plan (or why it refused to make one) and its steps, before any runs. */
function PlanStage(p: PitrViewProps): React.ReactElement {
  const w = p.wizard;
  if (w.plan.loading || (!w.plan.data && !w.plan.error)) return <T tone="dim">planning on {w.host}: choosing the base backup, checking WAL continuity…</T>;
  if (w.plan.error)
    return (
      <Box flexDirection="column">
        <T tone="bad">the plan was refused: {w.plan.error.message}</T>
        {w.plan.error.hint ? <T tone="dim">hint: {w.plan.error.hint}</T> : null}
        <T tone="dim">Esc to change the target or options</T>
      </Box>
    );
  const pl = w.plan.data!;
  return (
    <Box flexDirection="column">
      <PlanSummary plan={pl} width={p.width} />
      <Text> </Text>
      {pl.steps.map((s, i) => (
        <Text key={s.name} wrap="truncate">
          {String(i + 1).padStart(2)}. {cell(s.name, 16)} <T tone="dim">{s.description}</T>
        </Text>
      ))}
      <Text> </Text>
      <Text>Enter: walk these steps one at a time · Esc: change the options</Text>
    </Box>
  );
}

/** The plan's steps with their marks, then the running step's progress and log, or the selected step's details. */
function StepsStage(p: PitrViewProps): React.ReactElement {
  const w = p.wizard;
  const pl = w.plan.data!;
  const sel = pl.steps[w.stepCursor];
  const running = w.running ? p.job : undefined;
  const restH = Math.max(2, p.height - pl.steps.length - 7);
  return (
    <Box flexDirection="column">
      <PlanSummary plan={pl} width={p.width} />
      {pl.steps.map((s, i) => {
        const m = STEP_MARK[w.running?.step === i + 1 ? 'running' : s.status] ?? STEP_MARK.pending!;
        return (
          <Text key={s.name} wrap="truncate">
            <T tone={m.tone}>{m.mark} </T>
            <T inverse={i === w.stepCursor} bold={i === w.stepCursor}>
              {cell(`${i + 1}. ${s.name}`, 18)}
            </T>{' '}
            <T tone={s.status === 'failed' ? 'bad' : 'dim'}>{cell(s.status === 'pending' ? s.description : s.error ?? s.detail ?? s.status, p.width - 22)}</T>
          </Text>
        );
      })}
      <Rule title={sel ? `step ${w.stepCursor + 1}: ${sel.name}` : ''} width={p.width} />
      {running ? <StepProgress job={running} width={p.width} height={restH} /> : sel ? <StepDetail plan={pl} step={sel} stepError={w.stepError} width={p.width} height={restH} /> : null}
    </Box>
  );
}

/** The running step's job: progress bar and the last log lines that fit. */
function StepProgress(p: { job: LiveJob; width: number; height: number }): React.ReactElement {
  return (
    <Box flexDirection="column" height={p.height}>
      <ProgressBar progress={p.job.progress} width={p.width} />
      {p.job.logs.slice(-(p.height - 1)).map((l, i) => (
        <Text key={i} wrap="truncate">
          <T tone={l.level === 'error' ? 'bad' : l.level === 'warn' ? 'warn' : 'dim'}>{l.message}</T>
        </Text>
      ))}
    </Box>
  );
}

type PlanStep = PitrPlan['steps'][number];

/** The selected step: what it does, what it needs, its result or failure, and what Enter does now. */
function StepDetail(p: { plan: PitrPlan; step: PlanStep; stepError: WizardState['stepError']; width: number; height: number }): React.ReactElement {
  const sel = p.step;
  return (
    <Box flexDirection="column" height={p.height}>
      <Text wrap="truncate">{sel.description}</Text>
      <T tone="dim">{cell(`before: ${sel.precondition}`, p.width)}</T>
      {sel.detail ? <T tone="ok">{cell(`result: ${sel.detail}`, p.width)}</T> : null}
      {sel.error || p.stepError ? <T tone="bad">{cell(`failed: ${sel.error ?? p.stepError?.message}`, p.width)}</T> : null}
      <Text wrap="truncate">
        {p.plan.steps.every((s) => s.status === 'done') ? (
          <T tone="ok">recovery complete: every step is done</T>
        ) : sel.status === 'failed' ? (
          'Enter: retry this step'
        ) : sel.status === 'done' ? (
          <T tone="dim">done</T>
        ) : (
          'Enter: run this step'
        )}
      </Text>
    </Box>
  );
}
