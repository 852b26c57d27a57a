import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { z, type ZodType } from 'zod';
import type { Compression } from '../compression.js';
import { LifeboatError } from '../errors.js';
import type { LogicalDetails } from '../manifest.js';
import type { StoredObject } from '../pipeline.js';
import {
  definePlugin,
  type BackupReader,
  type BackupWriter,
  type Check,
  type LifeboatPlugin,
  type RestorePlan,
  type ServerInfo,
  type SourcePlugin,
  type SourceSteps,
  type StepContext,
} from '../plugin.js';
import { SeededStream } from './streams.js';

/** How a scripted object's data fails (see {@link FakeObject.fail}). */
export interface FakeFailure {
  /**
   * Bytes of the object's data the consumer gets before the failure (capped at
   * the object's size: then all of it, but never its end).
   */
  afterBytes: number;
  /**
   * - `throw` (default): the step stops its data, waits for the write to settle
   *   and throws `error`: a plugin whose tool died mid-dump.
   * - `stream`: the data stream itself errors with `error` and the step throws
   *   whatever the writer rejects with: a broken pipe, as the core sees it.
   * - `stall`: the data stops until `ctx.signal` aborts (then errors CANCELLED):
   *   for cancelling mid-stream; {@link FakeSource.stalled} says when.
   */
  how?: 'throw' | 'stream' | 'stall';
  error?: () => Error;
}

/** One object the fake's logical backup writes: `bytes` of SeededStream data. */
export interface FakeObject {
  /** Name in the backup (key-safe, unique, not manifest.json). */
  name: string;
  bytes: number;
  /** SeededStream seed; default 1 + the object's index in the script. */
  seed?: number;
  /** Chunk size of the data stream; default 64 KiB. */
  chunkSize?: number;
  fail?: FakeFailure;
}

export type FakeStepName = 'probe' | 'logicalBackup' | 'verifyStructure' | 'verifyRestore' | 'planRestore' | 'applyRestore';

/**
 * What the fake does. `server`, `objects` and `failStep` are read at every call
 * (a test may change them between calls); `name`, `configSchema` and `steps`
 * when the fake is made.
 */
export interface FakeSourceScript<TConfig> {
  /** `meta.name`, what `clusters.<name>.source` names; default `fake`. */
  name?: string;
  /** Validates the cluster's `connection`; default `{ database?: string }`, strict. */
  configSchema?: ZodType<TConfig>;
  /** Overrides of what `probe` returns (default: PostgreSQL 16, databases `app`). */
  server?: Partial<ServerInfo>;
  /** What `logicalBackup` writes, in order; default one object `dump` of 64 KiB. */
  objects?: FakeObject[];
  /** Steps that throw at once, before doing anything. */
  failStep?: Partial<Record<FakeStepName, () => Error>>;
  /** Optional steps (physicalBackup, serverStatus, ...) or replacements of the fake's own. */
  steps?: Partial<SourceSteps<TConfig>>;
}

/** One step call the fake received: `args` are the step's arguments after `ctx`. */
export interface FakeCall<TConfig> {
  step: FakeStepName;
  ctx: StepContext<TConfig>;
  args: unknown[];
}

export interface FakeSource<TConfig> {
  /** The plugin to register (e.g. `new PluginRegistry([fake.plugin, ...])`). */
  readonly plugin: LifeboatPlugin<TConfig> & { source: SourcePlugin<TConfig> };
  /** The live script: change it to change what the next call does. */
  readonly script: FakeSourceScript<TConfig>;
  /** Every step call, in order. */
  readonly calls: FakeCall<TConfig>[];
  /** Calls of one step. */
  callsOf(step: FakeStepName): FakeCall<TConfig>[];
  /** What the BackupWriter resolved with, over all backups. */
  readonly written: StoredObject[];
  /** Resolves when the first `stall` failure has stopped its data: the moment to cancel. */
  readonly stalled: Promise<{ object: string; bytes: number }>;
  /** sha256 of a scripted object's raw data (what a restore must read back); undefined if not scripted. */
  expectedSha256(name: string): Promise<string | undefined>;
}

export const FakeConfigSchema = z.object({ database: z.string().optional() }).strict();
export type FakeConfig = z.infer<typeof FakeConfigSchema>;

const DEFAULT_OBJECTS: FakeObject[] = [{ name: 'dump', bytes: 64 * 1024 }];
const CHUNK = 64 * 1024;

/** SeededStream that stops where a FakeFailure says, by intercepting what it pushes. */
class ScriptedData extends SeededStream {
  #produced = 0;
  #stopped = false;
  #reached!: () => void;
  /** Resolves when the failure point is reached. */
  readonly reached = new Promise<void>((resolve) => (this.#reached = resolve));

  constructor(
    private readonly obj: FakeObject,
    seed: number,
    private readonly onFail: (at: number) => void,
  ) {
    super(obj.bytes, seed, obj.chunkSize ?? CHUNK);
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    const fail = this.obj.fail;
    if (!fail) return super.push(chunk, encoding);
    if (this.#stopped) return false; // past the point: nothing more goes through, not even the end
    const at = Math.min(fail.afterBytes, this.obj.bytes);
    if (chunk !== null) {
      const buf = chunk as Buffer;
      const take = Math.min(buf.length, at - this.#produced);
      this.#produced += take;
      if (this.#produced < at) return super.push(buf);
      if (take > 0) super.push(take === buf.length ? buf : buf.subarray(0, take));
    }
    this.#stopped = true;
    void this.#drained().then(() => {
      if (this.destroyed) return; // the consumer gave up first (a storage failure): its error is the one
      this.onFail(at);
      if ((fail.how ?? 'throw') === 'stream') this.destroy(fail.error?.() ?? new Error(`fake data of ${this.obj.name} broke after ${at} bytes`));
      this.#reached();
    });
    return false;
  }

  /** Once the consumer has taken every byte up to the point (so it saw exactly `afterBytes`), or gave up. */
  async #drained(): Promise<void> {
    while (this.readableLength > 0 && !this.destroyed) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A cancelled step stops before the next object, as CANCELLED (what a real plugin's killed tool becomes). */
function notCancelled(ctx: StepContext<unknown>, next: string): void {
  if (ctx.signal.aborted) throw new LifeboatError('CANCELLED', `fake step cancelled before ${next}`);
}

/** sha256 of `bytes` of SeededStream data, as ScriptedData produces it. */
async function seededSha256(bytes: number, seed: number, chunkSize: number): Promise<string> {
  const s = new SeededStream(bytes, seed, chunkSize);
  for await (const _ of s) void _;
  return s.sha256();
}

/**
 * A source plugin (built with `definePlugin`) whose steps are scripted by the
 * test, to run the core's units in process without a database:
 *
 * - `probe` returns `script.server`;
 * - `logicalBackup` writes `script.objects` through the BackupWriter (seeded
 *   bytes, the options' compression), failing where an object's `fail` says, and
 *   returns logical details naming them (one database, no tables);
 * - `verifyStructure`, `verifyRestore` and `applyRestore` read every object of
 *   the backup back and compare its bytes with the script (a mismatch is a failed
 *   check; a read error, such as VERIFY_FAILED from the reader, is thrown);
 * - `planRestore` plans one `restore` action.
 *
 * Every call is recorded in `calls`. Optional steps come from `script.steps`.
 */
export function fakeSource<TConfig = FakeConfig>(script: FakeSourceScript<TConfig> = {}): FakeSource<TConfig> {
  const calls: FakeCall<TConfig>[] = [];
  const written: StoredObject[] = [];
  const digests = new Map<string, Promise<string>>();
  let onStalled!: (s: { object: string; bytes: number }) => void;
  const stalled = new Promise<{ object: string; bytes: number }>((resolve) => (onStalled = resolve));

  const objects = () => script.objects ?? DEFAULT_OBJECTS;
  const seedOf = (o: FakeObject) => o.seed ?? 1 + objects().indexOf(o);
  const enter = (step: FakeStepName, ctx: StepContext<TConfig>, args: unknown[]) => {
    calls.push({ step, ctx, args });
    const fail = script.failStep?.[step];
    if (fail) throw fail();
  };
  const server = (): ServerInfo => ({
    version: '16.4 (fake)',
    versionNum: 160004,
    systemIdentifier: '7400000000000000001',
    databases: ['app'],
    database: 'app',
    ...script.server,
  });
  const expected = (name: string): Promise<string> | undefined => {
    const o = objects().find((x) => x.name === name);
    if (!o) return undefined;
    const id = `${o.bytes}/${seedOf(o)}/${o.chunkSize ?? CHUNK}`;
    if (!digests.has(id)) digests.set(id, seededSha256(o.bytes, seedOf(o), o.chunkSize ?? CHUNK));
    return digests.get(id);
  };

  /** Read every object back and compare it with the script. */
  const readBack = async (ctx: StepContext<TConfig>, backup: BackupReader): Promise<Check[]> => {
    const checks: Check[] = [];
    for (const obj of backup.manifest.objects) {
      notCancelled(ctx, obj.name);
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of await backup.open(obj.name)) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      const want = await expected(obj.name);
      const got = hash.digest('hex');
      checks.push(
        want === undefined
          ? { name: `${obj.name}: scripted`, ok: false, detail: 'the script has no object of this name' }
          : { name: `${obj.name}: bytes`, ok: got === want, detail: `${size} bytes, sha256 ${got.slice(0, 16)}…${got === want ? '' : `, expected ${want.slice(0, 16)}…`}` },
      );
    }
    return checks;
  };

  const writeObject = async (ctx: StepContext<TConfig>, out: BackupWriter, o: FakeObject, compression: Compression): Promise<void> => {
    const how = o.fail?.how ?? 'throw';
    const data = new ScriptedData(o, seedOf(o), (at) => {
      if (how !== 'stall') return;
      onStalled({ object: o.name, bytes: at });
      const cancel = () => data.destroy(new LifeboatError('CANCELLED', `fake data of ${o.name} cancelled after ${at} bytes`));
      if (ctx.signal.aborted) process.nextTick(cancel);
      else ctx.signal.addEventListener('abort', cancel, { once: true });
    });
    const writing = out.write(o.name, data as Readable, { compression, expectedBytes: o.bytes });
    if (o.fail && how === 'throw') {
      const first = await Promise.race([data.reached.then(() => 'reached' as const), writing.then(() => 'written' as const, () => 'failed' as const)]);
      if (first === 'reached') {
        data.destroy();
        await writing.catch(() => undefined);
        throw o.fail.error?.() ?? new LifeboatError('COMMAND_FAILED', `fake dump failed after ${o.fail.afterBytes} bytes of ${o.name}`);
      }
    }
    written.push(await writing);
  };

  const steps: SourceSteps<TConfig> = {
    async probe(ctx) {
      enter('probe', ctx, []);
      return server();
    },
    async logicalBackup(ctx, out, options) {
      enter('logicalBackup', ctx, [out, options]);
      const info = server();
      const names: string[] = [];
      for (const o of objects()) {
        notCancelled(ctx, o.name);
        await writeObject(ctx, out, o, options.compression);
        names.push(o.name);
      }
      const logical: LogicalDetails = {
        format: options.format,
        scope: options.scope,
        databases: [{ name: options.database ?? info.database, objects: names, rowCounts: {}, tableCount: 0, countsInSnapshot: true }],
        tool: 'fake-dump 1.0',
      };
      return { server: info, logical };
    },
    async verifyStructure(ctx, backup) {
      enter('verifyStructure', ctx, [backup]);
      return readBack(ctx, backup);
    },
    async verifyRestore(ctx, backup) {
      enter('verifyRestore', ctx, [backup]);
      return readBack(ctx, backup);
    },
    async planRestore(ctx, manifest, options) {
      enter('planRestore', ctx, [manifest, options]);
      const plan: RestorePlan = {
        backupId: manifest.id,
        targetDatabase: options.targetDatabase,
        sourceDatabase: options.sourceDatabase ?? manifest.logical?.databases[0]?.name ?? server().database,
        targetExists: server().databases.includes(options.targetDatabase),
        connectedSessions: 0,
        clean: options.clean,
        tables: options.tables,
        schemas: options.schemas,
        actions: [{ kind: 'restore', description: `read back ${manifest.objects.length} objects into ${options.targetDatabase}` }],
        warnings: [],
      };
      for (const k of ['noOwner', 'noPrivileges', 'dataOnly', 'withGlobals'] as const) if (options[k] !== undefined) plan[k] = options[k];
      return plan;
    },
    async applyRestore(ctx, backup, plan) {
      enter('applyRestore', ctx, [backup, plan]);
      const checks = await readBack(ctx, backup);
      return { checks, compared: checks.length, mismatches: checks.filter((c) => !c.ok).length };
    },
  };

  const plugin = definePlugin<TConfig>({
    apiVersion: 1,
    meta: { name: script.name ?? 'fake', version: '0.0.0', description: 'scripted source (tests only)' },
    source: {
      configSchema: script.configSchema ?? (FakeConfigSchema as unknown as ZodType<TConfig>),
      steps: { ...steps, ...script.steps },
    },
  }) as LifeboatPlugin<TConfig> & { source: SourcePlugin<TConfig> };

  return {
    plugin,
    script,
    calls,
    callsOf: (step) => calls.filter((c) => c.step === step),
    written,
    stalled,
    expectedSha256: (name) => expected(name) ?? Promise.resolve(undefined),
  };
}
