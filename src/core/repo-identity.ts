import { LifeboatError } from './errors.js';
import type { Storage } from './storage.js';

/**
 * The repository's identity file, without zod or the manifest schema: the WAL
 * hooks (archive_command) check it before every push and must start fast.
 */
export const REPO_FILE = 'lifeboat.json';
export const REPO_FORMAT = 1;
/** Manifests of huge --tables lists stay far below this; a bigger one is damage, not data. */
export const MAX_TEXT_BYTES = 64 * 1024 * 1024;

/** A small stored text, read with a size cap that names the key. */
export async function readStoredText(storage: Storage, key: string, maxBytes = MAX_TEXT_BYTES): Promise<string> {
  const stream = await storage.get(key);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > maxBytes) {
      stream.destroy?.();
      throw new LifeboatError('MANIFEST_INVALID', `${storage.description}/${key} is larger than ${maxBytes} bytes: not a lifeboat file (damaged or foreign)`, {
        hint: 'remove it or restore it from another copy of the repository',
      });
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The repository proves it is one before anything is written into it: its
 * identity file must be there and readable. An unmounted mount point or a
 * wrong path is an empty directory, and a WAL segment stored there would be
 * counted archived by PostgreSQL and then lost.
 */
export async function openRepository(storage: Storage): Promise<void> {
  const where = `${storage.description}/${REPO_FILE}`;
  if (!(await storage.stat(REPO_FILE))) {
    throw new LifeboatError('REPO_MISSING', `repository ${storage.description} has no ${REPO_FILE}: nothing was written`, {
      hint: 'is its storage mounted and the path right? For a new repository run: lifeboat repo init',
    });
  }
  const text = await readStoredText(storage, REPO_FILE, 64 * 1024);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new LifeboatError('MANIFEST_INVALID', `${where} is damaged: not JSON (${(err as Error).message})`, { hint: 'restore it from another copy of the repository' });
  }
  const version = typeof data === 'object' && data !== null ? (data as { formatVersion?: unknown }).formatVersion : undefined;
  if (typeof version !== 'number') {
    throw new LifeboatError('MANIFEST_INVALID', `${where} is damaged: it has no formatVersion`, { hint: 'restore it from another copy of the repository' });
  }
  if (version !== REPO_FORMAT) {
    throw new LifeboatError('UNSUPPORTED', `repository ${storage.description} has format ${version}`, { hint: `this lifeboat reads format ${REPO_FORMAT}; upgrade lifeboat` });
  }
}
