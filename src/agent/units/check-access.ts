import { readdirSync } from 'node:fs';
import nodePath from 'node:path';
import type { Denial } from '../../core/access.js';
import type { ArchivingFinding } from '../../core/plugin.js';
import { deniedTo, lookupOsUser, primaryGroup } from '../../config/server-access.js';

/** What archive_command touches, as the server's OS user runs it. */
export interface HookPaths {
  cluster: string;
  config: string;
  /** Programs the line starts (node: run; bin/lifeboat.js: read; bin/lifeboat-archive: run). */
  programs: { path: string; want: 'read' | 'exec' }[];
  /** A local repository's directory (other storage: not checked here). */
  repoDir?: string;
  /** The async spool root. */
  spool?: string;
}

/** The names of these findings (check skips its probe when one fails). */
export const ACCESS_FINDINGS = ['server OS user', 'config access', 'lifeboat access', 'repository access', 'spool access'];

const inside = (dir: string, p: string) => p === dir || p.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * Can the server's OS user do what archive_command does: read the config, run
 * lifeboat, write the repository's WAL (and the spool)? Each failing one says
 * what stops it (`/root is drwx------ root:root`) and what to change. Done as
 * root following a quick start, the config sat in root's 0700 home and the
 * server logged "no lifeboat config found" for every segment.
 */
export function accessFindings(server: { name: string; source: string }, p: HookPaths): ArchivingFinding[] {
  const user = lookupOsUser(server.name);
  if (!user) {
    return [{ name: 'server OS user', ok: false, level: 'error', detail: `no OS user ${server.name} here (${server.source})`, fix: 'set connection.serverUser to the OS user that runs PostgreSQL' }];
  }
  const u = user.name;
  const group = primaryGroup(u);
  const out: ArchivingFinding[] = [];
  // the first line says who that is and how it was learnt
  let who = `${u} (the server's OS user, which runs archive_command: ${server.source})`;
  const finding = (name: string, ok: string, denial: Denial | undefined, fix: (d: Denial) => string): void => {
    out.push(denial ? { name, ok: false, level: 'error', detail: `${who} may not ${ok}: ${denial.text}`, fix: fix(denial) } : { name, ok: true, level: 'ok', detail: `${who} may ${ok}` });
    who = u;
  };

  finding(`config access`, `read the config ${p.config}`, deniedTo(user, p.config, 'read'), (d) =>
    d.kind === 'enter'
      ? `install -D -m 640 -g ${group} ${p.config} /etc/lifeboat/config.json, then lifeboat --config /etc/lifeboat/config.json setup-archiving --force (or run lifeboat as ${u} with its own config)`
      : `chgrp ${group} ${p.config} && chmod g+r ${p.config}`);

  const program = p.programs.map((x) => deniedTo(user, x.path, x.want)).find(Boolean);
  finding('lifeboat access', `run ${p.programs.map((x) => x.path).join(' ')}`, program, (d) => `install lifeboat where ${u} can read it (outside ${d.path}, e.g. npm install -g), then run setup-archiving with that lifeboat`);

  if (p.repoDir) {
    const wal = nodePath.join(p.repoDir, p.cluster, 'wal');
    const targets: [string, 'read' | 'write'][] = [[nodePath.join(p.repoDir, 'lifeboat.json'), 'read'], [wal, 'write']];
    const newest = subdirs(wal).at(-1); // where the next segments go
    if (newest) targets.push([nodePath.join(wal, newest), 'write']);
    const denial = targets.map(([t, want]) => deniedTo(user, t, want)).find(Boolean);
    finding('repository access', `write WAL into ${p.repoDir}`, denial, (d) =>
      inside(p.repoDir!, d.path)
        ? `chown -R ${u}: ${p.repoDir}  (and run lifeboat as ${u}, so what it writes stays writable for the server)`
        : `${u} must reach ${p.repoDir}: move the repository out of ${d.path}, or let ${u} enter it`);
  }

  if (p.spool) {
    const dir = nodePath.join(p.spool, p.cluster);
    finding('spool access', `write the spool ${dir}`, deniedTo(user, dir, 'write'), (d) =>
      d.kind === 'enter' && !inside(p.spool!, d.path)
        ? `set walArchive.spoolDir to a directory ${u} can write (e.g. /var/spool/lifeboat, made with install -d -o ${u} -m 700), then setup-archiving again`
        : `install -d -o ${u} -g ${group} -m 700 ${p.spool} ${dir} && chown -R ${u}: ${dir}`);
  }
  return out;
}

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  } catch {
    return [];
  }
}
