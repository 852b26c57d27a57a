/**
 * The archive hooks, kept apart from the rest of the CLI so PostgreSQL's
 * archive_command and restore_command start fast (no commander, no TUI, nothing
 * the WAL path does not use). They run on the database host, in-process: they
 * are the agent's own hooks, called by PostgreSQL rather than by an operator.
 *
 *   lifeboat [--config FILE] wal push [--cluster NAME] %p
 *   lifeboat [--config FILE] wal fetch [--cluster NAME] %f %p
 *
 * Exit codes: 0 done; 1 failed (push: PostgreSQL retries); fetch of a file the
 * archive does not have: 1 with no message (recovery probes for such files).
 */
import { toLifeboatError } from '../core/errors.js';
import { AgentEnv } from '../agent/env.js';
import { walFetch, walPush } from '../agent/units/wal.js';

function usage(): never {
  process.stderr.write('usage: lifeboat [--config FILE] wal push [--cluster NAME] PATH\n       lifeboat [--config FILE] wal fetch [--cluster NAME] NAME DEST\n');
  process.exit(2);
}

export async function walMain(argv: string[]): Promise<number> {
  let config: string | undefined;
  let cluster: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') config = argv[++i];
    else if (a.startsWith('--config=')) config = a.slice(9);
    else if (a === '--cluster' || a === '-c') cluster = argv[++i];
    else if (a.startsWith('--cluster=')) cluster = a.slice(10);
    else if (a === '-h' || a === '--help') usage();
    else rest.push(a);
  }
  if (rest[0] !== 'wal') usage();
  const env = new AgentEnv(config);
  const [, sub, ...args] = rest;
  try {
    if (sub === 'push' && args.length === 1) {
      const r = await walPush(env, { file: args[0]!, ...(cluster ? { cluster } : {}) });
      if (r.alreadyArchived) process.stderr.write(`lifeboat: ${r.name} was already archived with the same content\n`);
      return 0;
    }
    if (sub === 'fetch' && args.length === 2) {
      await walFetch(env, { name: args[0]!, dest: args[1]!, ...(cluster ? { cluster } : {}) });
      return 0;
    }
  } catch (err) {
    const e = toLifeboatError(err);
    if (sub === 'fetch' && e.code === 'NOT_FOUND') return 1; // recovery asks for files that do not exist
    process.stderr.write(`lifeboat: wal ${sub}: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    return e.exitCode;
  }
  return usage();
}

process.exitCode = await walMain(process.argv.slice(2));
