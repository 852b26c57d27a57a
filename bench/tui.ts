/**
 * TUI benchmark (npm run bench). Targets (the TUI issue): the first frame
 * within 500 ms of start, and with 50 hosts and 10,000 backups a keypress
 * re-renders within 50 ms.
 *
 * First frame: `node bin/lifeboat.js tui` (the built CLI) in a real 80x24
 * terminal: a tmux pane, watched through a tmux control-mode client, which
 * streams the pane's output as it arrives (no polling processes competing
 * for the 2 cores). Timed from asking tmux for the window to the first output
 * holding the header ("Lifeboat"), and on to the fleet row of the local agent's
 * cluster (the agent answered). The same path runs `node -e` printing the
 * marker (node's own start plus tmux's part) and `lifeboat --version` (the CLI
 * without any UI). Cases interleave (A B C A B C ...); medians of BENCH_RUNS
 * (default 7). No inventory (an empty LIFEBOAT_HOSTS_FILE): the TUI shows the
 * local agent, with an agent config for a throwaway PostgreSQL cluster.
 *
 * Keypress: in-process, <App> rendered by Ink (production React, as bundled)
 * to a fake 80x24 terminal; 50 hosts with one cluster each, and a cluster view
 * holding 10,000 backups under several tags. Timed from writing the key to
 * stdin to Ink writing the changed frame to stdout. Agents are not involved:
 * the fleet service answers catalog.show (the details pane) from memory.
 *
 * Results: a table on stdout and bench/results/tui.json.
 * Environment: BENCH_RUNS (first-frame runs, default 7), BENCH_KEYS (presses
 * per keypress case, default 60), BENCH_TUI_COMPARE (another build's dist/,
 * e.g. a copy made before a change: its `tui` joins the interleaved runs).
 */
// Ink and React choose their build when first imported: production, as the
// bundle (scripts/build.mjs defines NODE_ENV). CI would make Ink print only
// the last frame. Both are read at import time, so Ink and the TUI are
// imported dynamically below.
process.env.NODE_ENV = 'production';
delete process.env.CI;

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { startCluster } from '../test/harness/pg.js';
import { median, writeBenchConfig } from './lib.js';
import type { AppState, BackupSummary, ClusterOverview, HostState, RecoverableWindow } from '../src/tui/state/model.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(root, 'bin', 'lifeboat.js');
const runs = Number(process.env.BENCH_RUNS ?? 7);
const presses = Number(process.env.BENCH_KEYS ?? 60);
/** Another build's dist/ (a copy made before a change): its `tui` runs interleaved with this one's. */
const compare = process.env.BENCH_TUI_COMPARE;
const TARGET_FIRST_MS = 500;
const TARGET_KEY_MS = 50;

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const ms = (x: number) => x.toFixed(1).padStart(7);

// ---- first frame in a real terminal ------------------------------------------

/**
 * A private tmux server with one control-mode client: commands go in on its
 * stdin, answers come back in %begin/%end blocks, and every pane's output as
 * %output notifications the moment tmux reads it from the pty.
 */
class Tmux {
  /** The server's socket: a file in the bench's temporary directory, removed with it. */
  constructor(private readonly socket: string) {}

  private client!: ChildProcessWithoutNullStreams;
  private readonly pending: ((lines: string[]) => void)[] = [];
  private block: string[] | undefined;
  private blockMine = false;
  /** Output seen per pane id, and who waits for which text in it. */
  private readonly out = new Map<string, string>();
  /** When each piece of a pane's output arrived, and where it ends in `out`. */
  private readonly arrivals = new Map<string, { at: number; end: number }[]>();
  private readonly waiters: { pane: string; text: string; resolve: (t: number) => void }[] = [];
  private readonly closed = new Map<string, () => void>();

  async start(env: NodeJS.ProcessEnv): Promise<void> {
    const have = await execa('tmux', ['-V'], { reject: false });
    if (have.failed) throw new Error('bench/tui.ts needs tmux for a real terminal: apt-get install tmux');
    // the server's global environment is `env`: every window started later inherits it
    await execa('tmux', ['-S', this.socket, '-f', '/dev/null', 'new-session', '-d', '-x', '80', '-y', '24', '-s', 'bench', 'sleep 86400'], { env, extendEnv: false });
    this.client = spawn('tmux', ['-S', this.socket, '-C', 'attach', '-t', 'bench'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let buf = '';
    this.client.stdout.setEncoding('latin1');
    this.client.stdout.on('data', (d: string) => {
      const now = performance.now();
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.line(buf.slice(0, nl).replace(/\r$/, ''), now);
        buf = buf.slice(nl + 1);
      }
    });
    await this.command('display-message -p ok');
  }

  private line(l: string, now: number): void {
    if (this.block) {
      if (l.startsWith('%end ') || l.startsWith('%error ')) {
        if (this.blockMine) this.pending.shift()?.(this.block);
        this.block = undefined;
      } else this.block.push(l);
      return;
    }
    if (l.startsWith('%begin ')) {
      this.block = [];
      this.blockMine = l.split(' ')[3] === '1';
      return;
    }
    const m = /^%output (%\d+) (.*)$/.exec(l);
    if (m) {
      // control mode escapes bytes below 32 and the backslash as \ooo
      const text = (this.out.get(m[1]!) ?? '') + m[2]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      this.out.set(m[1]!, text);
      const arrivals = this.arrivals.get(m[1]!) ?? [];
      arrivals.push({ at: now, end: text.length });
      this.arrivals.set(m[1]!, arrivals);
      for (const w of [...this.waiters]) {
        if (w.pane === m[1] && text.includes(w.text)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(now);
        }
      }
      return;
    }
    const c = /^%(?:unlinked-)?window-close (@\d+)/.exec(l);
    if (c) this.closed.get(c[1]!)?.();
  }

  command(cmd: string): Promise<string[]> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.client.stdin.write(cmd + '\n');
    });
  }

  /** Start `argv` in a new 80x24 window; resolves when tmux has started it, with the time it was asked for. */
  async open(argv: string[]): Promise<{ pane: string; window: string; t0: number; gone: Promise<void> }> {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const t0 = performance.now();
    const [ids] = await this.command(`new-window -d -P -F '#{pane_id} #{window_id} #{pane_width}x#{pane_height}' -t bench -- ${argv.map(q).join(' ')}`);
    const [pane, window, size] = (ids ?? '').split(' ') as [string, string, string];
    if (size !== '80x24') throw new Error(`tmux made a ${size} pane, not 80x24: ${ids}`);
    const gone = new Promise<void>((r) => this.closed.set(window, r));
    return { pane, window, t0, gone };
  }

  /** When `text` first appeared in the pane's output (performance.now()), or undefined after `timeoutMs`. */
  until(pane: string, text: string, timeoutMs: number): Promise<number | undefined> {
    const seen = this.out.get(pane)?.indexOf(text) ?? -1;
    if (seen >= 0) return Promise.resolve(this.arrivals.get(pane)!.find((a) => a.end >= seen + text.length)!.at);
    return new Promise((resolve) => {
      const w = { pane, text, resolve };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          resolve(undefined);
        }
      }, timeoutMs).unref();
    });
  }

  async screen(pane: string): Promise<string[]> {
    return this.command(`capture-pane -p -t ${pane}`);
  }

  async stop(): Promise<void> {
    this.client?.kill();
    await execa('tmux', ['-S', this.socket, 'kill-server'], { reject: false });
  }
}

interface FirstFrameCase {
  name: string;
  argv: string[];
  /** Text whose first appearance is the frame. */
  marker: string;
  /** Text that means the agent answered (tui only). */
  connected?: string;
}

async function firstFrame(): Promise<Record<string, { firstMs: number[]; connectedMs: number[]; screen?: string[] }>> {
  const pg = await startCluster({ name: 'bench-tui' });
  const ws = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-tui-'));
  const tmux = new Tmux(path.join(ws, 'tmux.sock'));
  try {
    const config = path.join(ws, 'config.json');
    await writeBenchConfig(config, ws, path.join(ws, 'repo'), pg, 'postgres');
    const hosts = path.join(ws, 'hosts.json');
    await writeFile(hosts, JSON.stringify({ version: 1, hosts: [] }));
    const { CI: _ci, NODE_ENV: _ne, ...base } = process.env;
    await tmux.start({ ...base, HOME: ws, XDG_CONFIG_HOME: path.join(ws, 'xdg'), LIFEBOAT_CONFIG: config, LIFEBOAT_HOSTS_FILE: hosts, TERM: 'tmux-256color' });
    const node = process.execPath;
    const cases: FirstFrameCase[] = [
      { name: 'node -e (print a line)', argv: [node, '-e', "process.stdout.write('Lifeboat\\n')"], marker: 'Lifeboat' },
      { name: 'lifeboat --version', argv: [node, BIN, '--version'], marker: '0.1' },
      { name: 'lifeboat tui', argv: [node, BIN, 'tui'], marker: 'Lifeboat', connected: 'local/bench' },
    ];
    if (compare) cases.push({ name: 'lifeboat tui (BENCH_TUI_COMPARE)', argv: [node, path.join(path.resolve(compare), 'cli.js'), 'tui'], marker: 'Lifeboat', connected: 'local/bench' });
    const out: Record<string, { firstMs: number[]; connectedMs: number[]; screen?: string[] }> = Object.fromEntries(cases.map((c) => [c.name, { firstMs: [], connectedMs: [] }]));
    // one unrecorded round: the page cache holds node, dist/ and node_modules afterwards, as on a machine in use
    for (let r = -1; r < runs; r++) {
      for (const c of cases) {
        const w = await tmux.open(c.argv);
        const t = await tmux.until(w.pane, c.marker, 10_000);
        if (t === undefined) throw new Error(`${c.name}: no "${c.marker}" within 10 s; the pane shows:\n${(await tmux.screen(w.pane)).join('\n')}`);
        const res = out[c.name]!;
        if (r >= 0) res.firstMs.push(t - w.t0);
        if (c.connected) {
          const t2 = await tmux.until(w.pane, c.connected, 20_000);
          if (t2 === undefined) throw new Error(`${c.name}: the local agent's cluster never appeared; the pane shows:\n${(await tmux.screen(w.pane)).join('\n')}`);
          if (r >= 0) res.connectedMs.push(t2 - w.t0);
          res.screen = await tmux.screen(w.pane);
          await tmux.command(`send-keys -t ${w.pane} q`);
        }
        const end = await Promise.race([w.gone.then(() => true), new Promise<boolean>((r2) => setTimeout(() => r2(false), 10_000).unref())]);
        if (!end) throw new Error(`${c.name}: did not exit; the pane shows:\n${(await tmux.screen(w.pane)).join('\n')}`);
      }
    }
    return out;
  } finally {
    await tmux.stop();
    await pg.stop();
    await rm(ws, { recursive: true, force: true });
  }
}

// ---- keypress latency in process ---------------------------------------------

const HOUR = 3_600_000;
const NOW = Date.now();
const iso = (t: number) => new Date(t).toISOString();
/** A deterministic pseudo-random sequence (the same fleet every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function backupId(kind: 'logical' | 'physical', t: number, n: number): string {
  const i = iso(t);
  return `${i.slice(0, 10).replaceAll('-', '')}-${i.slice(11, 19).replaceAll(':', '')}${kind === 'logical' ? 'L' : 'P'}-${(n & 0xffff).toString(16).padStart(4, '0')}`;
}

function backup(cluster: string, host: string, kind: 'logical' | 'physical', tag: string, finished: number, n: number, r: () => number): BackupSummary {
  const duration = Math.round(60_000 + r() * 1_800_000);
  const raw = Math.round(2e9 + r() * 8e10);
  const b: BackupSummary = {
    id: backupId(kind, finished - duration, n),
    cluster,
    kind,
    tag,
    startedAt: iso(finished - duration),
    finishedAt: iso(finished),
    durationMs: duration,
    rawSize: raw,
    storedSize: Math.round(raw / (2.5 + r() * 2)),
    databases: kind === 'logical' ? ['app', 'billing', 'reports'] : [],
    host,
  };
  if (kind === 'physical') b.wal = { start: `${(n >> 8).toString(16).toUpperCase()}/${(n * 4096).toString(16).toUpperCase()}`, stop: `${(n >> 8).toString(16).toUpperCase()}/${(n * 4096 + 0x2000).toString(16).toUpperCase()}`, timeline: 1 };
  if (n % 7 === 0) b.pinned = true;
  if (n % 3 === 0) b.verification = { level: ['checksum', 'structure', 'restore'][(n / 3) % 3]!, ok: n % 97 !== 0, at: iso(finished + HOUR) };
  return b;
}

/** 50 hosts with one cluster each: most healthy, some stale, failing archiving, never verified, one down, one still connecting. */
function fleet(nHosts: number): { hostOrder: string[]; hosts: Record<string, HostState> } {
  const r = rng(42);
  const hostOrder: string[] = [];
  const hosts: Record<string, HostState> = {};
  for (let i = 0; i < nHosts; i++) {
    const name = `pg-${['eu', 'us', 'ap'][i % 3]}-${String(i + 1).padStart(2, '0')}.db.example.net`;
    hostOrder.push(name);
    if (i === 17) {
      hosts[name] = { name, conn: 'down', slow: false, error: { code: 'CONNECTION_FAILED', message: `ssh: connect to ${name} port 22: No route to host` } };
      continue;
    }
    if (i === 33) {
      hosts[name] = { name, conn: 'connecting', slow: true };
      continue;
    }
    const ageHours = i % 11 === 5 ? 30 + r() * 40 : r() * 20;
    const cluster = ['main', 'app', 'billing'][i % 3]!;
    const latest = backup(cluster, name, i % 2 ? 'physical' : 'logical', 'daily', NOW - ageHours * HOUR, i, r);
    const failing = i % 13 === 7;
    const o: ClusterOverview = {
      cluster,
      status: {
        cluster,
        repository: i % 4 ? 's3-eu' : 'local',
        ok: ageHours < 26,
        ...(ageHours < 26 ? {} : { problem: `newest backup is ${Math.round(ageHours)} h old (limit 26 h)` }),
        backups: 40 + Math.floor(r() * 300),
        invalid: 0,
        byTag: { daily: 30, weekly: 8, monthly: 12 },
        latest,
        ageHours,
        maxBackupAgeHours: 26,
        storedBytes: Math.round(1e11 + r() * 1e12),
        repositoryBytes: Math.round(2e11 + r() * 2e12),
        ...(i % 5 === 4 ? {} : { lastVerification: { id: latest.id, level: 'restore', ok: i % 19 !== 3, at: iso(NOW - r() * 48 * HOUR) } }),
      },
      server: {
        version: ['16.4', '15.8', '17.0'][i % 3]!,
        inRecovery: false,
        archiveMode: i % 9 === 8 ? 'off' : 'on',
        archiver: {
          archivedCount: 1000 + Math.floor(r() * 1e5),
          failedCount: failing ? 12 : i % 6 === 0 ? 1 : 0,
          lastArchivedWal: '00000001000000A70000003C',
          lastArchivedAt: iso(NOW - r() * 600_000),
          ...(failing ? { lastFailedWal: '00000001000000A70000003D', lastFailedAt: iso(NOW - 30_000) } : {}),
          failingNow: failing,
        },
      },
      runningJobs: i % 8 === 1 ? [{ id: `job-${i}`, type: 'backup', startedAt: iso(NOW - 120_000) }] : [],
    };
    hosts[name] = { name, conn: 'up', slow: i % 23 === 4, clusters: [o], updatedAt: NOW, latencyMs: 20 + Math.floor(r() * 200), jobs: [] };
  }
  return { hostOrder, hosts };
}

/** 10,000 backups of one cluster: dailies, weeklies, monthlies, yearlies, manual and pre-migration ones, a third physical. */
function backups(host: string, cluster: string, n: number): BackupSummary[] {
  const r = rng(7);
  const tags: [string, number][] = [['daily', 0.62], ['weekly', 0.14], ['monthly', 0.08], ['yearly', 0.02], ['manual', 0.1], ['pre-migration', 0.04]];
  const out: BackupSummary[] = [];
  for (let i = 0; i < n; i++) {
    let x = r();
    const tag = tags.find(([, p]) => (x -= p) < 0)?.[0] ?? 'daily';
    out.push(backup(cluster, host, i % 3 === 0 ? 'physical' : 'logical', tag, NOW - (n - i) * 6 * HOUR, i, r));
  }
  return out;
}

function recoverable(cluster: string, list: BackupSummary[]): RecoverableWindow {
  const phys = list.filter((b) => b.kind === 'physical');
  const mid = Date.parse(phys[Math.floor(phys.length * 0.7)]!.finishedAt);
  return {
    cluster,
    now: iso(NOW),
    spans: [
      { from: phys[Math.floor(phys.length * 0.4)]!.finishedAt, to: iso(mid), gap: { segment: '00000001000000A70000003C', at: iso(mid) } },
      { from: phys[Math.floor(phys.length * 0.8)]!.finishedAt, to: iso(NOW - 60_000) },
    ],
    gaps: 1,
    newestSegmentAt: iso(NOW - 60_000),
  } as unknown as RecoverableWindow;
}

/** A terminal Ink can render into: stdout records when each write happened. */
class FakeTerminal {
  readonly stdin = Object.assign(new EventEmitter(), {
    isTTY: true,
    data: null as string | null,
    setEncoding() {},
    setRawMode() {},
    resume() {},
    pause() {},
    ref() {},
    unref() {},
    read(this: { data: string | null }) {
      const d = this.data;
      this.data = null;
      return d;
    },
  });
  private waiting: ((t: number) => void) | undefined;
  last = '';
  private quietTimer: NodeJS.Timeout | undefined;
  private quiet: (() => void) | undefined;
  readonly stdout = Object.assign(
    new Writable({
      write: (chunk: Buffer | string, _enc, cb) => {
        const now = performance.now();
        const s = String(chunk);
        // a frame, not a cursor or synchronized-update escape
        if (s.length > 200) {
          this.last = s;
          const w = this.waiting;
          this.waiting = undefined;
          w?.(now);
        }
        if (this.quiet) {
          clearTimeout(this.quietTimer);
          this.quietTimer = setTimeout(this.quiet, 60);
        }
        cb();
      },
    }),
    { isTTY: true, columns: 80, rows: 24 },
  );

  /** Type `key`; resolves with the ms until the next frame was written (undefined: nothing changed within 2 s). */
  async press(key: string): Promise<number | undefined> {
    const t0 = performance.now();
    const framed = this.nextFrame(2000);
    this.stdin.data = key;
    this.stdin.emit('readable');
    const t = await framed;
    return t === undefined ? undefined : t - t0;
  }

  /** When the next frame is written (performance.now()), or undefined after `timeoutMs`. */
  nextFrame(timeoutMs = 5000): Promise<number | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(undefined);
      }, timeoutMs);
      this.waiting = (t) => {
        clearTimeout(timer);
        resolve(t);
      };
    });
  }

  /** Resolves once nothing was written for 60 ms (past Ink's 33 ms render throttle; follow-up loads have landed). */
  settle(): Promise<void> {
    return new Promise((resolve) => {
      this.quiet = () => {
        this.quiet = undefined;
        resolve();
      };
      this.quietTimer = setTimeout(this.quiet, 60);
    });
  }
}

interface KeyCase {
  name: string;
  samples: number[];
}

async function keypresses(): Promise<{ cases: KeyCase[]; arrival: number[]; frames: Record<string, string> }> {
  const React = (await import('react')).default;
  const { render } = await import('ink');
  const { App } = await import('../src/tui/app.js');
  const { Controller } = await import('../src/tui/controller.js');
  const { FleetService } = await import('../src/tui/services/fleet.js');
  const { Store } = await import('../src/tui/state/store.js');
  const { reducer } = await import('../src/tui/state/reducer.js');
  const { initialState } = await import('../src/tui/state/model.js');
  type Action = import('../src/tui/state/reducer.js').Action;

  /** Agents answer nothing here except catalog.show (the details pane), from memory. */
  class MemoryFleet extends FleetService {
    override async call<T>(_host: string, method: string, params: Record<string, unknown> = {}): Promise<T> {
      if (method !== 'catalog.show') throw new Error(`bench: no agent for ${method}`);
      const manifest = { server: { version: '16.4' }, compression: { algorithm: 'zstd' }, encryption: { mode: 'none' }, objects: [{ name: 'base.tar.zst', size: 9e9, sha256: 'ab'.repeat(32) }], physical: { walStart: '00000001000000A70000003C', walStop: '00000001000000A70000003E' }, id: params.id };
      return { manifest, verifications: [] } as T;
    }
  }
  const noAgents = { hosts: async () => [], open: () => Promise.reject(new Error('bench: no agents')) };

  const { hostOrder, hosts } = fleet(50);
  const cHost = hostOrder[0]!;
  const cName = hosts[cHost]!.clusters![0]!.cluster;
  const list = backups(cHost, cName, 10_000);
  const base: AppState = { ...initialState({ columns: 80, rows: 24 }), hostOrder, hosts };
  const term = new FakeTerminal();
  const store = new Store<AppState, Action>(reducer, base);
  const controller = new Controller(store, new MemoryFleet(store, noAgents), () => undefined);
  const app = render(React.createElement(App, { controller }), { stdin: term.stdin as never, stdout: term.stdout as never, stderr: term.stdout as never, exitOnCtrlC: false, patchConsole: false });
  await term.settle();
  const frames: Record<string, string> = {};
  const cases: KeyCase[] = [];
  const untimed = async (k: string) => {
    await term.press(k);
    await term.settle();
  };
  /** `n` timed presses of the key `next()` gives (it may first move things back, untimed). */
  const time = async (name: string, next: () => Promise<string> | string, n: number) => {
    const c: KeyCase = { name, samples: [] };
    cases.push(c);
    for (let i = 0; i < n; i++) {
      const k = await next();
      const t = await term.press(k);
      if (t === undefined) throw new Error(`${name}: the key ${JSON.stringify(k)} changed nothing on screen`);
      c.samples.push(t);
      await term.settle();
    }
  };
  const s = () => store.getState();

  // fleet: down to the last row, back to the top (untimed), down again
  await time('fleet: j (next row)', async () => (s().fleet.cursor >= hostOrder.length - 1 && (await untimed('g')), 'j'), presses);
  await time('fleet: s (sort)', () => 's', Math.min(presses, 30));
  frames.fleet = term.last;
  await untimed('/');
  const typing = [...'pg-eu-0', ...'\x7f'.repeat(7)];
  let typed = 0;
  await time('fleet: filter typing', () => typing[typed++ % typing.length]!, presses);
  await untimed('\r');

  // the cluster view: 10,000 backups arrive for an open cluster (grouping + first frame)
  const arrival: number[] = [];
  for (let i = 0; i < 5; i++) {
    store.dispatch({ type: 'cluster/open', host: cHost, cluster: cName });
    store.dispatch({ type: 'nav/push', route: { view: 'cluster', host: cHost, cluster: cName } });
    await term.settle();
    const t0 = performance.now();
    const framed = term.nextFrame();
    // a fresh array each time, as from the agent: nothing memoized helps
    store.dispatch({ type: 'cluster/backups', host: cHost, cluster: cName, value: { loading: false, data: { backups: list.slice() } } });
    store.dispatch({ type: 'cluster/window', host: cHost, cluster: cName, value: { loading: false, data: recoverable(cName, list) } });
    const t = await framed;
    if (t === undefined) throw new Error('10,000 backups arrived, but no frame followed');
    arrival.push(t - t0);
    await term.settle();
    store.dispatch({ type: 'nav/back' });
    await term.settle();
  }
  store.dispatch({ type: 'nav/push', route: { view: 'cluster', host: cHost, cluster: cName } });
  await term.settle();
  await time('cluster 10k: j (next backup)', () => 'j', presses);
  let bottom = false;
  await time('cluster 10k: G / g (last / first)', () => ((bottom = !bottom) ? 'G' : 'g'), Math.min(presses, 30));
  frames.cluster = term.last;
  app.unmount();
  return { cases, arrival, frames };
}

// ---- run ------------------------------------------------------------------------

if (!existsSync(path.join(root, 'dist', 'cli.js'))) await execa('node', [path.join(root, 'scripts', 'build.mjs')]);
const ff = await firstFrame();
const kp = await keypresses();

const node = ff['node -e (print a line)']!;
const tui = ff['lifeboat tui']!;
const load = os.loadavg()[0]!;
console.log(`bench tui: ${os.cpus().length} cores (load average ${load.toFixed(1)}), node ${process.version}; first frame: ${runs} interleaved runs in an 80x24 tmux pane; keypress: ${presses} presses per case, 50 hosts, 10,000 backups`);
console.log('  first frame (ms from start)          median     min     max');
for (const [name, r] of Object.entries(ff)) console.log(`  ${name.padEnd(34)} ${ms(median(r.firstMs))} ${ms(Math.min(...r.firstMs))} ${ms(Math.max(...r.firstMs))}`);
console.log(`  ${'lifeboat tui: agent answered'.padEnd(34)} ${ms(median(tui.connectedMs))} ${ms(Math.min(...tui.connectedMs))} ${ms(Math.max(...tui.connectedMs))}`);
const firstMedian = median(tui.firstMs);
console.log(`  target first frame <= ${TARGET_FIRST_MS} ms: ${firstMedian <= TARGET_FIRST_MS ? 'met' : 'NOT met'} (${firstMedian.toFixed(0)} ms; node itself ${median(node.firstMs).toFixed(0)} ms)`);
console.log('  keypress to frame (ms)               median     p95     max');
for (const c of kp.cases) console.log(`  ${c.name.padEnd(34)} ${ms(median(c.samples))} ${ms(p95(c.samples))} ${ms(Math.max(...c.samples))}`);
console.log(`  ${'10,000 backups arrive (not a key)'.padEnd(34)} ${ms(median(kp.arrival))} ${ms(p95(kp.arrival))} ${ms(Math.max(...kp.arrival))}`);
const worst = Math.max(...kp.cases.map((c) => p95(c.samples)));
console.log(`  target keypress <= ${TARGET_KEY_MS} ms: ${worst <= TARGET_KEY_MS ? 'met' : 'NOT met'} (worst p95 ${worst.toFixed(1)} ms)`);

await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
await writeFile(
  path.join(root, 'bench', 'results', 'tui.json'),
  JSON.stringify(
    {
      at: new Date().toISOString(),
      node: process.version,
      cores: os.cpus().length,
      loadAverage: load,
      targets: { firstFrameMs: TARGET_FIRST_MS, keypressMs: TARGET_KEY_MS },
      firstFrame: Object.fromEntries(Object.entries(ff).map(([k, v]) => [k, { medianMs: median(v.firstMs), samplesMs: v.firstMs, ...(v.connectedMs.length ? { connectedMedianMs: median(v.connectedMs), connectedMs: v.connectedMs } : {}) }])),
      keypress: Object.fromEntries(kp.cases.map((c) => [c.name, { medianMs: median(c.samples), p95Ms: p95(c.samples), maxMs: Math.max(...c.samples), samplesMs: c.samples }])),
      backupsArrive: { medianMs: median(kp.arrival), samplesMs: kp.arrival },
      screens: { tuiConnected: tui.screen },
    },
    null,
    2,
  ) + '\n',
);
