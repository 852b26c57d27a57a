import { LocalStorage } from './local-storage.js';

export { LocalStorage } from './local-storage.js';
export { removeStaleTemps, TMP_PREFIX } from './fs-helpers.js';

/** A storage keeping objects as files under `root` (created 0700 on first write). */
export function createLocalStorage(root: string): LocalStorage {
  return new LocalStorage(root);
}
