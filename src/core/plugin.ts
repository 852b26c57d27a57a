import type { Readable } from 'node:stream';
import type { ZodType } from 'zod';
import type { Compression } from './compression.js';
import type { LogicalDetails, Manifest, PhysicalDetails } from './manifest.js';
import type { StoredObject } from './pipeline.js';
import type { Storage } from './storage.js';
import type { PitrPlan, PitrStepState, PitrTargetOptions, PitrTargetScan, WalScanSource } from './pitr.js';

/** The plugin API version this lifeboat speaks. */
export const PLUGIN_API_VERSION = 1;

export interface PluginMeta {
  /** Unique name, used in config (`"source": "postgres"`, `"type": "s3"`). */
  name: string;
  version: string;
  description?: string;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Progress {
  /** What is happening now, e.g. `dump app`. */
  phase?: string;
  /** Bytes done in this phase. */
  bytes: number;
  /** Expected total, when known (enables an ETA). */
  totalBytes?: number;
}

/** What every step receives instead of importing the host's internals. */
export interface StepContext<TConfig> {
  /** The cluster as configured; `config` was validated by the plugin's schema. */
  cluster: { name: string; config: TConfig };
  /** Host name of the agent running the step. */
  host: string;
  log(level: LogLevel, message: string): void;
  progress(p: Progress): void;
  /** Aborted when the job is cancelled: kill child processes, stop writing. */
  signal: AbortSignal;
  /** A private temporary directory, removed when the step ends. */
  tmpDir(): Promise<string>;
}

/** Writes objects into the backup being made (compressed, hashed, streamed). */
export interface BackupWriter {
  readonly backupId: string;
  /** Stream `source` into the backup as object `name` (a relative key-safe path). */
  write(
    name: string,
    source: Readable,
    opts?: { compression?: Compression; /** for progress/ETA */ expectedBytes?: number },
  ): Promise<StoredObject>;
}

/** Reads objects of a stored backup: decompressed, and checked against the manifest. */
export interface BackupReader {
  readonly manifest: Manifest;
  /** The stream errors (at the end at the latest) if stored bytes were changed. */
  open(name: string): Promise<Readable>;
}

export interface ServerInfo {
  version: string;
  versionNum: number;
  systemIdentifier: string;
  databases: string[];
  /** Default database of the cluster config. */
  database: string;
}

export type LogicalFormat = 'custom' | 'plain' | 'directory';
export type LogicalScope = LogicalDetails['scope'];

export interface LogicalBackupOptions {
  format: LogicalFormat;
  scope: LogicalScope;
  /** Database to dump; default: the cluster's configured database. Ignored for scope `all`. */
  database?: string;
  compression: Compression;
}

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface RestoreOptions {
  targetDatabase: string;
  /** Source database inside a multi-database (`all`) backup. */
  sourceDatabase?: string;
  clean: boolean;
  tables: string[];
  schemas: string[];
  /** Skip ownership (pg_restore --no-owner): objects belong to the restoring role. */
  noOwner?: boolean;
  /** Skip grants (pg_restore --no-privileges). */
  noPrivileges?: boolean;
  /** Load only rows, into the existing tables of an existing database (implied by a data-only backup). */
  dataOnly?: boolean;
  /** First create the roles and tablespaces the backup carries (its globals) that the target lacks. */
  withGlobals?: boolean;
}

export interface RestoreAction {
  kind: 'load-globals' | 'terminate-connections' | 'drop-database' | 'create-database' | 'create-schema' | 'truncate' | 'restore' | 'compare';
  description: string;
}

export interface RestorePlan {
  backupId: string;
  targetDatabase: string;
  sourceDatabase: string;
  targetExists: boolean;
  /** Sessions connected to the target now (they would be terminated). */
  connectedSessions: number;
  clean: boolean;
  tables: string[];
  schemas: string[];
  noOwner?: boolean;
  noPrivileges?: boolean;
  /** Rows only, into existing tables: appended, or replaced (`clean`: the tables are emptied first). */
  dataOnly?: boolean;
  withGlobals?: boolean;
  actions: RestoreAction[];
  warnings: string[];
}

export interface RestoreResult {
  checks: Check[];
  /** Tables compared with the manifest's row counts. */
  compared: number;
  mismatches: number;
}

export interface ArchivingFinding {
  name: string;
  ok: boolean;
  level: 'ok' | 'warn' | 'error';
  detail: string;
  /** The statement that fixes it, e.g. ALTER SYSTEM SET archive_mode = 'on'; */
  fix?: string;
  needs?: 'reload' | 'restart';
  /**
   * The fix replaces a value set for something else (another tool, or lifeboat
   * with another config or cluster): `setup-archiving` applies it only with --force.
   */
  replacesForeign?: boolean;
  /** Set but not in effect until a restart: the value it will have (the fix is the restart, not the setting again). */
  pending?: string;
}

/** The server's WAL archiver as pg_stat_archiver reports it (times ISO). */
export interface ArchiverStatus {
  archivedCount: number;
  failedCount: number;
  lastArchivedWal?: string;
  lastArchivedAt?: string;
  lastFailedWal?: string;
  lastFailedAt?: string;
  /** The last failure is newer than the last success: archiving is broken now. */
  failingNow: boolean;
}

/** A live server's state, for an overview (one cheap query). */
export interface ServerStatus {
  version: string;
  inRecovery: boolean;
  archiveMode: string;
  archiver: ArchiverStatus;
}

/** What a PITR step reads: the base backup's manifest and its objects (checked against it). */
export interface PitrIo {
  readonly manifest: Manifest;
  /** The `base.tar` object. */
  openBase(): Promise<Readable>;
  /** Any object of the base backup by name (e.g. a tablespace's tar). */
  open(name: string): Promise<Readable>;
  /** Feed an object into a tool's stdin (e.g. `tar -x`), decompressing outside Node; checked like `open`. */
  pipeTo(name: string, bin: string, args: string[]): Promise<void>;
}

/** Steps a source plugin provides. Each runs on the agent of the database host. */
export interface SourceSteps<TConfig> {
  /** Connect and describe the server. Fails with CONNECTION_FAILED or BINARY_MISSING. */
  probe(ctx: StepContext<TConfig>): Promise<ServerInfo>;
  /** Take a logical backup: write objects, return what the manifest records. */
  logicalBackup(
    ctx: StepContext<TConfig>,
    out: BackupWriter,
    options: LogicalBackupOptions,
  ): Promise<{ server: ServerInfo; logical: LogicalDetails }>;
  /** Take a physical base backup (optional: not every source has one). */
  physicalBackup?(
    ctx: StepContext<TConfig>,
    out: BackupWriter,
    options: { compression: Compression },
  ): Promise<{ server: ServerInfo; physical: PhysicalDetails }>;
  /** Inspect what WAL archiving needs; each finding carries the fix (optional). */
  checkArchiving?(ctx: StepContext<TConfig>, expected: { archiveCommand: string }): Promise<ArchivingFinding[]>;
  /**
   * The OS user the server runs as, which runs archive_command and so must read
   * the config and write the repository (optional), and how that was learnt.
   */
  serverOsUser?(ctx: StepContext<TConfig>): Promise<{ name: string; source: string }>;
  /** Close the current WAL segment; returns its file name (optional). */
  switchWal?(ctx: StepContext<TConfig>): Promise<string>;
  /**
   * Apply setting statements from findings, then reload (optional). Returns,
   * when the source can tell, the settings that now wait for a restart.
   */
  applySettings?(ctx: StepContext<TConfig>, statements: string[]): Promise<void | { pendingRestart: string[] }>;
  /**
   * The live server's version, recovery state and archiver counters (optional).
   * Called for overviews: must be quick and honour ctx.signal (the host gives it a few seconds).
   */
  serverStatus?(ctx: StepContext<TConfig>): Promise<ServerStatus>;
  /** Create a named restore point (a PITR target); returns its LSN. */
  createRestorePoint?(ctx: StepContext<TConfig>, name: string): Promise<{ lsn: string }>;
  /** The steps of a point-in-time recovery for a plan (optional: sources without PITR omit it). */
  pitrSteps?(plan: PitrPlan, config: TConfig): PitrStepState[];
  /** Carry out one named step of a plan; idempotent; returns a one-line result. */
  runPitrStep?(ctx: StepContext<TConfig>, plan: PitrPlan, step: string, io: PitrIo): Promise<string>;
  /**
   * Read archived WAL and list candidate recovery targets (restore points, drops,
   * truncates, delete bursts, ...), each with where to stop (optional).
   */
  findTargets?(ctx: StepContext<TConfig>, wal: WalScanSource, options: PitrTargetOptions): Promise<PitrTargetScan>;
  /** Check that the dump's structure is readable (pg_restore --list, header/trailer). */
  verifyStructure(ctx: StepContext<TConfig>, backup: BackupReader): Promise<Check[]>;
  /** Restore into a scratch database, compare with the manifest, always drop it. */
  verifyRestore(ctx: StepContext<TConfig>, backup: BackupReader): Promise<Check[]>;
  /** Read-only: what a restore would do. */
  planRestore(ctx: StepContext<TConfig>, manifest: Manifest, options: RestoreOptions): Promise<RestorePlan>;
  /** Carry out a plan made by planRestore (the host has already taken any safety backup). */
  applyRestore(ctx: StepContext<TConfig>, backup: BackupReader, plan: RestorePlan): Promise<RestoreResult>;
}

export interface SourcePlugin<TConfig> {
  /** Validates `clusters.<name>.connection` in the agent config. */
  configSchema: ZodType<TConfig>;
  steps: SourceSteps<TConfig>;
}

export interface StoragePlugin<TConfig> {
  /** Validates `repositories.<name>` (minus `type`) in the agent config. */
  configSchema: ZodType<TConfig>;
  create(config: TConfig, ctx: { log(level: LogLevel, message: string): void }): Storage | Promise<Storage>;
}

/** What a plugin module exports as default: `export default definePlugin({...})`. */
export interface LifeboatPlugin<TSource = unknown, TStorage = unknown> {
  apiVersion: typeof PLUGIN_API_VERSION;
  meta: PluginMeta;
  source?: SourcePlugin<TSource>;
  storage?: StoragePlugin<TStorage>;
}

/** Identity function that gives plugin authors type checking. */
export function definePlugin<TSource = unknown, TStorage = unknown>(
  plugin: LifeboatPlugin<TSource, TStorage>,
): LifeboatPlugin<TSource, TStorage> {
  return plugin;
}
