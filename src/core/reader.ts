import { LifeboatError } from './errors.js';
import type { Manifest } from './manifest.js';
import { openStored } from './pipeline.js';
import type { BackupReader } from './plugin.js';
import type { Storage } from './storage.js';

/**
 * A stored backup's objects for a plugin's verify and restore steps: each
 * opened decompressed and checked against the manifest (a stream errors on
 * changed bytes). The agent's and the one `lifeboat/plugin/testing` gives
 * plugin authors (`storedReader`) are this one.
 */
export function backupReader(storage: Storage, manifest: Manifest, signal?: AbortSignal): BackupReader {
  return {
    manifest,
    async open(name: string) {
      const obj = manifest.objects.find((o) => o.name === name);
      if (!obj) throw new LifeboatError('MANIFEST_INVALID', `backup ${manifest.id} has no object ${name}`);
      return openStored(storage, obj, signal ? { signal } : {});
    },
  };
}
