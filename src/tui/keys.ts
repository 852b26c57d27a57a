/**
 * Keys: one table that the controller dispatches on and the help overlay lists,
 * so help cannot drift from behaviour. Vim keys and arrows both work.
 *
 * @module
 */

/** Ink's key flags (the subset we read). */
export interface InkKey {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  shift?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  meta?: boolean;
}

/** A key as one name: `up`, `enter`, `esc`, `ctrl-c`, `tab`, `backspace`, or the character typed. */
export function keyName(input: string, k: InkKey): string {
  if (k.upArrow) return 'up';
  if (k.downArrow) return 'down';
  if (k.leftArrow) return 'left';
  if (k.rightArrow) return 'right';
  if (k.pageUp) return 'pgup';
  if (k.pageDown) return 'pgdn';
  if (k.home) return 'home';
  if (k.end) return 'end';
  if (k.return) return 'enter';
  if (k.escape) return 'esc';
  if (k.tab) return k.shift ? 'shift-tab' : 'tab';
  if (k.backspace || k.delete) return 'backspace';
  if (k.ctrl && input) return `ctrl-${input.toLowerCase()}`;
  return input;
}

/** Printable text typed into a field (no control keys). */
export function typedText(input: string, k: InkKey): string {
  if (k.ctrl || k.meta || k.return || k.escape || k.tab || k.backspace || k.delete) return '';
  // eslint-disable-next-line no-control-regex
  return input.replace(/[\x00-\x1f\x7f]/g, '');
}

export type Scope = 'global' | 'fleet' | 'cluster' | 'jobs' | 'job' | 'pitr' | 'dialog';

export interface KeyHelp {
  scope: Scope;
  keys: string[];
  what: string;
}

export const MOVE = { up: ['up', 'k'], down: ['down', 'j'], top: ['g', 'home'], bottom: ['G', 'end'], pageDown: ['pgdn', 'ctrl-d'], pageUp: ['pgup', 'ctrl-u'] };
export const OPEN = ['enter', 'l', 'right'];
export const BACK = ['esc', 'h', 'left'];

/** Every key, by where it works. */
export const KEYS: KeyHelp[] = [
  { scope: 'global', keys: ['j', 'k', '↓', '↑'], what: 'move down / up' },
  { scope: 'global', keys: ['g', 'G'], what: 'first / last row' },
  { scope: 'global', keys: ['Ctrl-d', 'Ctrl-u'], what: 'half a page down / up (also PgDn/PgUp)' },
  { scope: 'global', keys: ['Enter', 'l'], what: 'open' },
  { scope: 'global', keys: ['Esc', 'h'], what: 'back' },
  { scope: 'global', keys: ['J'], what: 'jobs across the fleet' },
  { scope: 'global', keys: ['F'], what: 'fleet overview' },
  { scope: 'global', keys: ['R'], what: 'refresh now' },
  { scope: 'global', keys: ['?'], what: 'this help (any key closes it)' },
  { scope: 'global', keys: ['q', 'Ctrl-c'], what: 'quit (running jobs go on on their agents)' },
  { scope: 'fleet', keys: ['/'], what: 'filter rows (Enter keeps, Esc clears)' },
  { scope: 'fleet', keys: ['s'], what: 'sort by host, health, backup age' },
  { scope: 'fleet', keys: ['b'], what: 'back up the cluster now' },
  { scope: 'fleet', keys: ['w'], what: 'point-in-time recovery wizard' },
  { scope: 'cluster', keys: ['b'], what: 'back up now (choose kind and tag)' },
  { scope: 'cluster', keys: ['v'], what: 'verify the backup (choose level)' },
  { scope: 'cluster', keys: ['r'], what: 'restore the backup (plan, then type the database name)' },
  { scope: 'cluster', keys: ['p'], what: 'pin / unpin the backup' },
  { scope: 'cluster', keys: ['d'], what: 'delete the backup (plan, then type its id)' },
  { scope: 'cluster', keys: ['w'], what: 'point-in-time recovery wizard' },
  { scope: 'jobs', keys: ['Enter'], what: 'follow the job (attach): progress and log' },
  { scope: 'jobs', keys: ['c'], what: 'cancel the job (asks first)' },
  { scope: 'job', keys: ['c'], what: 'cancel this job (asks first)' },
  { scope: 'job', keys: ['Esc'], what: 'leave; the job goes on' },
  { scope: 'pitr', keys: ['Enter'], what: 'choose / next / run the selected step' },
  { scope: 'pitr', keys: ['Esc'], what: 'previous stage (the plan stays on the agent)' },
  { scope: 'pitr', keys: ['Tab'], what: 'next field; on a target: inclusive / exclusive' },
  { scope: 'pitr', keys: ['Space'], what: 'switch side-by-side / in-place' },
  { scope: 'dialog', keys: ['Enter'], what: 'go ahead (after typing what is asked)' },
  { scope: 'dialog', keys: ['Esc'], what: 'cancel: nothing is changed' },
];

export const is = (name: string, list: readonly string[]): boolean => list.includes(name);
