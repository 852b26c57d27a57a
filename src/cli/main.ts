import { Command, CommanderError, Option } from 'commander';
import { LifeboatError } from '../core/errors.js';
import { registerAdmin } from './commands/admin.js';
import { registerBackup } from './commands/backup.js';
import { registerCatalog } from './commands/catalog.js';
import { registerRestore } from './commands/restore.js';
import { registerPitr } from './commands/pitr.js';
import { registerWal } from './commands/wal.js';
import { registerCheck } from './commands/check.js';
import { registerVerify } from './commands/verify.js';
import { registerHosts } from './commands/hosts.js';
import { registerRetention } from './commands/retention.js';
import { registerPlugins } from './commands/plugins.js';
import { Exit, reportError, type GlobalOptions } from './session.js';
import { endQuietlyOnClosedOutput } from './closed-output.js';
import { holdOutput, releaseOutput } from './quiet.js';

import { LIFEBOAT_VERSION } from '../core/version.js';

export function buildProgram(opts: { ownOutput?: () => void } = {}): Command {
  const ownOutput = opts.ownOutput ?? (() => undefined);
  const program = new Command('lifeboat');
  program
    .version(LIFEBOAT_VERSION, '-V, --version')
    .description('Backups and recovery for PostgreSQL clusters.')
    .option('--config <file>', 'agent config (default: $LIFEBOAT_CONFIG, ~/.config/lifeboat/config.json, /etc/lifeboat/config.json)')
    .option('--json', 'machine-readable output on stdout')
    .option('-q, --quiet', 'silent on success: warnings and errors only (for cron)')
    .option('-v, --verbose', 'debug log lines too')
    .option('-H, --host <name>', 'run on this inventory host\'s agent over SSH (default: local; see lifeboat hosts)')
    .option('--accept-new-host-key', 'record an SSH host key seen for the first time without asking (never a changed one)')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Getting started:
  lifeboat init --cluster main --repo /var/backups/lifeboat \\
      -h localhost -U postgres
  lifeboat config check
  lifeboat backup --cluster main --tag daily
  lifeboat list
  lifeboat verify latest --level restore

Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 3 partial success.
Set NO_COLOR=1 to disable colour. Docs: docs/ in the lifeboat package.`,
    );
  program.exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  program.hook('preAction', (_program, action) => {
    let top = action;
    while (top.parent && top.parent !== program) top = top.parent;
    const g = globals();
    if (g.quiet && !g.json && top.name() !== 'agent' && top.name() !== 'tui') holdOutput();
  });
  registerAdmin(program, globals);
  registerBackup(program, globals);
  registerCatalog(program, globals);
  registerVerify(program, globals);
  registerRestore(program, globals);
  registerPitr(program, globals);
  registerWal(program, globals);
  registerCheck(program, globals);
  registerHosts(program, globals);
  registerRetention(program, globals);
  registerPlugins(program, globals);
  program
    .command('tui')
    .description('the interactive fleet view (also plain `lifeboat` on a terminal)')
    .option('--hosts <names>', 'only these inventory hosts, comma-separated (`local` is this machine\'s agent)')
    .option('-g, --group <group...>', 'only hosts in these inventory groups')
    .option('--refresh <seconds>', 'how often each host is asked again', (v) => Number(v), 5)
    .addHelpText(
      'after',
      `
Connects to every inventory host in parallel (or, with no inventory, to this
machine's agent) and shows the fleet: health, newest backups, WAL archiving,
verification, running jobs. Enter opens a cluster: backups by tag, the
recoverable window, and actions (b backup, v verify, r restore, p pin, d delete,
w point-in-time recovery wizard). J lists jobs across the fleet. ? lists every
key. Quitting never cancels a running job. Docs: docs/tui.md.`,
    )
    .action(async (o: { hosts?: string; group?: string[]; refresh: number }) => {
      const g = globals();
      if (!Number.isFinite(o.refresh) || o.refresh < 1) throw new LifeboatError('USAGE', '--refresh must be at least 1 second');
      ownOutput(); // the TUI handles its own terminal going away
      const { runTui } = await import('../tui/index.js');
      process.exitCode = await runTui({
        ...(g.config ? { config: g.config } : {}),
        ...(g.acceptNewHostKey ? { acceptNewHostKey: true } : {}),
        ...(o.hosts ? { only: o.hosts.split(',').map((h) => h.trim()).filter(Boolean) } : g.host ? { only: [g.host] } : {}),
        ...(o.group?.length ? { groups: o.group } : {}),
        refreshMs: o.refresh * 1000,
      });
    });
  // Listed here for --help; bin/lifeboat.js runs `lifeboat agent` from the
  // host entry point (src/host/agent-main.ts), which never loads the CLI.
  program
    .command('agent')
    .description('run the agent (started by lifeboat itself, locally or over SSH)')
    .addOption(new Option('--stdio', 'speak JSON-RPC on stdin/stdout'))
    .action(() => {
      throw new LifeboatError('USAGE', 'the agent runs from its own entry point: bin/lifeboat.js agent --stdio', { hint: 'the CLI starts the agent itself; run lifeboat agent --stdio only to speak JSON-RPC by hand' });
    });
  return program;
}

/**
 * `init --host H` is the PostgreSQL host (like psql -h), while everywhere else
 * --host names an inventory host; commander would give both to the global
 * option, so after `init` the long form is handed to init's own -h.
 */
export function routeInitHost(argv: string[]): string[] {
  const out = argv.slice();
  let i = 2;
  for (; i < out.length; i++) {
    const a = out[i]!;
    if (a === '--config' || a === '--host' || a === '-H') i++;
    else if (!a.startsWith('-')) break;
  }
  if (out[i] !== 'init') return out;
  for (let j = i + 1; j < out.length; j++) {
    if (out[j] === '--') break;
    if (out[j] === '--host') out[j] = '-h';
    else if (out[j]!.startsWith('--host=')) out.splice(j, 1, '-h', out[j]!.slice(7));
  }
  return out;
}

/** Plain `lifeboat` (only global options) on a terminal opens the TUI. */
export function defaultToTui(argv: string[], tty: boolean): string[] {
  if (!tty) return argv;
  const rest = argv.slice(2);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (['-h', '--help', '-V', '--version'].includes(a)) return argv;
    if (a === '--config' || a === '--host' || a === '-H') i++;
    else if (!a.startsWith('-')) return argv;
  }
  return [...argv, 'tui'];
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram({ ownOutput: endQuietlyOnClosedOutput() });
  try {
    await program.parseAsync(routeInitHost(defaultToTui(argv, !!process.stdin.isTTY && !!process.stdout.isTTY)));
    const code = typeof process.exitCode === 'number' ? process.exitCode : Exit.OK;
    releaseOutput(code !== Exit.OK);
    return code;
  } catch (err) {
    releaseOutput(true);
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return Exit.OK;
      return Exit.USAGE;
    }
    const g = program.opts<GlobalOptions>();
    if (err instanceof LifeboatError || err instanceof Error) return reportError(err, g);
    return reportError(new Error(String(err)), g);
  }
}

const code = await main(process.argv);
process.exitCode = code;
