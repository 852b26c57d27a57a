import { definePlugin, z } from '../core/index.js';
import { LIFEBOAT_VERSION } from '../core/version.js';
import { createLocalStorage } from './local/index.js';

export const LocalConfigSchema = z.object({ path: z.string().min(1) }).strict();

/** The built-in local-directory storage (the embedded default repository). */
export default definePlugin<unknown, z.infer<typeof LocalConfigSchema>>({
  apiVersion: 1,
  meta: { name: 'local', version: LIFEBOAT_VERSION, description: 'a directory on this host (atomic puts, 0700/0600)' },
  storage: {
    configSchema: LocalConfigSchema,
    create: (config) => createLocalStorage(config.path),
  },
});
