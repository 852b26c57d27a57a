import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { LifeboatError, toLifeboatError, type SerializedError } from '../../core/errors.js';
import { LIFEBOAT_VERSION } from '../../core/version.js';
import { AgentClient } from '../../fleet/client.js';
import { fleetExitCode, forEachHost, wantsFleet, type FleetFlags, type HostOutcome } from '../../fleet/fleet.js';
import { DEFAULT_AGENT_COMMAND, HostEntrySchema, Inventory, LOCAL_HOST, type HostEntry } from '../../fleet/inventory.js';
import type { SshPool } from '../../fleet/ssh-transport.js';
import { PROTOCOL_VERSION, type HelloResult } from '../../protocol/index.js';
import { duration, paint, table } from '../../client/format.js';
import { Exit, printJson, withAgent, type GlobalOptions } from '../session.js';
import { openTransport } from '../../client/connect.js';

/** What `hosts test` found on one host. */
export interface HostTest {
  host: string;
  destination: string;
  ok: boolean;
  reachable: boolean;
  authenticated: boolean;
  /** SSH connect + authentication (all hops), ms. */
  connectMs?: number;
  /** One agent.hello round trip on the open connection, ms. */
  rttMs?: number;
  agent?: { version: string; protocol: number; hostname: string; node: string; plugins: string[] };
  /** Set when the agent's version differs from this lifeboat's. */
  versionNote?: string;
  clusters?: { name: string; postgres?: string; newestBackup?: string; ok: boolean }[];
  /** The agent runs, but its config (or the catalog) has a problem. */
  problem?: SerializedError;
  error?: SerializedError;
}

const SSH_CODES = new Set(['HOST_UNREACHABLE', 'AUTH_FAILED', 'HOST_KEY_UNKNOWN', 'HOST_KEY_CHANGED', 'CONNECTION_FAILED', 'UNSUPPORTED', 'CONFIG_INVALID']);

/** Connect (through `pool` if given), handshake, time a round trip, list clusters and their PostgreSQL versions (from the newest backup). */
export async function testHost(g: GlobalOptions, entry: Pick<HostEntry, 'name' | 'destination'>, pool?: SshPool): Promise<HostTest> {
  const rec: HostTest = { host: entry.name, destination: entry.destination, ok: false, reachable: false, authenticated: false };
  let client: AgentClient | undefined;
  try {
    const transport = await openTransport(g, entry.name, pool);
    rec.reachable = rec.authenticated = true;
    const conn = (transport as { connection?: { connectMs: number } }).connection;
    if (conn) rec.connectMs = conn.connectMs;
    client = new AgentClient(transport);
    const hello = await client.connect();
    const t0 = performance.now();
    await client.call('agent.hello', { protocolVersion: PROTOCOL_VERSION, clientVersion: LIFEBOAT_VERSION });
    rec.rttMs = Math.round((performance.now() - t0) * 10) / 10;
    rec.agent = { version: hello.agentVersion, protocol: hello.protocolVersion, hostname: hello.host, node: hello.node, plugins: hello.plugins.map((p) => `${p.name} ${p.version}`) };
    const cmp = compareVersions(hello.agentVersion, LIFEBOAT_VERSION);
    if (cmp < 0) rec.versionNote = `agent ${hello.agentVersion} is older than lifeboat ${LIFEBOAT_VERSION} here: update it with lifeboat hosts deploy ${entry.name}`;
    else if (cmp > 0) rec.versionNote = `agent ${hello.agentVersion} is newer than lifeboat ${LIFEBOAT_VERSION} here: update lifeboat here`;
    if (hello.config && 'error' in hello.config) {
      rec.problem = hello.config.error;
    } else {
      try {
        const status = await client.call('catalog.status', {});
        rec.clusters = [];
        for (const s of status) {
          const c: NonNullable<HostTest['clusters']>[number] = { name: s.cluster, ok: s.ok };
          if (s.latest) {
            c.newestBackup = s.latest.id;
            const shown = await client.call('catalog.show', { id: s.latest.id, cluster: s.cluster }).catch(() => undefined);
            if (shown) c.postgres = shown.manifest.server.version;
          }
          rec.clusters.push(c);
        }
      } catch (err) {
        rec.problem = toLifeboatError(err).toJSON();
      }
    }
    rec.ok = !rec.problem;
  } catch (err) {
    const e = toLifeboatError(err);
    rec.error = e.toJSON();
    if (e.code === 'HOST_UNREACHABLE' || e.code === 'CONNECTION_FAILED') rec.reachable = false;
    else if (SSH_CODES.has(e.code)) rec.reachable = true;
  } finally {
    if (client) {
      client.close();
      await client.closed();
    }
  }
  return rec;
}

/** `--parallel N`: 1 to 64. */
function parseParallel(v: string): number {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 1 || n > 64 || String(n) !== v.trim()) throw new LifeboatError('USAGE', `--parallel: a number from 1 to 64, not "${v}"`);
  return n;
}

/** Add `--all`, `--group G` and `--parallel N` to a read-only command. */
export function addFleetOptions(cmd: Command): Command {
  return cmd
    .option('-a, --all', 'run on every host in the inventory, in parallel')
    .option('-g, --group <group>', 'run on every host in this group (repeatable)', collect)
    .option('--parallel <n>', 'hosts at once with --all/--group', parseParallel, 8);
}

/** Help text shared by the fleet-wide read-only commands. */
export const FLEET_HELP = `
With --all or --group G the command runs on those inventory hosts, 8 at a
time (--parallel N); every line and JSON record names its host, and one
unreachable host does not stop the others. Exit code then: 0 all hosts ok,
3 some failed, 1 all failed. --json: {ok, summary, hosts: [{host, ok,
result|error}]}. Docs: docs/fleet.md.`;

/**
 * Run `fn` on the agent of each selected inventory host (bounded concurrency,
 * src/fleet/fleet.ts). `undefined` when no fleet flag was given: the caller
 * then runs on the one host of --host (or local).
 */
export async function runOnFleet<T>(g: GlobalOptions, f: FleetFlags, fn: (client: AgentClient, host: string) => Promise<T>, ok: (r: T) => boolean = () => true): Promise<HostOutcome<T>[] | undefined> {
  if (!wantsFleet(f)) return undefined;
  if (g.host) throw new LifeboatError('USAGE', '--host names one host; --all and --group name many: give one or the other');
  const inventory = new Inventory();
  const selected = await inventory.select({ ...(f.group ? { groups: f.group } : {}), ...(f.all ? { all: true } : {}) });
  if (!selected.length) throw new LifeboatError('UNKNOWN_HOST', `the inventory is empty (${inventory.file})`, { hint: 'add a host with: lifeboat hosts add NAME [user@]host' });
  // entries that reach the same SSH destination share one connection (one handshake and login)
  const pool = new (await import('../../fleet/ssh-transport.js')).SshPool();
  return forEachHost(selected.map((h) => h.name), f.parallel ?? 8, (name) => withAgent({ ...g, host: name }, (c) => fn(c, name), pool), ok);
}

/** Lines after a fleet table: each failed host's error (and hint), then "N of M hosts ok". */
export function fleetFooter(outcomes: HostOutcome<unknown>[]): string {
  const lines: string[] = [];
  for (const o of outcomes) {
    if (!o.error) continue;
    lines.push(`${o.host}: ${o.error.message}`);
    if (o.error.hint) lines.push(`${o.host}:   hint: ${o.error.hint}`);
  }
  const ok = outcomes.filter((o) => o.ok).length;
  lines.push(`${ok} of ${outcomes.length} host${outcomes.length === 1 ? '' : 's'} ok`);
  return lines.join('\n') + '\n';
}

/** Exit code of a fleet-wide run: 0 all ok, 3 some failed, 1 all failed. */
export function setFleetExit(outcomes: { ok: boolean }[]): void {
  const code = fleetExitCode(outcomes);
  if (code !== 0) process.exitCode = code === 3 ? Exit.PARTIAL : Exit.FAILED;
}

/** The STATE cell of a host that did not answer (as in hosts test). */
export function hostDownCell(e: SerializedError): string {
  return paint(e.code === 'HOST_UNREACHABLE' || e.code === 'CONNECTION_FAILED' ? 'DOWN' : SSH_CODES.has(e.code) ? 'DENIED' : 'FAIL', 'red');
}

/** Compare dotted versions numerically (`0.10.0` > `0.9.1`); a pre-release suffix sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.trim().replace(/^v/, '').split('-', 2) as [string, string | undefined];
    return { nums: core.split('.').map((x) => Number.parseInt(x, 10) || 0), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d) return Math.sign(d);
  }
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre < y.pre ? -1 : 1;
}

/** dist/lifeboat-agent.mjs next to the running CLI ($LIFEBOAT_AGENT_BUNDLE overrides). */
export function agentBundlePath(): string {
  if (process.env.LIFEBOAT_AGENT_BUNDLE) return path.resolve(process.env.LIFEBOAT_AGENT_BUNDLE);
  const here = fileURLToPath(new URL('./lifeboat-agent.mjs', import.meta.url)); // bundled: dist/
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../../dist/lifeboat-agent.mjs', import.meta.url)); // from src/ (tsx)
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerHosts(program: Command, globals: () => GlobalOptions): void {
  const hosts = program
    .command('hosts')
    .description('the host inventory: database hosts whose agents lifeboat reaches over SSH')
    .addHelpText(
      'after',
      `
Every command takes --host NAME to run on that host's agent (default: local).
SSH settings come from ~/.ssh/config (HostName, User, Port, IdentityFile,
ProxyJump, ServerAliveInterval) and host keys from ~/.ssh/known_hosts.

  lifeboat hosts add db1 postgres@db1.example.com --group production
  lifeboat hosts add db2 db2-alias --jump bastion \\
    --agent-command 'sudo -n -u postgres lifeboat agent --stdio'
  lifeboat hosts test --all
  lifeboat --host db1 list

Inventory file: $LIFEBOAT_HOSTS_FILE, else $XDG_CONFIG_HOME/lifeboat/hosts.json
(default ~/.config/lifeboat/hosts.json). Docs: docs/fleet.md.`,
    );
  addHostCommand(hosts, globals);
  listHostsCommand(hosts, globals);
  removeHostCommand(hosts, globals);
  deployHostCommand(hosts, globals);
  testHostsCommand(hosts, globals);
}

/** `hosts add NAME DESTINATION` */
function addHostCommand(hosts: Command, globals: () => GlobalOptions): void {
  hosts
    .command('add')
    .description('add a host: connect once (record its host key, check the login and the agent), then store it')
    .argument('<name>', 'short name used with --host (letters, digits, . _ -)')
    .argument('<destination>', '[user@]host[:port], or a Host alias from ~/.ssh/config')
    .option('-i, --identity <file>', 'private key to try first (like ssh -i)')
    .option('-J, --jump <hops>', 'jump host(s), comma-separated [user@]host[:port] or aliases (like ssh -J)')
    .option('--agent-command <cmd>', `command that starts the agent on the host (default "${DEFAULT_AGENT_COMMAND}")`)
    .option('-g, --group <group>', 'add to a group (repeatable), e.g. production', collect)
    .option('--no-connect', 'store without connecting (the host is down, or the agent comes later)')
    .addHelpText('after', '\nWithout a terminal, a host key seen for the first time is refused unless\n--accept-new-host-key is given. A host whose SSH login works but whose agent\ndoes not answer is still added, with a warning.')
    .action((name: string, destination: string, o: AddOptions) => addHost(globals(), name, destination, o));
}

interface AddOptions {
  identity?: string;
  jump?: string;
  agentCommand?: string;
  group?: string[];
  connect: boolean;
}

/** Check the new entry, connect once (unless --no-connect), store it, say what was found. */
async function addHost(g: GlobalOptions, name: string, destination: string, o: AddOptions): Promise<void> {
  const inventory = new Inventory();
  const entry = newHostEntry(name, destination, o);
  if ((await inventory.list()).some((h) => h.name === name)) {
    throw new LifeboatError('HOST_EXISTS', `a host named "${name}" is already in the inventory (${inventory.file})`, { hint: `remove it first (lifeboat hosts remove ${name}) or choose another name` });
  }
  const { hello, agentError } = o.connect ? await greetNewHost(g, entry) : {};
  const added = await inventory.add(entry);
  if (g.json) return printJson({ ok: true, host: added, file: inventory.file, ...(hello ? { agent: { version: hello.agentVersion, hostname: hello.host } } : {}), ...(agentError ? { agentError } : {}) });
  process.stdout.write(`added ${added.name} (${added.destination})${added.groups.length ? ` in ${added.groups.join(', ')}` : ''} to ${inventory.file}\n`);
  if (hello) process.stdout.write(`  agent ${hello.agentVersion} on ${hello.host}, plugins: ${hello.plugins.map((p) => p.name).join(', ') || '-'}\n`);
  if (agentError) {
    process.stderr.write(`lifeboat: ${paint('warning', 'yellow', process.stderr)}: SSH works, but the agent did not answer: ${agentError.message}\n`);
    if (agentError.hint) process.stderr.write(`  hint: ${agentError.hint}\n`);
  }
  if (!o.connect) process.stdout.write(`  not connected: check it with lifeboat hosts test ${added.name}\n`);
}

/** The inventory entry the arguments describe; a usage error names the bad field. */
function newHostEntry(name: string, destination: string, o: AddOptions): HostEntry {
  const parsed = HostEntrySchema.safeParse({
    name,
    destination,
    ...(o.identity ? { identityFile: path.resolve(o.identity) } : {}),
    ...(o.jump ? { jump: o.jump } : {}),
    ...(o.agentCommand ? { agentCommand: o.agentCommand } : {}),
    groups: o.group ?? [],
    addedAt: new Date().toISOString(),
  });
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new LifeboatError('USAGE', `${i.path.join('.') || 'host'}: ${i.message}`);
  }
  return parsed.data;
}

/**
 * Log in and start the agent once: an SSH failure stops the add (nothing is
 * stored); an agent that does not answer is only reported.
 */
async function greetNewHost(g: GlobalOptions, entry: HostEntry): Promise<{ hello?: HelloResult; agentError?: SerializedError }> {
  const { spawnSshAgent } = await import('../../fleet/ssh-transport.js');
  let transport;
  try {
    transport = await spawnSshAgent(entry, { ...(g.config ? { configPath: g.config } : {}), ...(g.acceptNewHostKey ? { acceptNewHostKey: true } : {}) });
  } catch (err) {
    const e = toLifeboatError(err);
    throw new LifeboatError(e.code, `${e.message}; ${entry.name} was not added`, { hint: `${e.hint ? `${e.hint}; or ` : ''}add it without connecting: lifeboat hosts add ... --no-connect` });
  }
  const client = new AgentClient(transport);
  try {
    return { hello: await client.connect() };
  } catch (err) {
    return { agentError: toLifeboatError(err).toJSON() };
  } finally {
    client.close();
    await client.closed();
  }
}

/** `hosts list [--group G]` */
function listHostsCommand(hosts: Command, globals: () => GlobalOptions): void {
  hosts
    .command('list')
    .description('list the inventory')
    .option('-g, --group <group>', 'only hosts in this group')
    .action(async (o: { group?: string }) => {
      const g = globals();
      const inventory = new Inventory();
      const list = o.group ? await inventory.select({ groups: [o.group] }) : await inventory.list();
      if (g.json) return printJson({ file: inventory.file, hosts: list });
      if (list.length === 0) {
        process.stdout.write(`no hosts yet (${inventory.file}). Add one with: lifeboat hosts add NAME [user@]host\n`);
        return;
      }
      const rows = list.map((h) => [h.name, h.destination + (h.jump ? ` via ${h.jump}` : ''), h.groups.join(',') || '-', h.agentCommand === DEFAULT_AGENT_COMMAND ? paint('default', 'dim') : h.agentCommand]);
      process.stdout.write(table([{ header: 'NAME', shrink: true }, { header: 'DESTINATION', shrink: true }, { header: 'GROUPS', shrink: true }, { header: 'AGENT COMMAND', shrink: true }], rows) + '\n');
    });
}

/** `hosts remove NAME` */
function removeHostCommand(hosts: Command, globals: () => GlobalOptions): void {
  hosts
    .command('remove')
    .description('remove a host from the inventory (its agent, backups and known_hosts entry are untouched)')
    .argument('<name>', 'host name')
    .action(async (name: string) => {
      const g = globals();
      const inventory = new Inventory();
      const removed = await inventory.remove(name);
      if (g.json) return printJson({ ok: true, removed, file: inventory.file });
      process.stdout.write(`removed ${removed.name} (${removed.destination}) from ${inventory.file}\n`);
    });
}

/** `hosts deploy NAME` */
function deployHostCommand(hosts: Command, globals: () => GlobalOptions): void {
  hosts
    .command('deploy')
    .description('install this lifeboat\'s agent on a host (one file, needs Node.js >= 20 there) and use it')
    .argument('<name>', 'host name from the inventory')
    .option('--node <path>', 'Node.js on the host (default: node on the remote PATH)')
    .addHelpText(
      'after',
      `
Copies dist/lifeboat-agent.mjs (built by npm run build; everything in one
file) over SFTP to ~/.lifeboat/agent/VERSION-SHA8/lifeboat.mjs on the host,
under a temporary name; checks its sha256 there; renames it into place;
starts it once; then sets the host's agent command to
  NODE ~/.lifeboat/agent/VERSION-SHA8/lifeboat.mjs agent --stdio
Nothing changes (inventory included) when a step fails. Deploying the same
build again only re-verifies it. Older versions stay on the host until you
remove them. The agent runs as the SSH user.

  lifeboat hosts deploy db1
  lifeboat hosts deploy db2 --node /opt/node20/bin/node`,
    )
    .action(async (name: string, o: { node?: string }) => {
      const g = globals();
      const inventory = new Inventory();
      const entry = await inventory.get(name);
      const { deployAgent } = await import('../../fleet/deploy.js');
      const res = await deployAgent(entry, {
        bundle: agentBundlePath(),
        ...(o.node ? { node: o.node } : {}),
        ...(g.acceptNewHostKey ? { acceptNewHostKey: true } : {}),
        ...(g.config ? { configPath: g.config } : {}),
        ...(process.env.LIFEBOAT_TEST_CORRUPT_DEPLOY === '1' ? { corruptForTest: true } : {}),
      });
      await inventory.setAgentCommand(name, res.agentCommand);
      if (g.json) return printJson({ ok: true, ...res, file: inventory.file });
      process.stdout.write(
        [
          `${name}: agent ${res.agentVersion} ${res.alreadyPresent ? 'already at' : 'installed at'} ${res.path}`,
          `${name}: sha256 ${res.sha256.slice(0, 16)}… verified on the host (${(res.bytes / 1048576).toFixed(1)} MiB, ${res.node}, ${duration(res.ms)})`,
          `${name}: agent command is now: ${res.agentCommand}`,
          ...(res.previousAgentCommand !== res.agentCommand ? [`${name}: (was: ${res.previousAgentCommand})`] : []),
        ].join('\n') + '\n',
      );
    });
}

/** `hosts test [NAMES...] [--all] [--group G]` */
function testHostsCommand(hosts: Command, globals: () => GlobalOptions): void {
  hosts
    .command('test')
    .description('check hosts: reachable, logged in, agent version, plugins, clusters, PostgreSQL, round trip')
    .argument('[names...]', 'host names ("local" is this machine)')
    .option('-a, --all', 'every host in the inventory')
    .option('-g, --group <group>', 'every host in this group (repeatable)', collect)
    .option('--parallel <n>', 'hosts tested at once', (v) => {
      const n = Number.parseInt(v, 10);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new LifeboatError('USAGE', `--parallel: a number from 1 to 64, not "${v}"`);
      return n;
    }, 8)
    .addHelpText(
      'after',
      `
The PostgreSQL version shown is the one recorded by each cluster's newest
backup (no database connection is made). RTT is one agent round trip over
the open connection; CONNECT is the SSH handshake and login (all hops).
Exit code: 0 all ok, 3 some hosts failed, 1 all failed.`,
    )
    .action(async (names: string[], o: { all?: boolean; group?: string[]; parallel: number }) => {
      const g = globals();
      const inventory = new Inventory();
      const local = names.filter((n) => n === LOCAL_HOST);
      const remote = names.filter((n) => n !== LOCAL_HOST);
      if (!names.length && !o.all && !o.group?.length) {
        throw new LifeboatError('USAGE', 'which hosts? give names, --group G or --all', { hint: 'lifeboat hosts list shows the inventory' });
      }
      const selected = remote.length || o.all || o.group?.length ? await inventory.select({ names: remote, ...(o.group ? { groups: o.group } : {}), ...(o.all ? { all: true } : {}) }) : [];
      const targets: Pick<HostEntry, 'name' | 'destination'>[] = [...local.map((n) => ({ name: n, destination: 'this machine' })), ...selected];
      if (!targets.length) {
        throw new LifeboatError('UNKNOWN_HOST', `the inventory is empty (${inventory.file})`, { hint: 'add a host with: lifeboat hosts add NAME [user@]host' });
      }
      // several inventory hosts: those with the same SSH destination share one connection
      const pool = selected.length > 1 ? new (await import('../../fleet/ssh-transport.js')).SshPool() : undefined;
      const outcomes = await forEachHost(targets.map((t) => t.name), o.parallel, (n) => testHost(g, targets.find((t) => t.name === n)!, pool), (r) => r.ok);
      const results = outcomes.map((x) => x.result!);
      const code = fleetExitCode(results);
      if (g.json) {
        printJson({ ok: code === 0, summary: { ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length }, hosts: results });
      } else process.stdout.write(renderTests(results));
      if (code !== 0) process.exitCode = code === 3 ? Exit.PARTIAL : Exit.FAILED;
    });
}


function ms(n: number | undefined): string {
  if (n === undefined) return '-';
  return n < 1000 ? `${Math.round(n)}ms` : duration(n);
}

/** The table, then one line per failure or problem naming the host. */
export function renderTests(results: HostTest[]): string {
  const rows = results.map((r) => [
    r.host,
    r.ok ? paint('ok', 'green') : r.error ? paint(r.reachable ? (r.authenticated ? 'FAIL' : 'DENIED') : 'DOWN', 'red') : paint('PROBLEM', 'yellow'),
    r.agent ? r.agent.version + (r.versionNote ? '*' : '') : '-',
    ms(r.connectMs),
    ms(r.rttMs),
    r.clusters ? r.clusters.map((c) => `${c.name}${c.postgres ? ` (PG ${c.postgres})` : ''}`).join(', ') || 'no clusters' : '-',
  ]);
  const lines = [
    table([{ header: 'HOST', shrink: true }, { header: 'STATE' }, { header: 'AGENT' }, { header: 'CONNECT', align: 'right' }, { header: 'RTT', align: 'right' }, { header: 'CLUSTERS', shrink: true }], rows),
  ];
  for (const r of results) {
    const e = r.error ?? r.problem;
    if (e) {
      lines.push(`${r.host}: ${e.message}`);
      if (e.hint) lines.push(`  hint: ${e.hint}`);
    }
    if (r.versionNote) lines.push(`${r.host}: ${r.versionNote}`);
  }
  const ok = results.filter((r) => r.ok).length;
  lines.push(`${ok} of ${results.length} host${results.length === 1 ? '' : 's'} ok`);
  return lines.join('\n') + '\n';
}
