/**
 * The public plugin SDK: `import { definePlugin, ... } from 'lifeboat/plugin'`.
 * Built-in plugins use only this entry; so do third parties.
 */
export { z } from 'zod';
export * from './errors.js';
export * from './storage.js';
export * from './compression.js';
export * from './pipeline.js';
export * from './manifest.js';
export * from './repository.js';
export * from './plugin.js';
export * from './exec.js';
export * from './wal.js';
export * from './pitr.js';
export { pidAlive } from './proc.js';
export * from './hook-command.js';
export { userNameOf } from './access.js';
export { noun, plural } from './text.js';
export { redact, redactError } from './redact.js';
