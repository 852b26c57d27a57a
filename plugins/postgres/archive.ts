import { mkdir } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, pathInside, pipeToTool, runTool, type BackupReader, type Check, type LogicalDetails, type StepContext } from 'lifeboat/plugin';
import { toolOpts, type PostgresConfig } from './config.js';
import { dbObjectBase } from './names.js';

type Ctx = StepContext<PostgresConfig>;
export type DatabaseEntry = LogicalDetails['databases'][number];

/** The database entry named `db` (or the only one). */
export function databaseEntry(backup: BackupReader, db?: string): DatabaseEntry {
  const dbs = backup.manifest.logical?.databases ?? [];
  if (db === undefined) {
    if (dbs.length === 1) return dbs[0]!;
    throw new LifeboatError('USAGE', `backup ${backup.manifest.id} holds ${dbs.length} databases: ${dbs.map((d) => d.name).join(', ')}`, {
      hint: 'choose one with --database NAME',
    });
  }
  const e = dbs.find((d) => d.name === db);
  if (!e) throw new LifeboatError('USAGE', `backup ${backup.manifest.id} has no database ${db}`, { hint: `it has: ${dbs.map((d) => d.name).join(', ')}` });
  return e;
}

/** Stage a directory-format dump (decompressed, checksum-verified) into a temp dir. */
export async function stageDirectory(ctx: Ctx, backup: BackupReader, entry: DatabaseEntry): Promise<string> {
  const dir = path.join(await ctx.tmpDir(), dbObjectBase(entry.name) + '.dir');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const prefix = dbObjectBase(entry.name) + '.dir/';
  for (const name of entry.objects) {
    // pg_dump's directory format is flat: each object is <base>.dir/<one file>
    const file = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (!file || file.includes('/')) {
      throw new LifeboatError('MANIFEST_INVALID', `backup ${backup.manifest.id}: object ${JSON.stringify(name)} of database ${entry.name} is not a file of ${prefix}`);
    }
    await pipeline(await backup.open(name), createWriteStream(pathInside(dir, file), { mode: 0o600 }), { signal: ctx.signal });
  }
  return dir;
}

/** Parse `pg_restore --list` output into entry counts. */
export function parseToc(list: string): { entries: number; tableData: number; blobs: boolean } {
  const lines = list.split('\n').filter((l) => /^\d+;/.test(l));
  return {
    entries: lines.length,
    tableData: lines.filter((l) => / TABLE DATA /.test(l)).length,
    blobs: lines.some((l) => / (BLOBS|BLOB) /.test(l)),
  };
}

/** The TOC of a custom or directory archive. */
export async function archiveToc(ctx: Ctx, backup: BackupReader, entry: DatabaseEntry): Promise<string> {
  const to = toolOpts(ctx.cluster.config, ctx.signal);
  if (backup.manifest.logical!.format === 'directory') {
    return runTool('pg_restore', ['--list', await stageDirectory(ctx, backup, entry)], to);
  }
  return pipeToTool('pg_restore', ['--list'], await backup.open(entry.objects[0]!), { ...to, captureStdout: true });
}

/** Checks a plain SQL dump's header and trailer while streaming through it. */
export async function checkPlainDump(stream: NodeJS.ReadableStream, kind: 'database' | 'cluster'): Promise<Check> {
  let head = '';
  let tail = '';
  let bytes = 0;
  await pipeline(
    stream,
    new Writable({
      write(chunk: Buffer, _e, cb) {
        bytes += chunk.length;
        if (head.length < 4096) head += chunk.toString('utf8', 0, Math.min(chunk.length, 4096));
        tail = (tail + chunk.toString('latin1')).slice(-4096);
        cb();
      },
    }),
  );
  const title = kind === 'database' ? 'PostgreSQL database dump' : 'PostgreSQL database cluster dump';
  const okHead = head.includes(`-- ${title}\n`);
  const okTail = tail.includes(`-- ${title} complete`);
  return {
    name: kind === 'database' ? 'plain dump header and trailer' : 'globals header and trailer',
    ok: okHead && okTail,
    detail: okHead && okTail ? `${bytes} bytes, complete` : !okHead ? 'header missing: not a pg_dump plain dump' : 'trailer missing: the dump is truncated',
  };
}
