import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { LifeboatError, isNotFound } from './errors.js';
import { backupDirKey, CLUSTER_NAME_RE, parseManifest, VerificationSchema, type Manifest, type Verification } from './manifest.js';
import type { Storage, ObjectInfo } from './storage.js';
import { MAX_TEXT_BYTES, openRepository, readStoredText, REPO_FORMAT } from './repo-identity.js';

export { REPO_FORMAT };
const NAME_RE = CLUSTER_NAME_RE;

/** Storage-agnostic key layout (docs/repository.md). */
export const layout = {
  repoFile: 'lifeboat.json',
  backups: (cluster: string) => `${cluster}/backup/`,
  backupDir: backupDirKey,
  manifest: (cluster: string, id: string) => `${cluster}/backup/${id}/manifest.json`,
  verifications: (cluster: string, id: string) => `${cluster}/verify/${id}/`,
  /** `inconclusive`: a run that could not verify (it says nothing about the backup; `list` skips it). */
  verification: (cluster: string, id: string, at: string, inconclusive = false) =>
    `${cluster}/verify/${id}/${at.replace(/[:.]/g, '-')}${inconclusive ? '.inconclusive' : ''}.json`,
  /** A pinned backup has an empty marker here: retention never removes it. */
  pins: (cluster: string) => `${cluster}/pins/`,
  pin: (cluster: string, id: string) => `${cluster}/pins/${id}`,
};

export function assertClusterName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new LifeboatError('CONFIG_INVALID', `cluster name ${JSON.stringify(name)} is not allowed`, {
      hint: 'use letters, digits, dot, dash and underscore (at most 63), starting with a letter or digit',
    });
  }
}

export type ManifestEntry =
  | { cluster: string; id: string; key: string; size: number; mtimeMs?: number; manifest: Manifest }
  | { cluster: string; id: string; key: string; size: number; mtimeMs?: number; error: LifeboatError };

/** The repository on top of any Storage: manifests, verification results, layout. */
export class Repository {
  constructor(readonly storage: Storage) {}

  /**
   * Explicit creation (`lifeboat init`, `lifeboat repo init`, a first backup):
   * write `lifeboat.json` if missing; refuse a repository of an unknown format.
   */
  async init(): Promise<void> {
    if (await this.storage.stat(layout.repoFile)) return this.open();
    const body = JSON.stringify({ formatVersion: REPO_FORMAT, createdAt: new Date().toISOString(), cipher: 'none' }, null, 2);
    try {
      await this.storage.put(layout.repoFile, Readable.from([Buffer.from(body + '\n')]), { ifNoneMatch: true });
    } catch (err) {
      if (await this.storage.stat(layout.repoFile)) return; // created concurrently
      throw err;
    }
  }

  /** The repository proves it is one before anything is written into it (see ./repo-identity.ts). */
  async open(): Promise<void> {
    await openRepository(this.storage);
  }

  /** A small stored text (manifest, result, identity file), read with a size cap that names the key. */
  readText(key: string, maxBytes = MAX_TEXT_BYTES): Promise<string> {
    return readStoredText(this.storage, key, maxBytes);
  }

  async writeJson(key: string, value: unknown, opts: { ifNoneMatch?: boolean } = {}): Promise<void> {
    const body = Buffer.from(JSON.stringify(value, null, 2) + '\n');
    await this.storage.put(key, Readable.from([body]), opts);
  }

  /** The commit point of a backup: written last, never overwritten. Returns the sha256 of the bytes stored. */
  async writeManifest(m: Manifest): Promise<{ sha256: string }> {
    const body = Buffer.from(JSON.stringify(m, null, 2) + '\n');
    await this.storage.put(layout.manifest(m.cluster, m.id), Readable.from([body]), { ifNoneMatch: true });
    return { sha256: createHash('sha256').update(body).digest('hex') };
  }

  /** The sha256 of a backup's manifest.json as stored now (its bytes, not a re-serialization). */
  async manifestSha256(cluster: string, id: string): Promise<string> {
    return createHash('sha256').update(Buffer.from(await this.readText(layout.manifest(cluster, id)))).digest('hex');
  }

  async readManifest(cluster: string, id: string): Promise<Manifest> {
    const key = layout.manifest(cluster, id);
    let text: string;
    try {
      text = await this.readText(key);
    } catch (err) {
      if (isNotFound(err)) throw new LifeboatError('UNKNOWN_BACKUP', `no backup ${id} of cluster ${cluster}`);
      throw err;
    }
    const m = parseManifest(text, key);
    if (m.id !== id || m.cluster !== cluster) {
      throw new LifeboatError('MANIFEST_INVALID', `${key}: names backup ${m.cluster}/${m.id}, not ${cluster}/${id}`);
    }
    return m;
  }

  /** Cluster names that have at least one object in the repository. */
  async clusters(): Promise<string[]> {
    const seen = new Set<string>();
    for await (const o of this.storage.list('')) {
      const m = /^([^/]+)\/backup\//.exec(o.key);
      if (m) seen.add(m[1]!);
    }
    return [...seen].sort();
  }

  /** Manifest keys of a cluster's backups (valid or not). */
  async *manifestInfos(cluster: string): AsyncIterable<ObjectInfo & { id: string }> {
    for await (const o of this.storage.list(layout.backups(cluster))) {
      const m = /^[^/]+\/backup\/([^/]+)\/manifest\.json$/.exec(o.key);
      if (m) yield { ...o, id: m[1]! };
    }
  }

  /** Every backup of a cluster; a manifest that fails validation is reported, not trusted. */
  async *manifests(cluster: string): AsyncIterable<ManifestEntry> {
    for await (const info of this.manifestInfos(cluster)) {
      const base = { cluster, id: info.id, key: info.key, size: info.size, ...(info.mtimeMs !== undefined ? { mtimeMs: info.mtimeMs } : {}) };
      try {
        yield { ...base, manifest: await this.readManifest(cluster, info.id) };
      } catch (err) {
        yield { ...base, error: err instanceof LifeboatError ? err : new LifeboatError('MANIFEST_INVALID', String(err)) };
      }
    }
  }

  async writeVerification(cluster: string, v: Verification): Promise<string> {
    const key = layout.verification(cluster, v.backupId, v.finishedAt, v.inconclusive === true);
    await this.writeJson(key, v);
    return key;
  }

  /** Verification results of one backup, oldest first; damaged ones are skipped. */
  async verifications(cluster: string, id: string): Promise<Verification[]> {
    const out: Verification[] = [];
    for await (const o of this.storage.list(layout.verifications(cluster, id))) {
      if (!o.key.endsWith('.json')) continue;
      try {
        const res = VerificationSchema.safeParse(JSON.parse(await this.readText(o.key)));
        if (res.success) out.push(res.data);
      } catch {
        /* a damaged result is ignored; the backup can be verified again */
      }
    }
    return out.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
  }

  /** Ids of the pinned backups of a cluster. */
  async pins(cluster: string): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const o of this.storage.list(layout.pins(cluster))) out.add(o.key.slice(layout.pins(cluster).length));
    return out;
  }

  async pin(cluster: string, id: string): Promise<void> {
    await this.storage.put(layout.pin(cluster, id), Readable.from([Buffer.from(`${new Date().toISOString()}\n`)]));
  }

  async unpin(cluster: string, id: string): Promise<void> {
    await this.storage.delete(layout.pin(cluster, id));
  }

  /**
   * Objects under `<cluster>/backup/` that no valid manifest references
   * (interrupted or cancelled backups). Backups listed in `busy` are skipped.
   * Objects next to a damaged manifest are kept: they may be all that is left.
   */
  async orphans(cluster: string, busy: ReadonlySet<string> = new Set()): Promise<ObjectInfo[]> {
    const byDir = new Map<string, ObjectInfo[]>();
    for await (const o of this.storage.list(layout.backups(cluster))) {
      const m = /^[^/]+\/backup\/([^/]+)\//.exec(o.key);
      if (!m) continue;
      const list = byDir.get(m[1]!) ?? [];
      list.push(o);
      byDir.set(m[1]!, list);
    }
    const orphans: ObjectInfo[] = [];
    for (const [id, objects] of byDir) {
      if (busy.has(id)) continue;
      const manifestKey = layout.manifest(cluster, id);
      if (!objects.some((o) => o.key === manifestKey)) {
        orphans.push(...objects);
        continue;
      }
      let manifest: Manifest;
      try {
        manifest = await this.readManifest(cluster, id);
      } catch {
        continue;
      }
      const referenced = new Set([manifestKey, ...manifest.objects.map((o) => o.key)]);
      orphans.push(...objects.filter((o) => !referenced.has(o.key)));
    }
    return orphans;
  }
}
