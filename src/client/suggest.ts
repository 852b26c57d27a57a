/**
 * Commands lifeboat suggests ("Apply with: ...", "follow it: ...", a hint)
 * must work when pasted: they carry the global options that decide which agent
 * and which config they reach (-H HOST, --config FILE). One place renders them;
 * the CLI and the TUI both use it.
 */
import { forCli } from '../core/fields.js';
import { shellQuote } from '../core/shell.js';

/** The global options that decide where a command runs. */
export interface Where {
  config?: string | undefined;
  host?: string | undefined;
}

/**
 * Top-level commands that run on an agent with a config, so a suggestion of one
 * carries -H and --config. `hosts` works on this machine's inventory and takes
 * neither; `agent`, `tui` and `help` are not suggested as follow-ups (and the
 * words "the lifeboat agent" must stay prose).
 */
const AGENT_COMMANDS = [
  'init', 'config', 'repo', 'jobs', 'backup', 'list', 'show', 'status', 'verify', 'restore', 'restore-point',
  'pitr', 'wal', 'check', 'setup-archiving', 'expire', 'delete', 'pin', 'unpin',
] as const;
const IN_TEXT = new RegExp(`\\blifeboat (?=(?:${AGENT_COMMANDS.join('|')})(?![\\w-]))`, 'g');

function globalWords(g: Where): string[] {
  return [...(g.host && g.host !== 'local' ? ['-H', g.host] : []), ...(g.config ? ['--config', g.config] : [])];
}

/**
 * `lifeboat [-H HOST] [--config FILE] ARGS...`: a command line to suggest.
 * `args` are words, quoted here when the shell needs it (placeholders such as
 * ID or NAME stay as they are). A `hosts` command takes no global options.
 */
export function suggest(g: Where, ...args: string[]): string {
  const where = args[0] === 'hosts' ? [] : globalWords(g);
  return ['lifeboat', ...[...where, ...args].map(shellQuote)].join(' ');
}

/**
 * Text written elsewhere (an agent's error hint or log line, a finding's
 * detail) as the command line says it: the fields it names as flags
 * (core/fields.ts: `toDatabase` is --to-database), and the same global options
 * put into every `lifeboat COMMAND` it suggests. A command that already names
 * its options (`lifeboat --config F wal push`) is left alone, so applying this
 * twice changes nothing.
 */
export function withGlobals(g: Where, text: string): string {
  const flags = forCli(text);
  const where = globalWords(g);
  return where.length ? flags.replace(IN_TEXT, `lifeboat ${where.map(shellQuote).join(' ')} `) : flags;
}
