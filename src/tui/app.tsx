/**
 * The root component: reads the store, hands keys to the controller, lays out
 * header, the current view (or an overlay) and the footer. Views take props.
 *
 * @module
 */
import React, { useSyncExternalStore } from 'react';
import { Box, Text, useInput } from 'ink';
import type { Controller } from './controller.js';
import type { Scope } from './keys.js';
import type { AppState } from './state/model.js';
import { backupGroups, fleetRows, jobRows, runningCount } from './state/selectors.js';
import { cell, KeyHints, T } from './views/common.js';
import { FleetView } from './views/fleet.js';
import { ClusterView } from './views/cluster.js';
import { JobsView, JobView } from './views/jobs.js';
import { PitrView } from './views/pitr.js';
import { DialogView, HelpOverlay } from './views/overlays.js';

const HINTS: Record<Exclude<Scope, 'global' | 'dialog'>, [string, string][]> = {
  fleet: [['Enter', 'open'], ['/', 'filter'], ['s', 'sort'], ['b', 'backup'], ['w', 'PITR'], ['J', 'jobs'], ['?', 'help'], ['q', 'quit']],
  cluster: [['b', 'backup'], ['v', 'verify'], ['r', 'restore'], ['p', 'pin'], ['d', 'delete'], ['w', 'PITR'], ['Esc', 'back'], ['?', 'help']],
  jobs: [['Enter', 'follow'], ['c', 'cancel'], ['Esc', 'back'], ['?', 'help'], ['q', 'quit']],
  job: [['c', 'cancel job'], ['Esc', 'leave (job goes on)'], ['J', 'jobs'], ['?', 'help']],
  pitr: [['Enter', 'next / run step'], ['Esc', 'previous'], ['Tab', 'field'], ['?', 'help']],
};

function crumbs(s: AppState): string {
  const r = s.route;
  switch (r.view) {
    case 'fleet':
      return 'fleet';
    case 'cluster':
      return `fleet › ${r.host}/${r.cluster}`;
    case 'jobs':
      return 'jobs';
    case 'job':
      return `jobs › ${r.jobId}`;
    case 'pitr':
      return `${r.host}/${r.cluster} › recovery`;
  }
}

/** Everything on screen for a state: pure, so tests and benchmarks render it directly. */
export function Screen(p: { state: AppState; now: number }): React.ReactElement {
  const s = p.state;
  const { columns, rows } = s.size;
  const width = Math.max(40, columns);
  const bodyH = Math.max(6, rows - 3);
  const up = s.hostOrder.filter((h) => s.hosts[h]?.conn === 'up').length;
  const running = runningCount(s);
  const scope: Scope = s.route.view;
  let body: React.ReactElement;
  if (s.help) body = <HelpOverlay scope={scope} width={width} height={bodyH} />;
  else if (s.dialog) body = <DialogView dialog={s.dialog} width={width} height={bodyH} />;
  else {
    const r = s.route;
    switch (r.view) {
      case 'fleet':
        body = <FleetView rows={fleetRows(s)} cursor={s.fleet.cursor} sort={s.fleet.sort} filter={s.fleet.filter} filtering={s.fleet.filtering} width={width} height={bodyH} now={p.now} />;
        break;
      case 'cluster':
        body = s.cluster ? <ClusterView view={s.cluster} groups={backupGroups(s)} width={width} height={bodyH} now={p.now} /> : <Text>…</Text>;
        break;
      case 'jobs':
        body = <JobsView rows={jobRows(s)} cursor={s.jobsCursor} width={width} height={bodyH} now={p.now} />;
        break;
      case 'job':
        body = <JobView job={s.live[`${r.host}/${r.jobId}`]} jobId={r.jobId} host={r.host} width={width} height={bodyH} />;
        break;
      case 'pitr': {
        const w = s.wizard;
        const c = s.cluster && s.cluster.host === r.host && s.cluster.cluster === r.cluster ? s.cluster : undefined;
        const ends = (c?.backups.data?.backups ?? []).filter((b) => b.kind === 'physical').map((b) => Date.parse(b.finishedAt));
        body = w ? (
          <PitrView wizard={w} window={c?.window.data} windowLoading={c?.window.loading ?? true} backupEnds={ends} job={w.running ? s.live[`${w.host}/${w.running.jobId}`] : undefined} width={width} height={bodyH} now={p.now} />
        ) : (
          <Text>…</Text>
        );
        break;
      }
    }
  }
  const flash = s.flash && p.now - s.flash.at < 8000 ? s.flash : undefined;
  const left = `Lifeboat  ${crumbs(s)}`;
  const right = `hosts ${up}/${s.hostOrder.length} up · ${running ? `${running} job${running > 1 ? 's' : ''} running` : 'no jobs running'} · ? help`;
  return (
    <Box flexDirection="column" width={width} height={rows - 1}>
      <Text wrap="truncate">
        <T bold tone="accent">
          {cell(left, Math.max(0, width - right.length - 1))}
        </T>{' '}
        <T tone="dim">{right}</T>
      </Text>
      <Box height={bodyH} flexDirection="column">
        {body}
      </Box>
      {flash ? (
        <Text wrap="truncate">
          <T tone={flash.level === 'error' ? 'bad' : flash.level === 'warn' ? 'warn' : 'ok'}>{cell(flash.text, width)}</T>
        </Text>
      ) : (
        <KeyHints hints={s.dialog ? [['Esc', 'cancel']] : HINTS[scope as keyof typeof HINTS]} width={width} />
      )}
    </Box>
  );
}

export function App(p: { controller: Controller; now?: () => number }): React.ReactElement {
  const store = p.controller.store;
  const state = useSyncExternalStore(store.subscribe, store.getState);
  useInput((input, key) => p.controller.key(input, key));
  return <Screen state={state} now={(p.now ?? Date.now)()} />;
}
