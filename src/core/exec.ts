import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { LifeboatError } from './errors.js';

/** How to reach a tool: an optional command prefix (`sudo -u postgres`, `docker exec -i pg`) and bin dir. */
export interface ToolOptions {
  prefix?: readonly string[];
  /** Directory of the binary; ignored when a prefix is set (the prefix's PATH decides). */
  bindir?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  cwd?: string;
  /** Text for stdin. */
  input?: string;
}

/** The argv actually run: never a shell string. */
export function toolArgv(bin: string, args: readonly string[], opts: ToolOptions = {}): [string, string[]] {
  const prefix = opts.prefix ?? [];
  const exe = prefix.length === 0 && opts.bindir ? path.join(opts.bindir, bin) : bin;
  if (prefix.length > 0) return [prefix[0]!, [...prefix.slice(1), exe, ...args]];
  return [exe, [...args]];
}

/** Start a tool with stdout as a stream (for dumps) and stderr buffered for errors. */
export function spawnTool(
  bin: string,
  args: readonly string[],
  opts: ToolOptions & { stdin?: 'pipe' | 'ignore'; stdout?: 'pipe' | 'ignore' } = {},
): ResultPromise<{ stdin: 'pipe' | 'ignore'; stdout: 'pipe' | 'ignore'; stderr: 'pipe'; buffer: { stdout: false; stderr: true } }> {
  const [file, argv] = toolArgv(bin, args, opts);
  return execa(file, argv, {
    stdin: opts.stdin ?? 'ignore',
    stdout: opts.stdout ?? 'pipe',
    stderr: 'pipe',
    buffer: { stdout: false, stderr: true },
    env: opts.env ?? {},
    extendEnv: true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    forceKillAfterDelay: 2000,
  }) as never;
}

/** Run a tool to completion; resolves with its stdout, throws a LifeboatError naming the tool. */
export async function runTool(bin: string, args: readonly string[], opts: ToolOptions = {}): Promise<string> {
  const [file, argv] = toolArgv(bin, args, opts);
  try {
    const res = await execa(file, argv, {
      env: opts.env ?? {},
      extendEnv: true,
      ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
      stripFinalNewline: true,
      forceKillAfterDelay: 2000,
    });
    return res.stdout;
  } catch (err) {
    throw toolError(bin, err, opts);
  }
}

/** Map an execa failure to one clear LifeboatError. */
export function toolError(bin: string, err: unknown, opts: ToolOptions = {}): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = err as { code?: string; isCanceled?: boolean; stderr?: unknown; exitCode?: number; signal?: string; shortMessage?: string; message?: string };
  if (e.isCanceled || opts.signal?.aborted) return new LifeboatError('CANCELLED', `${bin} was cancelled`);
  if (e.code === 'ENOENT') {
    const where = opts.prefix?.length ? `via "${opts.prefix.join(' ')}"` : opts.bindir ? `in ${opts.bindir}` : 'on PATH';
    return new LifeboatError('BINARY_MISSING', `${opts.prefix?.length ? opts.prefix[0] : bin} not found ${where}`, {
      hint: `install the PostgreSQL client tools (Debian: apt-get install postgresql-client) or set "bindir" in the cluster's connection config`,
    });
  }
  if (e.code && e.exitCode === undefined && !e.signal) {
    // the tool never started (EACCES on the working directory or binary, EMFILE, ...): say so, not "failed (failure)"
    return new LifeboatError('COMMAND_FAILED', `${bin} could not be started: ${e.code}${e.code === 'EACCES' ? ` (permission denied; is the working directory ${process.cwd()} readable by this user?)` : ''}`, {
      hint: e.code === 'EACCES' ? 'start the agent from a directory its user can enter (e.g. cd / first), or fix the permissions' : undefined,
    });
  }
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
  const line = lastMeaningfulLine(stderr);
  const status = e.exitCode !== undefined ? `exit code ${e.exitCode}` : e.signal ? `signal ${e.signal}` : 'failure';
  return new LifeboatError('COMMAND_FAILED', `${bin} failed (${status})${line ? ': ' + line : ''}`, {
    details: { stderr: stderr.slice(-4000) },
  });
}

function lastMeaningfulLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  // pg tools print "pg_dump: error: ..." then details; prefer the first error line
  const errLine = lines.find((l) => /\berror:|FATAL:|ERROR:/.test(l));
  return (errLine ?? lines[lines.length - 1] ?? '').slice(0, 400);
}

/**
 * Feed a stream into a tool's stdin and wait for both. Resolves with the tool's
 * stdout when `captureStdout` (else ''). A source error (e.g. a checksum
 * mismatch) wins over the tool's error. A tool that exits successfully before
 * reading everything (`pg_restore --list`) is fine: the broken pipe is ignored.
 */
export async function pipeToTool(
  bin: string,
  args: readonly string[],
  source: import('node:stream').Readable,
  opts: ToolOptions & { captureStdout?: boolean } = {},
): Promise<string> {
  const [file, argv] = toolArgv(bin, args, opts);
  const child = execa(file, argv, {
    stdin: 'pipe',
    stdout: opts.captureStdout ? 'pipe' : 'ignore',
    stderr: 'pipe',
    env: opts.env ?? {},
    extendEnv: true,
    stripFinalNewline: true,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    forceKillAfterDelay: 2000,
  });
  let sourceError: unknown;
  const { pipeline } = await import('node:stream/promises');
  const feeding = pipeline(source, child.stdin!).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') return;
    sourceError = err;
    child.kill();
  });
  try {
    const res = await child;
    await feeding;
    if (sourceError) throw sourceError;
    return typeof res.stdout === 'string' ? res.stdout : '';
  } catch (err) {
    await feeding;
    source.destroy();
    if (sourceError) throw sourceError;
    throw toolError(bin, err, opts);
  }
}
