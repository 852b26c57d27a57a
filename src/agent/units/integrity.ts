/**
 * Manifest integrity: a manifest's checksums protect the objects, but nothing in
 * the repository protects the manifest itself (a size, a time, a label or a
 * relation map changed, JSON still valid, passes every check). The sha256 of
 * its stored bytes is recorded in the agent's state when the backup is written,
 * where a change to the repository cannot also change it, and compared by
 * verify, restore and pitr apply. A manifest this host never saw (written by
 * another host, or after the state was reset) is recorded when first verified:
 * changes after that are caught.
 */
import { LifeboatError } from '../../core/errors.js';
import type { Manifest } from '../../core/manifest.js';
import type { Check } from '../../core/plugin.js';
import type { Repository } from '../../core/repository.js';
import type { AgentEnv } from '../../runtime/env.js';
import type { ManifestDigest } from '../../runtime/state.js';

const keyOf = (m: Pick<Manifest, 'cluster' | 'id'>) => `${m.cluster}/${m.id}`;

/** Record the digest of a manifest this host has just written. */
export async function recordManifestDigest(env: AgentEnv, m: Pick<Manifest, 'cluster' | 'id'>, sha256: string): Promise<void> {
  const state = await env.state();
  await state.update((d) => {
    (d.manifestDigests ??= {})[keyOf(m)] = { sha256, at: new Date().toISOString(), how: 'written' };
  });
}

/**
 * Compare a manifest's stored bytes with the digest recorded on this host.
 * `firstUse`: record a missing digest (verify does; restore and pitr only compare).
 */
export async function checkManifestDigest(env: AgentEnv, repo: Repository, m: Manifest, opts: { firstUse: boolean }): Promise<Check> {
  const now = await repo.manifestSha256(m.cluster, m.id);
  const state = await env.state();
  const recorded: ManifestDigest | undefined = (await state.read()).manifestDigests?.[keyOf(m)];
  if (!recorded) {
    if (opts.firstUse) {
      await state.update((d) => {
        (d.manifestDigests ??= {})[keyOf(m)] ??= { sha256: now, at: new Date().toISOString(), how: 'first-seen' };
      });
    }
    return {
      name: 'manifest digest',
      ok: true,
      detail: `no digest of this manifest on this host (written elsewhere, or the state was reset)${opts.firstUse ? `; recorded now (sha256 ${now.slice(0, 16)}…): a later change is caught` : ''}`,
    };
  }
  if (recorded.sha256 === now) {
    return { name: 'manifest digest', ok: true, detail: `unchanged since ${recorded.how === 'written' ? 'it was written' : 'first verified'} on this host (${recorded.at}; sha256 ${now.slice(0, 16)}…)` };
  }
  return {
    name: 'manifest digest',
    ok: false,
    detail: `manifest.json changed since ${recorded.how === 'written' ? 'it was written' : 'first verified'} on this host (${recorded.at}): sha256 ${now.slice(0, 16)}…, recorded ${recorded.sha256.slice(0, 16)}…`,
  };
}

/** Refuse to restore or recover from a manifest that changed since this host recorded it. */
export async function requireManifestUnchanged(env: AgentEnv, repo: Repository, m: Manifest): Promise<void> {
  const c = await checkManifestDigest(env, repo, m, { firstUse: false });
  if (!c.ok) {
    throw new LifeboatError('MANIFEST_INVALID', `backup ${m.id}: ${c.detail}; it is not trusted, nothing was changed`, {
      hint: 'someone or something rewrote it in the repository: compare it with a copy, verify other backups (lifeboat verify ID), and use another backup',
    });
  }
}
