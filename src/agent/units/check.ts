import { realpathSync } from 'node:fs';
import nodePath from 'node:path';
import { stateDirFor } from '../../config/load.js';
import { LifeboatError } from '../../core/errors.js';
import type { ArchivingFinding } from '../../core/plugin.js';
import { walLayout } from '../../core/wal.js';
import type { AgentEnv, ResolvedCluster } from '../../runtime/env.js';
import { stepContext, type JobHandle } from '../../runtime/context.js';
import { ACCESS_FINDINGS, accessFindings, type HookPaths } from './check-access.js';

const shq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * The archive_command / restore_command lines for a cluster: this lifeboat, this
 * config. With walArchive.async, archive_command is bin/lifeboat-archive (a
 * POSIX sh script that answers from the spool without starting Node). `paths`:
 * what the server's OS user needs to run them.
 */
export async function hookCommands(env: AgentEnv, cluster: string): Promise<{ archiveCommand: string; restoreCommand: string; paths: HookPaths }> {
  const { path, config } = await env.config();
  const lifeboat = process.argv[1]!;
  const base = `${shq(process.execPath)} ${shq(lifeboat)} --config ${shq(path)}`;
  const c = config.clusters[cluster];
  const wa = c?.walArchive;
  const repo = c ? config.repositories[c.repository] : undefined;
  const paths: HookPaths = { cluster, config: path, programs: [{ path: process.execPath, want: 'exec' }, { path: lifeboat, want: 'read' }] };
  if (repo?.type === 'local' && typeof repo.path === 'string') paths.repoDir = repo.path;
  let archiveCommand = `${base} wal push --cluster ${shq(cluster)} %p`;
  if (wa?.async) {
    const script = nodePath.join(nodePath.dirname(realpathSync(lifeboat)), 'lifeboat-archive');
    const spool = wa.spoolDir ? nodePath.resolve(nodePath.dirname(path), wa.spoolDir) : nodePath.join(stateDirFor(config), 'wal-spool');
    archiveCommand = `${shq(script)} --node ${shq(process.execPath)} --config ${shq(path)} --cluster ${shq(cluster)} --spool ${shq(spool)} %p`;
    paths.programs.unshift({ path: script, want: 'exec' });
    paths.spool = spool;
  }
  return { archiveCommand, restoreCommand: `${base} wal fetch --cluster ${shq(cluster)} %f %p`, paths };
}

/** The plugin's findings, then whether the server's OS user can use what archive_command needs. */
async function archivingFindings(env: AgentEnv, cluster: ResolvedCluster): Promise<ArchivingFinding[]> {
  const steps = archivingSteps(cluster);
  const ctx = stepContext(cluster, env.host, quickJob());
  const expected = await hookCommands(env, cluster.name);
  const plugin = cluster.plugin.meta.name;
  const findings = await steps.checkArchiving(ctx, { archiveCommand: expected.archiveCommand });
  const who = cluster.plugin.source.steps.serverOsUser;
  if (who) findings.push(...accessFindings(await who(ctx), expected.paths));
  return findings;
}

function quickJob(): JobHandle {
  return { id: 'check', signal: AbortSignal.timeout(120_000), log: () => undefined, progress: () => undefined, step: (_n, f) => f(), tmpDir: () => Promise.reject(new Error('no temp dir')) };
}

function archivingSteps(cluster: ResolvedCluster) {
  const s = cluster.plugin.source.steps;
  if (!s.checkArchiving || !s.switchWal || !s.applySettings) throw new LifeboatError('UNSUPPORTED', `source plugin ${cluster.plugin.meta.name} has no WAL archiving`);
  return { checkArchiving: s.checkArchiving, switchWal: s.switchWal, applySettings: s.applySettings };
}

/**
 * `lifeboat check`: the settings WAL archiving needs, each with its fix, then an
 * end-to-end probe: pg_switch_wal() and wait for that segment in the repository.
 */
export async function checkCluster(env: AgentEnv, p: { cluster?: string; probeSeconds?: number }): Promise<{ cluster: string; ok: boolean; findings: ArchivingFinding[] }> {
  const cluster = await env.cluster(p.cluster);
  const steps = archivingSteps(cluster);
  const ctx = stepContext(cluster, env.host, quickJob());
  const findings = await archivingFindings(env, cluster);
  // The repository proves it is one (lifeboat.json): an unmounted mount point passes every other check.
  const repo = await env.repository(cluster.repoName);
  const identity = await repo.open().then(
    () => ({ name: 'repository', ok: true, level: 'ok' as const, detail: `${repo.storage.description} is a lifeboat repository (lifeboat.json)` }),
    (err: unknown) => ({ name: 'repository', ok: false, level: 'error' as const, detail: `${(err as Error).message}${err instanceof LifeboatError && err.hint ? `; ${err.hint}` : ''}` }),
  );
  findings.unshift(identity);
  if (!identity.ok) {
    findings.push({ name: 'end-to-end probe', ok: false, level: 'warn', detail: 'skipped: the repository is missing (see above)' });
    return { cluster: cluster.name, ok: false, findings };
  }
  const blocking = findings.filter((f) => !f.ok && f.level === 'error' && ['wal_level', 'archive_mode', 'archive_command', ...ACCESS_FINDINGS].includes(f.name));
  if (blocking.length) {
    const detail = blocking.every((f) => f.pending !== undefined)
      ? `skipped: ${blocking.map((f) => f.name).join(', ')} is set but waits for a PostgreSQL restart`
      : blocking.every((f) => ACCESS_FINDINGS.includes(f.name))
        ? "skipped: archive_command would fail as the server's OS user (see above)"
        : 'skipped: archiving is not set up (lifeboat setup-archiving applies the fixes above)';
    findings.push({ name: 'end-to-end probe', ok: false, level: 'warn', detail });
  } else {
    const segment = await steps.switchWal(ctx);
    const storage = await env.storage(cluster.repoName);
    const deadline = Date.now() + (p.probeSeconds ?? 60) * 1000;
    let found = false;
    while (!found && Date.now() < deadline) {
      for await (const o of storage.list(walLayout.filePrefix(cluster.name, segment))) if (walLayout.parse(o.key)?.name === segment) found = true;
      if (!found) await new Promise((r) => setTimeout(r, 250));
    }
    findings.push(
      found
        ? { name: 'end-to-end probe', ok: true, level: 'ok', detail: `segment ${segment} reached the repository after pg_switch_wal()` }
        : { name: 'end-to-end probe', ok: false, level: 'error', detail: `segment ${segment} did not reach the repository within ${p.probeSeconds ?? 60} s; check the server log for archive_command errors` },
    );
  }
  return { cluster: cluster.name, ok: findings.every((f) => f.ok || f.level === 'warn'), findings };
}

/** The settings among `statements` that take effect only after a restart. */
function restartNames(findings: ArchivingFinding[], statements: string[]): string[] {
  return findings.filter((f) => f.needs === 'restart' && f.fix && statements.includes(f.fix)).map((f) => f.name);
}

/** The ALTER SYSTEM lines `setup-archiving` would apply (read-only). */
export async function archivingFixes(env: AgentEnv, p: { cluster?: string }): Promise<{ cluster: string; statements: string[]; restart: boolean; restartSettings: string[]; blockers: ArchivingFinding[]; findings: ArchivingFinding[] }> {
  const cluster = await env.cluster(p.cluster);
  const findings = await archivingFindings(env, cluster);
  // what archive_command would fail on as the server's OS user: setup-archiving stops for these
  const blockers = findings.filter((f) => !f.ok && ACCESS_FINDINGS.includes(f.name));
  const fixes = findings.filter((f) => !f.ok && f.fix?.startsWith('ALTER SYSTEM'));
  const statements = fixes.map((f) => f.fix!);
  const restartSettings = restartNames(findings, statements);
  return { cluster: cluster.name, statements, restart: restartSettings.length > 0, restartSettings, blockers, findings };
}

/** Apply exactly the statements the operator saw (they must still be the fixes). */
export async function applyArchivingFixes(env: AgentEnv, p: { cluster?: string; statements: string[] }): Promise<{ applied: string[]; restart: boolean; pendingRestart: string[] }> {
  const now = await archivingFixes(env, p);
  const unknown = p.statements.filter((s) => !now.statements.includes(s));
  if (unknown.length) throw new LifeboatError('USAGE', `not a current fix: ${unknown[0]}`, { hint: 'run lifeboat setup-archiving again to see the current fixes' });
  const cluster = await env.cluster(p.cluster);
  const ctx = stepContext(cluster, env.host, quickJob());
  const r = await archivingSteps(cluster).applySettings(ctx, p.statements);
  // the source says which settings wait for a restart; else those whose fix said so
  const pendingRestart = r?.pendingRestart ?? restartNames(now.findings, p.statements);
  return { applied: p.statements, restart: pendingRestart.length > 0, pendingRestart };
}
