/**
 * Fleet benchmark (not in npm test): `lifeboat status --all` over 20 inventory
 * entries that all point at one loopback OpenSSH sshd (test/harness/sshd.ts;
 * needs root). Target: <= 2 s wall time on this 2-core machine.
 *
 * Variants, interleaved (A B C A B C ...), medians of BENCH_RUNS (default 5):
 *   split   the remote agent is bin/lifeboat.js (dist/cli.js + chunks)
 *   bundle  the remote agent is dist/lifeboat-agent.mjs (what hosts deploy installs)
 *   no share  bundle, with LIFEBOAT_SSH_SHARE=0: one SSH connection per entry
 *   hosts-test  `hosts test --all` with the bundle (for comparison with the old figure)
 * Each run also reports the whole machine's busy CPU seconds over the run
 * (/proc/stat: CLI, sshd sessions and agents — and anything else running, so
 * run it on a quiet machine) and the SSH logins sshd accepted (its log).
 *
 * The agent config has one cluster whose repository holds no backups (status
 * reads the repository, not PostgreSQL), so every host reports STALE: the
 * exit code is 1 by design; the bench checks that every host answered.
 * Environment: BENCH_RUNS, BENCH_HOSTS (default 20).
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeKey, makeSshHome, removeSshd, startSshd } from '../test/harness/sshd.js';
import { median } from './lib.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(root, 'bin', 'lifeboat.js');
const BUNDLE = path.join(root, 'dist', 'lifeboat-agent.mjs');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const n = Number(process.env.BENCH_HOSTS ?? 20);
/** Busy jiffies of the whole machine (all CPUs), for CPU seconds per run. */
const busy = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!; // user nice system irq softirq steal
};
const HZ = 100;

await execa('node', [path.join(root, 'scripts', 'build.mjs')]);
const sshd = await startSshd({ name: 'bench-fleet', logLevel: 'INFO' });
const home = await makeSshHome();
const ws = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-bench-fleet-'));
try {
  const key = await makeKey(home.sshDir, 'id_ed25519');
  await sshd.authorize(key.pub);
  const config = path.join(ws, 'config.json');
  await writeFile(
    config,
    JSON.stringify({
      stateDir: path.join(ws, 'state'),
      repositories: { main: { type: 'local', path: path.join(ws, 'repo') } },
      clusters: { main: { repository: 'main', connection: { host: '127.0.0.1', port: 1, user: 'postgres', database: 'postgres' } } },
    }),
  );
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const inventories: Record<string, string> = {};
  for (const [variant, agent] of [
    ['split', `${q(process.execPath)} ${q(BIN)} agent --stdio`],
    ['bundle', `${q(process.execPath)} ${q(BUNDLE)} agent --stdio`],
  ] as const) {
    const file = path.join(ws, `hosts-${variant}.json`);
    const hosts = Array.from({ length: n }, (_, i) => ({ name: `h${String(i + 1).padStart(2, '0')}`, destination: `root@127.0.0.1:${sshd.port}`, agentCommand: `${agent} --config ${q(config)}`, groups: ['bench'], addedAt: new Date().toISOString() }));
    await writeFile(file, JSON.stringify({ version: 1, hosts }, null, 2));
    inventories[variant] = file;
  }
  const env = (variant: string) => ({ HOME: home.home, LIFEBOAT_HOSTS_FILE: inventories[variant]!, SSH_AUTH_SOCK: '', NO_COLOR: '1', LIFEBOAT_CONFIG: '' });
  const cases: { name: string; inv: string; args: string[]; env?: Record<string, string> }[] = [
    { name: 'status --all (split agent)', inv: 'split', args: ['--json', 'status', '--all'] },
    { name: 'status --all (bundle agent)', inv: 'bundle', args: ['--json', 'status', '--all'] },
    { name: 'status --all (bundle, no share)', inv: 'bundle', args: ['--json', 'status', '--all'], env: { LIFEBOAT_SSH_SHARE: '0' } },
    { name: 'hosts test --all (bundle)', inv: 'bundle', args: ['--json', 'hosts', 'test', '--all'] },
  ];
  // first contact records the host key once (not timed)
  await execa(process.execPath, [BIN, '--accept-new-host-key', '--json', 'hosts', 'test', 'h01'], { env: env('bundle'), reject: false });
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const cpu = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const logins = new Map<string, number>();
  const accepted = async () => ((await sshd.log()).match(/Accepted publickey/g) ?? []).length;
  for (let r = 0; r < runs; r++) {
    for (const c of cases) {
      const l0 = await accepted();
      const b0 = busy();
      const t0 = performance.now();
      const res = await execa(process.execPath, [BIN, ...c.args], { env: { ...env(c.inv), ...c.env }, reject: false });
      const ms = performance.now() - t0;
      const cpuS = (busy() - b0) / HZ;
      const doc = JSON.parse(res.stdout);
      const answered = doc.hosts.filter((h: { error?: unknown }) => !h.error).length;
      if (answered !== n) throw new Error(`${c.name}: only ${answered} of ${n} hosts answered:\n${res.stdout.slice(0, 2000)}`);
      times.get(c.name)!.push(ms);
      logins.set(c.name, (await accepted()) - l0);
      cpu.get(c.name)!.push(cpuS);
    }
  }
  console.log(`bench fleet: ${n} inventory entries -> one loopback sshd, ${runs} interleaved runs, ${os.cpus().length} cores, node ${process.version}`);
  for (const c of cases) {
    const t = times.get(c.name)!;
    console.log(`  ${c.name.padEnd(32)} median ${(median(t) / 1000).toFixed(2)} s  (min ${(Math.min(...t) / 1000).toFixed(2)}, max ${(Math.max(...t) / 1000).toFixed(2)})  machine CPU ${median(cpu.get(c.name)!).toFixed(2)} s, ${logins.get(c.name)} SSH logins`);
  }
  const best = median(times.get(cases[1]!.name)!);
  console.log(`  target status --all <= 2.00 s: ${best <= 2000 ? 'met' : 'NOT met'} (${(best / 1000).toFixed(2)} s)`);
} finally {
  await removeSshd(sshd);
  await home.cleanup();
  await rm(ws, { recursive: true, force: true });
}
