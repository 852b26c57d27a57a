/**
 * What the TUI holds: hosts and what their agents said, the route, dialogs, the
 * PITR wizard and followed jobs. Plain data; the reducer (./reducer.ts) is the
 * only thing that changes it.
 *
 * @module
 */
import type { SerializedError } from '../../core/errors.js';
import type { Manifest, Verification } from '../../core/manifest.js';
import type { PitrCandidate, PitrPlan } from '../../core/pitr.js';
import type { BackupSummary } from '../../protocol/index.js';
import type { ClusterOverview } from '../../protocol/index.js';
import type { RecoverableWindow } from '../../protocol/index.js';
import type { JobRecord } from '../../protocol/index.js';
import type { HelloResult, ProgressEvent } from '../../protocol/index.js';

export type { BackupSummary, ClusterOverview, RecoverableWindow, JobRecord, PitrPlan, PitrCandidate, Manifest, Verification };

export interface HostState {
  name: string;
  /** connecting → up; down when the agent could not be reached or went away. */
  conn: 'connecting' | 'up' | 'down';
  /** A refresh is taking longer than it should (the host is shown as slow, never waited for). */
  slow: boolean;
  error?: SerializedError;
  hello?: HelloResult;
  clusters?: ClusterOverview[];
  /** When the overview was last answered (ms since epoch). */
  updatedAt?: number;
  latencyMs?: number;
  jobs?: JobRecord[];
}

export type Route =
  | { view: 'fleet' }
  | { view: 'cluster'; host: string; cluster: string }
  | { view: 'jobs' }
  | { view: 'job'; host: string; jobId: string }
  | { view: 'pitr'; host: string; cluster: string };

export type SortKey = 'host' | 'health' | 'age';
export const SORT_KEYS: readonly SortKey[] = ['host', 'health', 'age'];

export interface Loadable<T> {
  loading: boolean;
  data?: T;
  error?: SerializedError;
}

/** The cluster view's data and cursor. */
export interface ClusterViewState {
  host: string;
  cluster: string;
  backups: Loadable<{ backups: BackupSummary[] }>;
  window: Loadable<RecoverableWindow>;
  /** Details of the backup under the cursor, by id. */
  details: Record<string, Loadable<{ manifest: Manifest; verifications: Verification[] }>>;
  cursor: number;
}

/** A job this TUI follows (started here, or attached). Logs are capped. */
export interface LiveJob {
  host: string;
  jobId: string;
  type: string;
  label: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled';
  progress?: ProgressEvent;
  logs: { level: string; message: string; time: string }[];
  result?: unknown;
  error?: SerializedError;
  startedAt: number;
  cancelRequested?: boolean;
}

export const LOG_CAP = 500;

export const BACKUP_KINDS = ['logical', 'physical'] as const;
export const BACKUP_FORM_TAGS = ['manual', 'daily', 'weekly', 'monthly', 'yearly', 'pre-migration'] as const;
export const VERIFY_LEVELS = ['checksum', 'structure', 'restore'] as const;

/** What a confirmed dialog does: the controller carries it out. */
export type Intent =
  | { kind: 'restore'; host: string; cluster: string; id: string; toDatabase: string }
  | { kind: 'delete'; host: string; cluster: string; id: string }
  | { kind: 'cancel-job'; host: string; jobId: string }
  | { kind: 'pitr-step'; host: string; cluster: string; planId: string; step: number };

export type Dialog =
  | { kind: 'backup'; host: string; cluster: string; field: 0 | 1; kindIdx: number; tagIdx: number }
  | { kind: 'verify'; host: string; cluster: string; id: string; levelIdx: number }
  | { kind: 'restore-target'; host: string; cluster: string; id: string; typed: string }
  /** A plan to read, and a word to type (or y) before `intent` runs. */
  | { kind: 'confirm'; title: string; lines: string[]; expected: string; typed: string; intent: Intent; loading?: boolean; error?: SerializedError }
  | { kind: 'message'; title: string; lines: string[]; error?: boolean };

export const TARGET_KINDS = ['latest', 'time', 'lsn', 'xid', 'name', 'immediate', 'finder'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface WizardState {
  host: string;
  cluster: string;
  stage: 'resume' | 'target' | 'value' | 'finder' | 'options' | 'plan' | 'steps';
  /** Unfinished plans for this cluster recorded on the agent (stage resume). */
  resumable: Loadable<PitrPlan[]>;
  resumeCursor: number;
  targetCursor: number;
  /** The typed value for time/lsn/xid/name. */
  value: string;
  inclusive: boolean;
  finder: Loadable<{ candidates: PitrCandidate[] }> & { cursor: number };
  /** A picked finder candidate fixes the target. */
  picked?: { kind: 'xid' | 'lsn' | 'name' | 'time'; value: string; inclusive: boolean; summary: string };
  options: { field: number; mode: 'side-by-side' | 'in-place'; dataDir: string; port: string; verifyQuery: string };
  plan: Loadable<PitrPlan>;
  stepCursor: number;
  /** The job running the current step. */
  running?: { jobId: string; step: number };
  stepError?: SerializedError;
}

export interface AppState {
  hostOrder: string[];
  hosts: Record<string, HostState>;
  route: Route;
  back: Route[];
  fleet: { cursor: number; sort: SortKey; filter: string; filtering: boolean };
  cluster?: ClusterViewState;
  jobsCursor: number;
  /** Jobs followed by this TUI, by `${host}/${jobId}`. */
  live: Record<string, LiveJob>;
  wizard?: WizardState;
  dialog?: Dialog;
  help: boolean;
  /** One line at the bottom: what just happened. */
  flash?: { text: string; level: 'info' | 'warn' | 'error'; at: number };
  size: { columns: number; rows: number };
  quitting: boolean;
}

export function initialState(size = { columns: 80, rows: 24 }): AppState {
  return {
    hostOrder: [],
    hosts: {},
    route: { view: 'fleet' },
    back: [],
    fleet: { cursor: 0, sort: 'host', filter: '', filtering: false },
    jobsCursor: 0,
    live: {},
    help: false,
    size,
    quitting: false,
  };
}

export const liveKey = (host: string, jobId: string): string => `${host}/${jobId}`;
