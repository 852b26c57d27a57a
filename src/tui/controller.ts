/**
 * Keys in, actions and service calls out. Components only render props and
 * hand keys here; everything that happens on a key is in this file.
 *
 * @module
 */
import { toLifeboatError } from '../core/errors.js';
import type { PitrPlan } from '../core/pitr.js';
import type { JobParamsOf, ParamsOf } from '../protocol/index.js';
import { deletePlanLines, restorePlanLines } from '../client/plans.js';
import { BACK, is, keyName, MOVE, OPEN, typedText, type InkKey } from './keys.js';
import { BACKUP_FORM_TAGS, BACKUP_KINDS, TARGET_KINDS, VERIFY_LEVELS, type AppState, type Dialog, type Intent, type WizardState } from './state/model.js';
import type { Action } from './state/reducer.js';
import { backupGroups, fleetRows, jobRows, selectedBackup } from './state/selectors.js';
import type { Store } from './state/store.js';
import type { FleetService } from './services/fleet.js';

/** Rows a list gets on screen (header, footer, panes take the rest). */
export function listHeight(s: AppState, view: 'fleet' | 'cluster' | 'jobs' | 'pitr'): number {
  const r = s.size.rows;
  if (view === 'cluster') return Math.max(3, Math.floor((r - 8) / 2));
  if (view === 'pitr') return Math.max(3, r - 14);
  return Math.max(3, r - 6);
}

export class Controller {
  constructor(
    readonly store: Store<AppState, Action>,
    readonly fleet: FleetService,
    private readonly onQuit: () => void = () => undefined,
  ) {}

  private get s(): AppState {
    return this.store.getState();
  }

  private dispatch = (a: Action) => this.store.dispatch(a);

  private flash(text: string, level: 'info' | 'warn' | 'error' = 'info'): void {
    this.dispatch({ type: 'flash', text, level });
  }

  private fail(err: unknown): void {
    const e = toLifeboatError(err);
    this.flash(e.message + (e.hint ? ` (${e.hint})` : ''), 'error');
  }

  quit(): void {
    this.dispatch({ type: 'quit' });
    this.fleet.close();
    this.onQuit();
  }

  /** One keypress from Ink. */
  key(input: string, k: InkKey): void {
    // Keys that arrive in one read (a paste, fast typing over a laggy SSH link)
    // come as one string: split out Tab and Enter so they still move and submit.
    if (input.length > 1 && !k.ctrl && !k.meta && /[\t\r]/.test(input) && !input.startsWith('\x1b')) {
      for (const ch of input) this.key(ch, ch === '\t' ? { tab: true } : ch === '\r' ? { return: true } : {});
      return;
    }
    const name = keyName(input, k);
    const s = this.s;
    if (name === 'ctrl-c') return this.quit();
    if (s.help) return this.dispatch({ type: 'help/toggle', show: false });
    if (s.dialog) return this.dialogKey(s.dialog, name, input, k);
    if (s.route.view === 'fleet' && s.fleet.filtering) return this.filterKey(name, input, k);
    if (s.route.view === 'pitr' && s.wizard && this.wizardTyping(s.wizard)) {
      if (this.wizardKey(s.wizard, name, input, k)) return;
    }
    if (name === '?') return this.dispatch({ type: 'help/toggle' });
    if (name === 'q') return this.quit();
    if (name === 'J') return this.go({ view: 'jobs' });
    if (name === 'F') return this.home();
    if (name === 'R') return this.refresh();
    switch (s.route.view) {
      case 'fleet':
        return this.fleetKey(name);
      case 'cluster':
        return this.clusterKey(name);
      case 'jobs':
        return this.jobsKey(name);
      case 'job':
        return this.jobKey(name);
      case 'pitr':
        if (s.wizard) this.wizardKey(s.wizard, name, input, k);
        return;
    }
  }

  private go(route: AppState['route']): void {
    if (JSON.stringify(route) !== JSON.stringify(this.s.route)) this.dispatch({ type: 'nav/push', route });
  }

  private home(): void {
    while (this.s.back.length) this.dispatch({ type: 'nav/back' });
  }

  private back(): void {
    this.dispatch({ type: 'nav/back' });
  }

  private refresh(): void {
    this.fleet.refreshAll();
    const c = this.s.cluster;
    if (this.s.route.view === 'cluster' && c) void this.fleet.reloadCluster(c.host, c.cluster);
    this.flash('refreshing');
  }

  /** Cursor movement shared by the lists; returns false when `name` is not a movement key. */
  private moveKey(name: string, type: 'fleet/move' | 'cluster/move' | 'jobs/move', count: number, page: number): boolean {
    const half = Math.max(1, Math.floor(page / 2));
    let a: { delta?: number; to?: number } | undefined;
    if (is(name, MOVE.up)) a = { delta: -1 };
    else if (is(name, MOVE.down)) a = { delta: 1 };
    else if (is(name, MOVE.top)) a = { to: 0 };
    else if (is(name, MOVE.bottom)) a = { to: count - 1 };
    else if (is(name, MOVE.pageDown)) a = { delta: half };
    else if (is(name, MOVE.pageUp)) a = { delta: -half };
    if (!a) return false;
    this.dispatch({ type, ...a, count });
    return true;
  }

  // ---- fleet ----------------------------------------------------------------

  private fleetKey(name: string): void {
    const rows = fleetRows(this.s);
    if (this.moveKey(name, 'fleet/move', rows.length, listHeight(this.s, 'fleet'))) return;
    const row = rows[this.s.fleet.cursor];
    if (name === '/') return this.dispatch({ type: 'fleet/filter', filtering: true });
    if (name === 's') return this.dispatch({ type: 'fleet/sort' });
    if (name === 'esc' && this.s.fleet.filter) return this.dispatch({ type: 'fleet/filter', filtering: false, text: '' });
    if (!row) return;
    if (!row.cluster) {
      if (is(name, OPEN)) this.flash(row.health === 'down' ? `${row.host}: ${row.problems[0]}` : `${row.host}: no cluster to open yet`, 'warn');
      return;
    }
    if (is(name, OPEN)) return this.openCluster(row.host, row.cluster);
    if (name === 'w') return this.openWizard(row.host, row.cluster);
    if (name === 'b') return this.dispatch({ type: 'dialog/open', dialog: { kind: 'backup', host: row.host, cluster: row.cluster, field: 0, kindIdx: 0, tagIdx: 0 } });
  }

  private filterKey(name: string, input: string, k: InkKey): void {
    const f = this.s.fleet.filter;
    if (name === 'enter') return this.dispatch({ type: 'fleet/filter', filtering: false });
    if (name === 'esc') return this.dispatch({ type: 'fleet/filter', filtering: false, text: '' });
    if (name === 'backspace') return this.dispatch({ type: 'fleet/filter', filtering: true, text: f.slice(0, -1) });
    const t = typedText(input, k);
    if (t) this.dispatch({ type: 'fleet/filter', filtering: true, text: f + t });
  }

  openCluster(host: string, cluster: string): void {
    this.go({ view: 'cluster', host, cluster });
    void this.fleet.loadCluster(host, cluster).then(() => this.afterClusterMove());
  }

  // ---- cluster --------------------------------------------------------------

  private afterClusterMove(): void {
    const c = this.s.cluster;
    const b = selectedBackup(this.s);
    if (c && b) this.fleet.loadDetails(c.host, c.cluster, b.id);
  }

  private clusterKey(name: string): void {
    const c = this.s.cluster;
    if (!c) return;
    if (is(name, BACK)) return this.back();
    const { ordered } = backupGroups(this.s);
    if (this.moveKey(name, 'cluster/move', ordered.length, listHeight(this.s, 'cluster'))) return this.afterClusterMove();
    if (name === 'b') return this.dispatch({ type: 'dialog/open', dialog: { kind: 'backup', host: c.host, cluster: c.cluster, field: 0, kindIdx: 0, tagIdx: 0 } });
    if (name === 'w') return this.openWizard(c.host, c.cluster);
    const b = selectedBackup(this.s);
    if (!b) {
      if (['v', 'r', 'p', 'd'].includes(name)) this.flash('no backup selected', 'warn');
      return;
    }
    if (name === 'v') return this.dispatch({ type: 'dialog/open', dialog: { kind: 'verify', host: c.host, cluster: c.cluster, id: b.id, levelIdx: 0 } });
    if (name === 'r') {
      if (b.kind === 'physical') return this.flash('a physical backup is restored with point-in-time recovery: press w', 'warn');
      return this.dispatch({ type: 'dialog/open', dialog: { kind: 'restore-target', host: c.host, cluster: c.cluster, id: b.id, typed: b.databases[0] ?? '' } });
    }
    if (name === 'p') {
      const pinned = !b.pinned;
      void this.fleet
        .call(c.host, 'backup.pin', { cluster: c.cluster, backup: b.id, pinned })
        .then(() => {
          this.flash(`${b.id} ${pinned ? 'pinned: retention keeps it' : 'unpinned'}`);
          void this.fleet.reloadCluster(c.host, c.cluster);
        })
        .catch((err: unknown) => this.fail(err));
      return;
    }
    if (name === 'd') return this.planDelete(c.host, c.cluster, b.id);
  }

  private planDelete(host: string, cluster: string, id: string): void {
    const intent: Intent = { kind: 'delete', host, cluster, id };
    this.dispatch({ type: 'dialog/open', dialog: { kind: 'confirm', title: `Delete backup ${id}`, lines: [], expected: id, typed: '', intent, loading: true } });
    void this.fleet
      .call(host, 'retention.plan', { cluster, backups: [id], dryRun: true })
      .then((plan) => {
        this.patchDialog({ lines: deletePlanLines(plan), loading: false });
      })
      .catch((err: unknown) => this.patchDialog({ loading: false, error: toLifeboatError(err).toJSON() }));
  }

  private patchDialog(patch: Partial<Dialog>): void {
    this.dispatch({ type: 'dialog/patch', patch });
  }

  // ---- dialogs --------------------------------------------------------------

  private dialogKey(d: Dialog, name: string, input: string, k: InkKey): void {
    if (name === 'esc') return this.dispatch({ type: 'dialog/close' });
    switch (d.kind) {
      case 'message':
        if (name === 'enter' || name === 'q') this.dispatch({ type: 'dialog/close' });
        return;
      case 'backup': {
        if (is(name, ['tab', 'down', 'j', 'shift-tab', 'up', 'k'])) return this.patchDialog({ field: d.field === 0 ? 1 : 0 });
        if (is(name, ['left', 'h', 'right', 'l', ' '])) {
          const dir = is(name, ['left', 'h']) ? -1 : 1;
          if (d.field === 0) return this.patchDialog({ kindIdx: (d.kindIdx + BACKUP_KINDS.length + dir) % BACKUP_KINDS.length });
          return this.patchDialog({ tagIdx: (d.tagIdx + BACKUP_FORM_TAGS.length + dir) % BACKUP_FORM_TAGS.length });
        }
        if (name === 'enter') {
          const kind = BACKUP_KINDS[d.kindIdx]!;
          const tag = BACKUP_FORM_TAGS[d.tagIdx]!;
          this.dispatch({ type: 'dialog/close' });
          return this.runJob(d.host, 'backup', { cluster: d.cluster, kind, tag }, `${kind} backup of ${d.cluster} (${tag})`, () => this.reloadIfShown(d.host, d.cluster));
        }
        return;
      }
      case 'verify': {
        if (is(name, ['left', 'h', 'up', 'k', 'shift-tab'])) return this.patchDialog({ levelIdx: (d.levelIdx + VERIFY_LEVELS.length - 1) % VERIFY_LEVELS.length });
        if (is(name, ['right', 'l', 'down', 'j', 'tab', ' '])) return this.patchDialog({ levelIdx: (d.levelIdx + 1) % VERIFY_LEVELS.length });
        if (name === 'enter') {
          const level = VERIFY_LEVELS[d.levelIdx]!;
          this.dispatch({ type: 'dialog/close' });
          return this.runJob(d.host, 'verify', { cluster: d.cluster, id: d.id, level }, `verify ${d.id} (${level})`, () => this.reloadIfShown(d.host, d.cluster, d.id));
        }
        return;
      }
      case 'restore-target': {
        if (name === 'backspace') return this.patchDialog({ typed: d.typed.slice(0, -1) });
        if (name === 'enter') {
          if (!d.typed) return;
          return this.planRestore(d.host, d.cluster, d.id, d.typed);
        }
        const t = typedText(input, k);
        if (t) this.patchDialog({ typed: d.typed + t });
        return;
      }
      case 'confirm': {
        if (d.loading) return;
        if (name === 'backspace') return this.patchDialog({ typed: d.typed.slice(0, -1) });
        if (name === 'enter') {
          if (d.error || d.typed !== d.expected) return;
          this.dispatch({ type: 'dialog/close' });
          return this.carryOut(d.intent);
        }
        const t = typedText(input, k);
        if (t) this.patchDialog({ typed: d.typed + t });
        return;
      }
    }
  }

  private planRestore(host: string, cluster: string, id: string, toDatabase: string): void {
    this.dispatch({
      type: 'dialog/open',
      dialog: { kind: 'confirm', title: `Restore ${id} into database ${toDatabase}`, lines: [], expected: toDatabase, typed: '', intent: { kind: 'restore', host, cluster, id, toDatabase }, loading: true },
    });
    void this.fleet
      .call(host, 'restore.plan', { cluster, id, toDatabase })
      .then((r) => {
        this.patchDialog({ lines: restorePlanLines(r), loading: false });
      })
      .catch((err: unknown) => this.patchDialog({ loading: false, error: toLifeboatError(err).toJSON() }));
  }

  private carryOut(i: Intent): void {
    switch (i.kind) {
      case 'restore':
        return this.runJob(i.host, 'restore', { cluster: i.cluster, id: i.id, toDatabase: i.toDatabase }, `restore ${i.id} into ${i.toDatabase}`, () => this.reloadIfShown(i.host, i.cluster));
      case 'delete':
        return this.runJob(i.host, 'expire', { cluster: i.cluster, backups: [i.id] }, `delete ${i.id}`, () => this.reloadIfShown(i.host, i.cluster));
      case 'cancel-job':
        void this.fleet.cancel(i.host, i.jobId).then(
          () => this.flash(`cancelling ${i.jobId}`),
          (err: unknown) => this.fail(err),
        );
        return;
      case 'pitr-step':
        return this.runStep(i.step);
    }
  }

  private reloadIfShown(host: string, cluster: string, id?: string): void {
    const c = this.s.cluster;
    if (!c || c.host !== host || c.cluster !== cluster) return;
    void this.fleet.reloadCluster(host, cluster).then(() => this.afterClusterMove());
    if (id) {
      this.dispatch({ type: 'cluster/details', host, cluster, id, value: { loading: false } });
      this.fleet.loadDetails(host, cluster, id);
    }
  }

  /** Start a job and show it; `then` runs when it ends (whatever the result). */
  private runJob<J extends 'backup' | 'verify' | 'restore' | 'expire' | 'pitr'>(host: string, type: J, params: JobParamsOf<J>, label: string, then?: () => void, show = true): void {
    void this.fleet
      .startJob(host, type, params, label)
      .then((jobId) => {
        if (show) this.go({ view: 'job', host, jobId });
        if (then) this.whenDone(host, jobId, then);
      })
      .catch((err: unknown) => this.fail(err));
  }

  private whenDone(host: string, jobId: string, fn: () => void): void {
    const unsub = this.store.subscribe(() => {
      const j = this.s.live[`${host}/${jobId}`];
      if (j && j.status !== 'running') {
        unsub();
        fn();
      }
    });
  }

  // ---- jobs -----------------------------------------------------------------

  private jobsKey(name: string): void {
    if (is(name, BACK)) return this.back();
    const rows = jobRows(this.s);
    if (this.moveKey(name, 'jobs/move', rows.length, listHeight(this.s, 'jobs'))) return;
    const r = rows[this.s.jobsCursor];
    if (!r) return;
    if (is(name, OPEN)) {
      this.fleet.attach(r.host, r.jobId, r.type, `${r.type}${r.cluster ? ` of ${r.cluster}` : ''}`);
      return this.go({ view: 'job', host: r.host, jobId: r.jobId });
    }
    if (name === 'c') return this.askCancel(r.host, r.jobId, r.status);
  }

  private askCancel(host: string, jobId: string, status: string): void {
    if (status !== 'running') return this.flash(`job ${jobId} is not running`, 'warn');
    this.dispatch({ type: 'dialog/open', dialog: { kind: 'confirm', title: `Cancel job ${jobId} on ${host}?`, lines: ['the job stops and cleans up; a cancelled backup leaves no listed backup'], expected: 'y', typed: '', intent: { kind: 'cancel-job', host, jobId } } });
  }

  private jobKey(name: string): void {
    if (is(name, BACK)) return this.back();
    const r = this.s.route;
    if (r.view !== 'job') return;
    if (name === 'c') {
      const j = this.s.live[`${r.host}/${r.jobId}`];
      return this.askCancel(r.host, r.jobId, j?.status ?? 'unknown');
    }
  }

  // ---- PITR wizard ----------------------------------------------------------

  openWizard(host: string, cluster: string): void {
    this.dispatch({ type: 'wizard/open', host, cluster });
    this.go({ view: 'pitr', host, cluster });
    const s = this.s;
    if (!s.cluster || s.cluster.host !== host || s.cluster.cluster !== cluster) void this.fleet.loadCluster(host, cluster);
    const put = (resumable: WizardState['resumable']) => {
      const w = this.s.wizard;
      if (!w || w.host !== host || w.cluster !== cluster) return;
      const none = !resumable.loading && !resumable.data?.length;
      this.patchWizard({ resumable, ...(none && w.stage === 'resume' ? { stage: 'target' } : {}) });
    };
    void this.fleet.load(this.fleet.call(host, 'pitr.plans', { cluster, unfinished: true }), put);
  }

  private patchWizard(patch: Partial<WizardState>): void {
    this.dispatch({ type: 'wizard/patch', patch });
  }

  /** Stages where letters are text, not commands. */
  private wizardTyping(w: WizardState): boolean {
    return w.stage === 'value' || (w.stage === 'options' && w.options.field > 0);
  }

  /** Returns true when the key was used. */
  private wizardKey(w: WizardState, name: string, input: string, k: InkKey): boolean {
    if (name === 'esc') return this.wizardBack(w);
    switch (w.stage) {
      case 'resume':
        return this.resumeKey(w, name);
      case 'target':
        return this.targetKey(w, name);
      case 'value':
        return this.valueKey(w, name, input, k);
      case 'finder':
        return this.finderKey(w, name);
      case 'options':
        return this.optionsKey(w, name, input, k);
      case 'plan':
        if (name === 'enter' && w.plan.data) return this.showSteps(w.plan.data), true;
        return false;
      case 'steps':
        return this.stepsKey(w, name);
    }
  }

  /** Esc: the stage before this one, or out of the wizard; nothing while a step runs. */
  private wizardBack(w: WizardState): boolean {
    if (w.running) return true;
    const p = this.previousStage(w);
    if (p) this.patchWizard({ stage: p });
    else this.back();
    return true;
  }

  /** Where Esc goes from the current stage (undefined: out of the wizard). */
  private previousStage(w: WizardState): WizardState['stage'] | undefined {
    const kind = TARGET_KINDS[w.targetCursor];
    const prev: Record<WizardState['stage'], WizardState['stage'] | undefined> = {
      resume: undefined,
      target: w.resumable.data?.length ? 'resume' : undefined,
      value: 'target',
      finder: 'target',
      options: w.picked ? 'finder' : kind === 'latest' || kind === 'immediate' ? 'target' : 'value',
      plan: 'options',
      steps: undefined,
    };
    return prev[w.stage];
  }

  /** Up/down/top/bottom in one of the wizard's lists (clamped at the ends); false for any other key. */
  private wizardMove(w: WizardState, name: string, count: number, cursor: 'resumeCursor' | 'targetCursor' | 'stepCursor'): boolean {
    const cur = w[cursor];
    let next = cur;
    if (is(name, MOVE.up)) next = cur - 1;
    else if (is(name, MOVE.down)) next = cur + 1;
    else if (is(name, MOVE.top)) next = 0;
    else if (is(name, MOVE.bottom)) next = count - 1;
    else return false;
    this.patchWizard({ [cursor]: Math.max(0, Math.min(count - 1, next)) });
    return true;
  }

  /** Stage resume: pick an unfinished plan (go to its steps) or start a new recovery. */
  private resumeKey(w: WizardState, name: string): boolean {
    const plans = w.resumable.data ?? [];
    if (this.wizardMove(w, name, plans.length + 1, 'resumeCursor')) return true;
    if (name !== 'enter') return false;
    const plan = plans[w.resumeCursor];
    if (!plan) this.patchWizard({ stage: 'target' });
    else this.showSteps(plan);
    return true;
  }

  /** Stage target: choose the kind of target; Tab switches inclusive / exclusive. */
  private targetKey(w: WizardState, name: string): boolean {
    if (this.wizardMove(w, name, TARGET_KINDS.length, 'targetCursor')) return true;
    if (name === 'tab') return this.patchWizard({ inclusive: !w.inclusive }), true;
    if (name !== 'enter' && name !== 'l' && name !== 'right') return false;
    const kind = TARGET_KINDS[w.targetCursor]!;
    const { picked: _p, ...rest } = w;
    this.dispatch({ type: 'wizard/set', wizard: rest });
    if (kind === 'latest' || kind === 'immediate') this.patchWizard({ stage: 'options' });
    else if (kind === 'finder') this.openFinder(w);
    else this.patchWizard({ stage: 'value', value: kind === 'time' ? new Date(Date.now() - 5 * 60_000).toISOString().slice(0, 19).replace('T', ' ') + '+00' : '' });
    return true;
  }

  /** Stage value: the typed time, LSN, xid or restore point name. */
  private valueKey(w: WizardState, name: string, input: string, k: InkKey): boolean {
    if (name === 'enter') return w.value.trim() ? (this.patchWizard({ stage: 'options' }), true) : true;
    if (name === 'tab') return this.patchWizard({ inclusive: !w.inclusive }), true;
    if (name === 'backspace') return this.patchWizard({ value: w.value.slice(0, -1) }), true;
    const t = typedText(input, k);
    if (t) this.patchWizard({ value: w.value + t });
    return true;
  }

  /** Stage finder: move among the candidates; Enter takes the one under the cursor as the target. */
  private finderKey(w: WizardState, name: string): boolean {
    const cands = w.finder.data?.candidates ?? [];
    const cur = w.finder.cursor;
    let next = cur;
    if (is(name, MOVE.up)) next = cur - 1;
    else if (is(name, MOVE.down)) next = cur + 1;
    else if (is(name, MOVE.top)) next = 0;
    else if (is(name, MOVE.bottom)) next = cands.length - 1;
    if (next !== cur) return this.patchWizard({ finder: { ...w.finder, cursor: Math.max(0, Math.min(cands.length - 1, next)) } }), true;
    if (name !== 'enter') return false;
    const c = cands[cur];
    if (!c) return true;
    this.patchWizard({ picked: { ...c.suggested, summary: c.summary }, inclusive: c.suggested.inclusive, stage: 'options' });
    return true;
  }

  /** Stage options: move between fields, switch the mode, type into the text fields; Enter makes the plan. */
  private optionsKey(w: WizardState, name: string, input: string, k: InkKey): boolean {
    const o = w.options;
    const fields = o.mode === 'side-by-side' ? 4 : 2; // mode, [dataDir, port,] verify query
    if (name === 'tab' || name === 'down' || (name === 'j' && o.field === 0)) return this.patchWizard({ options: { ...o, field: (o.field + 1) % fields } }), true;
    if (name === 'shift-tab' || name === 'up' || (name === 'k' && o.field === 0)) return this.patchWizard({ options: { ...o, field: (o.field + fields - 1) % fields } }), true;
    if (name === 'enter') return this.makePlan(w), true;
    if (o.field === 0) {
      if (is(name, [' ', 'left', 'right', 'h', 'l'])) return this.patchWizard({ options: { ...o, mode: o.mode === 'side-by-side' ? 'in-place' : 'side-by-side', field: 0 } }), true;
      return false;
    }
    const key = (o.mode === 'side-by-side' ? ['', 'dataDir', 'port', 'verifyQuery'] : ['', 'verifyQuery'])[o.field] as 'dataDir' | 'port' | 'verifyQuery';
    if (name === 'backspace') return this.patchWizard({ options: { ...o, [key]: o[key].slice(0, -1) } }), true;
    const t = typedText(input, k);
    if (t) this.patchWizard({ options: { ...o, [key]: o[key] + t } });
    return true;
  }

  /** Stage steps: move among the steps; Enter runs the selected one if it is the next to run. */
  private stepsKey(w: WizardState, name: string): boolean {
    const plan = w.plan.data;
    if (!plan) return false;
    if (this.wizardMove(w, name, plan.steps.length, 'stepCursor')) return true;
    if (name !== 'enter' || w.running) return name === 'enter';
    const first = plan.steps.findIndex((s) => s.status !== 'done');
    if (first < 0) return this.flash('every step is done'), true;
    if (w.stepCursor > first) return this.flash(`run step ${first + 1} (${plan.steps[first]!.name}) first`, 'warn'), true;
    if (plan.steps[w.stepCursor]!.status === 'done') return this.flash('this step is done; it can be run again only by the steps after it failing', 'warn'), true;
    const step = w.stepCursor + 1;
    // the first step of an in-place recovery stops the running server: type the cluster's name first
    if (plan.mode === 'in-place' && w.stepCursor === first && first === 0) this.confirmInPlace(w, plan, step);
    else this.runStep(step);
    return true;
  }

  private confirmInPlace(w: WizardState, plan: PitrPlan, step: number): void {
    this.dispatch({
      type: 'dialog/open',
      dialog: { kind: 'confirm', title: `In-place recovery of ${plan.cluster}`, lines: [`the running server of ${plan.cluster} is stopped and its data directory ${plan.dataDir} is moved aside`, 'then the base backup is restored there and WAL replayed'], expected: plan.cluster, typed: '', intent: { kind: 'pitr-step', host: w.host, cluster: w.cluster, planId: plan.id, step } },
    });
  }

  private openFinder(w: WizardState): void {
    this.patchWizard({ stage: 'finder', finder: { loading: true, cursor: 0 } });
    void this.fleet.load(this.fleet.call(w.host, 'pitr.targets', { cluster: w.cluster }), (v) => {
      const cur = this.s.wizard;
      if (cur) this.patchWizard({ finder: { ...v, cursor: 0 } });
    });
  }

  private makePlan(w: WizardState): void {
    const o = w.options;
    const kind = TARGET_KINDS[w.targetCursor]!;
    const target: Record<string, string | boolean> = {}; // one of time, lsn, xid, name, latest, immediate
    if (w.picked) target[w.picked.kind] = w.picked.value;
    else if (kind === 'latest' || kind === 'immediate') target[kind] = true;
    else target[kind] = w.value.trim();
    const params: ParamsOf<'pitr.plan'> = { cluster: w.cluster, ...target, inclusive: w.inclusive };
    if (o.mode === 'side-by-side') {
      if (!o.dataDir.trim() || !/^\d+$/.test(o.port.trim())) {
        this.flash('side by side needs a new data directory and a port for the recovered server', 'warn');
        return;
      }
      params.toDatadir = o.dataDir.trim();
      params.port = Number(o.port.trim());
    }
    if (o.verifyQuery.trim()) params.verifyQuery = o.verifyQuery.trim();
    this.patchWizard({ stage: 'plan' });
    void this.fleet.load(this.fleet.call(w.host, 'pitr.plan', params), (plan) => this.patchWizard({ plan }));
  }

  private showSteps(plan: PitrPlan): void {
    const first = plan.steps.findIndex((s) => s.status !== 'done');
    this.patchWizard({ stage: 'steps', plan: { loading: false, data: plan }, stepCursor: first < 0 ? plan.steps.length - 1 : first });
  }

  /** Run one step of the wizard's plan as a job; the plan is re-read from the agent when it ends. */
  private runStep(step: number): void {
    const w = this.s.wizard;
    const plan = w?.plan.data;
    if (!w || !plan) return;
    const { stepError: _e, ...rest } = w;
    this.dispatch({ type: 'wizard/set', wizard: rest });
    void this.fleet
      .startJob(w.host, 'pitr', { plan: plan.id, step }, `PITR ${plan.id} step ${step} (${plan.steps[step - 1]?.name})`)
      .then((jobId) => {
        this.patchWizard({ running: { jobId, step } });
        this.whenDone(w.host, jobId, () => {
          const job = this.s.live[`${w.host}/${jobId}`];
          void this.fleet.call(w.host, 'pitr.show', { plan: plan.id }).then(
            (fresh) => {
              const next = fresh.steps.findIndex((s) => s.status !== 'done');
              this.patchWizard({ plan: { loading: false, data: fresh }, stepCursor: job?.status === 'succeeded' && next >= 0 ? next : step - 1 });
              this.clearRunning(job?.error);
            },
            (err: unknown) => this.clearRunning(toLifeboatError(err).toJSON()),
          );
        });
      })
      .catch((err: unknown) => this.patchWizard({ stepError: toLifeboatError(err).toJSON() }));
  }

  private clearRunning(error?: WizardState['stepError']): void {
    const w = this.s.wizard;
    if (!w) return;
    const { running: _r, stepError: _e, ...rest } = w;
    this.dispatch({ type: 'wizard/set', wizard: { ...rest, ...(error ? { stepError: error } : {}) } });
  }
}
