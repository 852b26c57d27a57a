import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { compressionOfKey, decompressStream, type Compression } from '../../core/compression.js';
import { LifeboatError } from '../../core/errors.js';
import { storeStream } from '../../core/pipeline.js';
import { classifyWalFile, walLayout } from '../../core/wal.js';
import type { ObjectInfo, Storage } from '../../core/storage.js';
import type { AgentEnv } from '../env.js';

export interface WalPushResult {
  name: string;
  key: string;
  sha256: string;
  size: number;
  storedSize: number;
  /** The same content was archived before: nothing was written. */
  alreadyArchived: boolean;
}

/** Every archived copy of one WAL file (normally one). */
async function copiesOf(storage: Storage, cluster: string, name: string): Promise<(ObjectInfo & { sha256: string })[]> {
  const out: (ObjectInfo & { sha256: string })[] = [];
  for await (const o of storage.list(walLayout.filePrefix(cluster, name))) {
    const p = walLayout.parse(o.key);
    if (p && p.name === name) out.push({ ...o, sha256: p.sha256 });
  }
  return out;
}

/**
 * archive_command: store one WAL file, compressed, its sha256 in the key. Pushing
 * the same content again succeeds; different content under the same name fails
 * loudly and keeps the archived copy (both checksums in the message).
 */
export async function walPush(env: AgentEnv, p: { cluster?: string; file: string }): Promise<WalPushResult> {
  const name = path.basename(p.file);
  classifyWalFile(name);
  const cluster = await env.cluster(p.cluster);
  const { config } = await env.config();
  const storage = await env.storage(cluster.repoName);
  let content: Buffer;
  try {
    content = await readFile(p.file); // one segment (16 MiB by default): bounded
  } catch (err) {
    throw new LifeboatError('NOT_FOUND', `cannot read WAL file ${p.file}: ${(err as Error).message}`);
  }
  const sha256 = createHash('sha256').update(content).digest('hex');
  const existing = await copiesOf(storage, cluster.name, name);
  const same = existing.find((e) => e.sha256 === sha256);
  if (same) return { name, key: same.key, sha256, size: content.length, storedSize: same.size, alreadyArchived: true };
  if (existing.length > 0) {
    throw new LifeboatError('VERIFY_FAILED', `WAL file ${name} is already archived with different content (archived sha256 ${existing[0]!.sha256}, new ${sha256}); the archived copy is kept`, {
      hint: 'two clusters may be archiving into one repository path, or this cluster was restored without a new timeline; check the cluster name and system identifier',
    });
  }
  const compression: Compression = config.defaults.compression.algorithm === 'none' ? { algorithm: 'none' } : config.defaults.compression;
  const stored = await storeStream(storage, name, `${walLayout.filePrefix(cluster.name, name)}${sha256}`, Readable.from([content]), { compression, ifNoneMatch: true });
  return { name, key: stored.key, sha256, size: content.length, storedSize: stored.size, alreadyArchived: false };
}

/**
 * restore_command: fetch one WAL file into `dest`, checked against the sha256 in
 * its key, written under a temporary name and renamed only when it matches.
 * A file the archive does not have is NOT_FOUND (restore_command exits 1 quietly).
 */
export async function walFetch(env: AgentEnv, p: { cluster?: string; name: string; dest: string }): Promise<{ name: string; sha256: string; size: number }> {
  classifyWalFile(p.name);
  const cluster = await env.cluster(p.cluster);
  const storage = await env.storage(cluster.repoName);
  const copies = await copiesOf(storage, cluster.name, p.name);
  if (copies.length === 0) throw new LifeboatError('NOT_FOUND', `WAL file ${p.name} is not in the archive`);
  const copy = copies[0]!;
  const algorithm = compressionOfKey(copy.key);
  const tmp = `${p.dest}.lifeboat-tmp-${process.pid}`;
  const hash = createHash('sha256');
  let size = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(await storage.get(copy.key), decompressStream({ algorithm }), tee, createWriteStream(tmp, { mode: 0o600 }));
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const sha256 = hash.digest('hex');
  if (sha256 !== copy.sha256) {
    await rm(tmp, { force: true });
    throw new LifeboatError('VERIFY_FAILED', `archived WAL file ${p.name} is damaged (sha256 ${sha256}, expected ${copy.sha256}); not restored`);
  }
  await rename(tmp, p.dest);
  return { name: p.name, sha256, size };
}
