import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, pathInside, pipeToTool, runTool, type BackupReader, type Check, type StepContext } from 'lifeboat/plugin';
import { serverBinDir } from './bindir.js';
import type { PostgresConfig } from './config.js';
import { BASE_OBJECT, MANIFEST_OBJECT, tablespaceObject, tablespaceOid } from './physical.js';

type Ctx = StepContext<PostgresConfig>;

/** Structure: the tar lists the files a data directory and its WAL need. */
export async function verifyPhysicalStructure(ctx: Ctx, backup: BackupReader): Promise<Check[]> {
  const p = backup.manifest.physical!;
  const list = await pipeToTool('tar', ['-t'], await backup.open(BASE_OBJECT), { captureStdout: true, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  const names = new Set(list.split('\n').map((l) => l.replace(/^\.\//, '')));
  const separateManifest = backup.manifest.objects.some((o) => o.name === MANIFEST_OBJECT);
  const need = ['PG_VERSION', 'global/pg_control', ...(separateManifest ? [] : ['backup_manifest']), 'backup_label', `pg_wal/${p.walStart}`, `pg_wal/${p.walStop}`];
  if (p.tablespaces.length) need.push('tablespace_map');
  const missing = need.filter((n) => !names.has(n));
  const checks: Check[] = [
    {
      name: 'base backup tar: required files',
      ok: missing.length === 0,
      detail: missing.length ? `missing: ${missing.join(', ')}` : `${names.size} entries, backup_manifest and WAL ${p.walStart}..${p.walStop} present`,
    },
  ];
  for (const ts of p.tablespaces) {
    const list = await pipeToTool('tar', ['-t'], await backup.open(tablespaceObject(ts.oid)), { captureStdout: true, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    const entries = list.split('\n').filter(Boolean);
    const ok = entries.some((e) => /^(\.\/)?PG_\d+_\d+\/?$/.test(e));
    checks.push({ name: `tablespace ${ts.oid} tar`, ok, detail: ok ? `${entries.length} entries (was ${ts.location})` : 'no PG_<version> directory in it' });
  }
  return checks;
}

/**
 * Restore level: extract into a private temp dir and run pg_verifybackup, which
 * checks every file against PostgreSQL's own backup_manifest and parses the WAL
 * the backup needs.
 */
export async function verifyPhysicalRestore(ctx: Ctx, backup: BackupReader): Promise<Check[]> {
  const dir = path.join(await ctx.tmpDir(), 'data');
  await mkdir(dir, { mode: 0o700 });
  const opts = ctx.signal ? { signal: ctx.signal } : {};
  await pipeToTool('tar', ['-x', '-C', dir], await backup.open(BASE_OBJECT), opts);
  // tablespaces where backup_manifest lists their files: pg_tblspc/<oid>/...
  for (const ts of backup.manifest.physical!.tablespaces) {
    const tsDir = pathInside(path.join(dir, 'pg_tblspc'), tablespaceOid(ts.oid));
    await mkdir(tsDir, { recursive: true, mode: 0o700 });
    await pipeToTool('tar', ['-x', '-C', tsDir], await backup.open(tablespaceObject(ts.oid)), opts);
  }
  if (backup.manifest.objects.some((o) => o.name === MANIFEST_OBJECT)) {
    await pipeline(await backup.open(MANIFEST_OBJECT), createWriteStream(path.join(dir, 'backup_manifest'), { mode: 0o600 }));
  }
  const bindir = await serverBinDir(ctx);
  if (!bindir) throw new LifeboatError('BINARY_MISSING', 'cannot find pg_verifybackup', { hint: 'set "bindir" in the cluster connection config to the PostgreSQL server bin directory' });
  const out = await runTool('pg_verifybackup', [dir], { bindir, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  return [{ name: 'pg_verifybackup (files against backup_manifest, WAL parsed)', ok: true, detail: out.trim().split('\n').pop() ?? 'ok' }];
}
