import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Options } from 'execa';
import type { PgCluster } from '../harness/pg.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'lifeboat.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json: any;
}

/** Run the real CLI (built JavaScript) as a user would. */
export async function lifeboat(args: string[], opts: { config?: string; env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const argv = [BIN, ...(opts.config ? ['--config', opts.config] : []), ...args];
  const execOpts: Options = {
    reject: false,
    env: { NO_COLOR: '1', LIFEBOAT_CONFIG: '', ...(opts.env ?? {}) },
    timeout: opts.timeoutMs ?? 180_000,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' }),
  };
  return toResult(await execa(process.execPath, argv, execOpts));
}

/** An execa result as a CliResult (stdout parsed as JSON when it is), with the signal that ended it if one did. */
export function toResult(res: { stdout?: unknown; stderr?: unknown; exitCode?: number; signal?: string }): CliResult & { signal?: string } {
  const stdout = String(res.stdout ?? '');
  let json: any;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code: res.exitCode ?? -1, stdout, stderr: String(res.stderr ?? ''), json, ...(res.signal ? { signal: res.signal } : {}) };
}

export interface Workspace {
  dir: string;
  config: string;
  repo: string;
  state: string;
  cleanup(): Promise<void>;
}

/** A temp dir with a config for `cluster` (name "pg") and a local repository. */
export async function workspace(cluster: PgCluster, extra: { connection?: Record<string, unknown>; clusterName?: string; database?: string } = {}): Promise<Workspace> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-ws-'));
  const config = path.join(dir, 'config.json');
  const repo = path.join(dir, 'repo');
  const state = path.join(dir, 'state');
  await writeFile(
    config,
    JSON.stringify(
      {
        stateDir: state,
        repositories: { main: { type: 'local', path: repo } },
        clusters: {
          [extra.clusterName ?? 'pg']: {
            repository: 'main',
            connection: { host: cluster.host, port: cluster.port, user: cluster.user, database: extra.database ?? 'postgres', ...(extra.connection ?? {}) },
          },
        },
      },
      null,
      2,
    ),
  );
  // A repository exists once created (lifeboat.json): WAL is never pushed into a bare directory.
  const init = await lifeboat(['repo', 'init'], { config });
  if (init.code !== 0) throw new Error(`lifeboat repo init failed: ${init.stderr}`);
  return { dir, config, repo, state, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const IS_ROOT = process.getuid?.() === 0;

/**
 * When tests run as root, PostgreSQL runs as the postgres OS user and runs
 * lifeboat as its archive_command: it must be able to read this checkout.
 */
export const serverCanRunLifeboat =
  !IS_ROOT || (await execa('runuser', ['-u', 'postgres', '--', 'test', '-r', BIN], { reject: false })).exitCode === 0;

/** Run the CLI as the server's OS user (postgres when root), so the repository stays that user's. */
export async function lifeboatAsServer(config: string, args: string[]): Promise<CliResult> {
  const cmd = IS_ROOT ? ['runuser', '-u', 'postgres', '--', process.execPath, BIN] : [process.execPath, BIN];
  return toResult(await execa(cmd[0]!, [...cmd.slice(1), '--config', config, ...args], { reject: false, env: { NO_COLOR: '1', LIFEBOAT_CONFIG: '' }, timeout: 180_000 }));
}

/** Hand a workspace to the server's OS user (config and repository). */
export async function giveToServer(ws: Workspace): Promise<void> {
  if (IS_ROOT) await execa('chown', ['-R', 'postgres:', ws.dir]);
  await (await import('node:fs/promises')).chmod(ws.dir, 0o755);
}

/**
 * A bindir of wrappers around `binDir`'s tools in which `tool` does its work and
 * then holds on for `seconds` (exit code kept): a job can be killed at a known
 * point, after the tool finished. (Directory-format dumps refuse a commandPrefix.)
 */
export async function slowToolBinDir(dir: string, binDir: string, tool: string, seconds = 15): Promise<string> {
  const fsp = await import('node:fs/promises');
  await fsp.mkdir(dir, { recursive: true });
  for (const name of await fsp.readdir(binDir)) {
    const real = path.join(binDir, name);
    const body = name === tool ? `#!/bin/sh\nif [ "$1" = --version ]; then exec ${real} "$@"; fi\n${real} "$@"; rc=$?; sleep ${seconds}; exit $rc\n` : `#!/bin/sh\nexec ${real} "$@"\n`;
    await fsp.writeFile(path.join(dir, name), body, { mode: 0o755 });
  }
  return dir;
}

/**
 * Every command path the CLI has (`[]` is the program, then `['backup']`,
 * `['jobs', 'attach']`, ...), read from the Commands: sections of its own
 * --help, so a new command is covered without a list to keep.
 */
export async function allCommands(): Promise<string[][]> {
  const out: string[][] = [];
  const walk = async (path: string[]): Promise<void> => {
    out.push(path);
    const r = await lifeboat([...path, '--help']);
    if (r.code !== 0) throw new Error(`lifeboat ${path.join(' ')} --help: exit ${r.code}: ${r.stderr}`);
    const section = /^Commands:\n([\s\S]*?)(?:\n\n|(?![\s\S]))/m.exec(r.stdout)?.[1] ?? '';
    const names = [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    for (const n of names) await walk([...path, n]);
  };
  await walk([]);
  return out;
}

/** Run the CLI with its stdout closed before it writes (a reader that went away: `| head -0`). */
export async function lifeboatClosedStdout(args: string[], opts: { config?: string } = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [BIN, ...(opts.config ? ['--config', opts.config] : []), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', LIFEBOAT_CONFIG: '' },
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  return { code, signal, stderr };
}

/** Text output folded to 80 columns, read back as one line per item: continuation lines (indented) joined with a space. */
export const unwrap = (text: string): string => text.replace(/\n +(?=\S)/g, ' ');
