/**
 * One registry of error codes. Every error that reaches an operator carries a
 * stable code, a one-line message and, where someone must act, a hint.
 * Errors cross the RPC wire as `{ code, message, hint, cause }` and are rebuilt
 * on the other side with `LifeboatError.fromJSON`.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { currentOsUser, deniedBecause, type Denial } from './access.js';

export const ErrorCodes = {
  // the operator must act (exit code 2: usage or configuration)
  USAGE: { exit: 2, who: 'user' },
  CONFIG_INVALID: { exit: 2, who: 'user' },
  CONFIG_NOT_FOUND: { exit: 2, who: 'user' },
  UNKNOWN_CLUSTER: { exit: 2, who: 'user' },
  UNKNOWN_BACKUP: { exit: 2, who: 'user' },
  AMBIGUOUS_BACKUP: { exit: 2, who: 'user' },
  CONFIRMATION_REQUIRED: { exit: 2, who: 'user' },
  TARGET_EXISTS: { exit: 2, who: 'user' },
  UNSUPPORTED: { exit: 2, who: 'user' },
  UNKNOWN_HOST: { exit: 2, who: 'user' },
  HOST_EXISTS: { exit: 2, who: 'user' },
  // something failed (exit code 1)
  CONNECTION_FAILED: { exit: 1, who: 'user' },
  BINARY_MISSING: { exit: 1, who: 'user' },
  COMMAND_FAILED: { exit: 1, who: 'user' },
  LOCKED: { exit: 1, who: 'user' },
  KEY_INVALID: { exit: 1, who: 'user' },
  NOT_FOUND: { exit: 1, who: 'user' },
  STORAGE_FAILED: { exit: 1, who: 'user' },
  /** the repository's identity file (lifeboat.json) is missing: storage not mounted, wrong path */
  REPO_MISSING: { exit: 1, who: 'user' },
  /** async WAL archiving: more segments wait than walArchive.maxQueue allows (none dropped) */
  QUEUE_FULL: { exit: 1, who: 'user' },
  /** a file or directory Lifeboat must use is not usable: permissions, a file where a directory belongs, read-only */
  FILE_ACCESS: { exit: 1, who: 'user' },
  MANIFEST_INVALID: { exit: 1, who: 'user' },
  VERIFY_FAILED: { exit: 1, who: 'user' },
  RESTORE_FAILED: { exit: 1, who: 'user' },
  CANCELLED: { exit: 1, who: 'user' },
  PROTOCOL: { exit: 1, who: 'us' },
  AGENT_FAILED: { exit: 1, who: 'user' },
  // SSH transport (src/fleet): unreachable host, failed login, host key refused
  HOST_UNREACHABLE: { exit: 1, who: 'user' },
  AUTH_FAILED: { exit: 1, who: 'user' },
  HOST_KEY_UNKNOWN: { exit: 1, who: 'user' },
  HOST_KEY_CHANGED: { exit: 1, who: 'user' },
  INTERNAL: { exit: 1, who: 'us' },
} as const satisfies Record<string, { exit: number; who: 'user' | 'us' }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface SerializedError {
  code: ErrorCode;
  message: string;
  hint?: string;
  cause?: string;
  details?: Record<string, unknown>;
}

export class LifeboatError extends Error {
  override readonly name = 'LifeboatError';
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.details !== undefined) this.details = options.details;
  }

  get exitCode(): number {
    return ErrorCodes[this.code]?.exit ?? 1;
  }

  toJSON(): SerializedError {
    const out: SerializedError = { code: this.code, message: this.message };
    if (this.hint) out.hint = this.hint;
    if (this.cause !== undefined) out.cause = describeCause(this.cause);
    if (this.details) out.details = this.details;
    return out;
  }

  static fromJSON(data: SerializedError): LifeboatError {
    const code = data.code in ErrorCodes ? data.code : 'INTERNAL';
    const opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {};
    if (data.hint) opts.hint = data.hint;
    if (data.cause) opts.cause = data.cause;
    if (data.details) opts.details = data.details;
    return new LifeboatError(code, data.message, opts);
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  return String(cause);
}

/** Turn anything thrown into a LifeboatError, keeping codes of ones that already are. */
export function toLifeboatError(err: unknown, fallback: ErrorCode = 'INTERNAL'): LifeboatError {
  if (err instanceof LifeboatError) return err;
  if (isLifeboatErrorLike(err)) return LifeboatError.fromJSON(err);
  if (err instanceof Error) {
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') {
      return new LifeboatError('STORAGE_FAILED', `no space left on device: ${err.message}`, {
        hint: 'free space on the repository file system or point the repository elsewhere',
        cause: err,
      });
    }
    const file = fileError(err as NodeJS.ErrnoException);
    if (file) return file;
    return new LifeboatError(fallback, err.message, { cause: err });
  }
  return new LifeboatError(fallback, String(err));
}

/** The OS user this process runs as, for messages ("permission denied: postgres may not ..."). */
export function osUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER || `uid ${process.getuid?.() ?? '?'}`;
  }
}
const whoami = osUserName;

/**
 * A file-system error in plain words, naming the path and what to do, instead
 * of `EACCES: permission denied, mkdir '...'` (or an EISDIR with no path at all).
 */
export function fileError(err: NodeJS.ErrnoException, what = ''): LifeboatError | undefined {
  const where = err.path ? `${what ? `${what} ` : ''}${err.path}` : what;
  const op = err.syscall ? ` (${err.syscall})` : '';
  const opts = { cause: err };
  switch (err.code) {
    case 'EACCES':
    case 'EPERM': {
      const denial = err.path ? whyDenied(err.path, err.syscall) : undefined;
      return new LifeboatError('FILE_ACCESS', `permission denied: ${whoami()} may not use ${where || 'a file'}${op}${denial ? `: ${denial.text}` : ''}`, {
        ...opts,
        hint: where ? `give ${whoami()} access to ${denial?.path ?? err.path ?? where} (or run lifeboat as the user that owns it)` : 'check the permissions of the paths in the config',
      });
    }
    case 'EISDIR':
      return new LifeboatError('FILE_ACCESS', `${where || 'a path Lifeboat reads as a file'} is a directory, where a file belongs${op}`, { ...opts, hint: 'point the setting at a file' });
    case 'ENOTDIR':
    case 'EEXIST':
      if (err.syscall !== 'mkdir' && err.code === 'EEXIST') return undefined;
      return new LifeboatError('FILE_ACCESS', `${where || 'a path'} (or a directory above it) is a file, where a directory belongs${op}`, {
        ...opts,
        hint: 'point the setting at a directory, or move the file out of the way',
      });
    case 'EROFS':
      return new LifeboatError('FILE_ACCESS', `${where || 'a path'} is on a read-only file system${op}`, { ...opts, hint: 'remount it read-write or point the setting elsewhere' });
    default:
      return undefined;
  }
}

/** What stopped this process at `file` for `syscall` (mode bits of it and the directories above). */
function whyDenied(file: string, syscall: string | undefined): Denial | undefined {
  try {
    const me = currentOsUser(whoami());
    if (!existsSync(file)) return deniedBecause(file, 'write', me); // being created, or a directory above stops it
    const changesEntries = ['rmdir', 'rename', 'link', 'unlink', 'symlink', 'copyfile'].includes(syscall ?? '');
    return changesEntries ? deniedBecause(path.dirname(file), 'write', me) : deniedBecause(file, 'read', me);
  } catch {
    return undefined; // an explanation only: never let it hide the error
  }
}

/** Errors from another copy of this module (a third-party plugin bundling its own SDK). */
function isLifeboatErrorLike(err: unknown): err is SerializedError {
  return (
    typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'LifeboatError' &&
    typeof (err as { code?: unknown }).code === 'string' && typeof (err as { message?: unknown }).message === 'string'
  );
}

export function isNotFound(err: unknown): boolean {
  return (
    (err instanceof LifeboatError && err.code === 'NOT_FOUND') ||
    (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT')
  );
}
