/**
 * The archive hooks, kept apart from the rest of the CLI so PostgreSQL's
 * archive_command and restore_command start fast: no commander, no zod, no
 * plugin host, no state, nothing the WAL path does not use (src/wal/target.ts
 * explains the light config path). They run on the database host, in-process:
 * they are the agent's own hooks, called by PostgreSQL rather than by an operator.
 *
 *   lifeboat [--config FILE] wal push [--cluster NAME] %p
 *   lifeboat [--config FILE] wal push --async [--cluster NAME] [--spool DIR] %p
 *   lifeboat [--config FILE] wal fetch [--cluster NAME] %f %p
 *
 * `--async` is what bin/lifeboat-archive runs when the spool has no answer yet
 * (docs/operations.md, "Async WAL archiving"); `--daemon` is the background
 * pusher it starts (internal).
 *
 * Exit codes: 0 done; 1 failed (push: PostgreSQL retries); fetch of a file the
 * archive does not have: 1 with no message (recovery probes for such files);
 * fetch of a file the archive has but cannot deliver intact (damaged, storage
 * failure): FETCH_ABORT, above 125, which PostgreSQL treats as fatal: recovery
 * stops at that segment instead of taking it for the end of the archive and
 * promoting early.
 */
import path from 'node:path';
import { LifeboatError, toLifeboatError } from '../core/errors.js';
import { forCli } from '../core/fields.js';
import { asyncPush } from '../wal/async-push.js';
import { fetchWalFile, pushWalFile } from '../wal/push.js';
import { runPusher } from '../wal/pusher.js';
import { resolveWalTarget, spoolRoot } from '../wal/target.js';

const USAGE = `usage: lifeboat [--config FILE] wal push [--cluster NAME] PATH
       lifeboat [--config FILE] wal push --async [--cluster NAME]
                [--spool DIR] PATH
       lifeboat [--config FILE] wal fetch [--cluster NAME] NAME DEST

PostgreSQL runs these: archive_command = 'lifeboat --config FILE wal push %p'
(or bin/lifeboat-archive for async archiving), restore_command =
'lifeboat --config FILE wal fetch %f %p'. lifeboat check prints the exact lines.
`;

function usage(code = 2): never {
  (code === 0 ? process.stdout : process.stderr).write(USAGE);
  process.exit(code);
}

export async function walMain(argv: string[]): Promise<number> {
  let config: string | undefined;
  let cluster: string | undefined;
  let spool: string | undefined;
  let pgWal: string | undefined;
  let isAsync = false;
  let daemon = false;
  const rest: string[] = [];
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined) {
      process.stderr.write(`lifeboat: ${flag} needs a value\n`);
      usage();
    }
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') config = value(++i, a);
    else if (a.startsWith('--config=')) config = a.slice(9);
    else if (a === '--cluster' || a === '-c') cluster = value(++i, a);
    else if (a.startsWith('--cluster=')) cluster = a.slice(10);
    else if (a === '--spool') spool = value(++i, a);
    else if (a === '--pg-wal') pgWal = value(++i, a);
    else if (a === '--async') isAsync = true;
    else if (a === '--daemon') daemon = true;
    else if (a === '-h' || a === '--help') usage(0);
    else rest.push(a);
  }
  if (rest[0] !== 'wal') usage();
  const [, sub, ...args] = rest;
  try {
    if (sub === 'push' && daemon && args.length === 0 && cluster && spool && pgWal) {
      return await runPusher({ ...(config ? { configArg: config } : {}), cluster, spoolRoot: path.resolve(spool), pgWal: path.resolve(pgWal) });
    }
    if (sub === 'push' && args.length === 1 && !daemon) {
      const t = await resolveWalTarget(config, cluster);
      if (isAsync) {
        const r = await asyncPush(t, args[0]!, { spoolRoot: path.resolve(spool ?? spoolRoot(t)), lifeboat: [process.execPath, process.argv[1]!] });
        if (r.how === 'failed') {
          process.stderr.write(r.lines);
          return 1;
        }
        if (r.how === 'direct') {
          if (r.warning) process.stderr.write(`lifeboat: wal push: ${r.warning}\n`);
          if (r.result.alreadyArchived) process.stderr.write(`lifeboat: ${r.name} was already archived with the same content\n`);
        }
        return 0;
      }
      const r = await pushWalFile(t, args[0]!);
      if (r.alreadyArchived) process.stderr.write(`lifeboat: ${r.name} was already archived with the same content\n`);
      return 0;
    }
    if (sub === 'fetch' && args.length === 2 && !isAsync && !daemon) {
      const t = await resolveWalTarget(config, cluster);
      await fetchWalFile(t, args[0]!, args[1]!);
      return 0;
    }
  } catch (err) {
    const e = toLifeboatError(err);
    if (sub === 'fetch' && e.code === 'NOT_FOUND') return 1; // recovery asks for files that do not exist
    process.stderr.write(`lifeboat: wal ${sub}: ${forCli(e.message)}\n${e.hint ? `  hint: ${forCli(e.hint)}\n` : ''}`);
    // never let recovery take a segment it could not get intact for the end of WAL
    if (sub === 'fetch' && e.exitCode === 1) return FETCH_ABORT;
    return e instanceof LifeboatError ? e.exitCode : 1;
  }
  return usage();
}

/** Exit code that makes PostgreSQL abort recovery (it treats > 125 like a signal: FATAL). */
export const FETCH_ABORT = 200;

process.exitCode = await walMain(process.argv.slice(2));
