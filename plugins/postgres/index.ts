import { definePlugin, type StepContext } from 'lifeboat/plugin';
import { probe } from './catalog.js';
import { PostgresConfigSchema, type PostgresConfig } from './config.js';
import { logicalBackup } from './dump.js';
import { physicalBackup } from './physical.js';
import { applySettings, checkArchiving, serverOsUser, switchWal } from './archiving.js';
import { createRestorePoint, pitrSteps, runPitrStep } from './pitr.js';
import { applyRestore, planRestore } from './restore.js';
import { serverStatus } from './status.js';
import { findTargets } from './targets.js';
import { verifyRestore, verifyStructure } from './verify.js';

/** The PostgreSQL source plugin: pg_dump/pg_restore based logical backups. */
export default definePlugin<PostgresConfig>({
  apiVersion: 1,
  meta: { name: 'postgres', version: '0.1.0', description: 'PostgreSQL clusters (pg_dump, pg_restore, psql)' },
  source: {
    configSchema: PostgresConfigSchema,
    steps: {
      probe: (ctx: StepContext<PostgresConfig>) => probe(ctx.cluster.config, ctx.signal),
      logicalBackup,
      physicalBackup,
      checkArchiving,
      serverOsUser,
      switchWal,
      applySettings,
      serverStatus,
      createRestorePoint,
      pitrSteps,
      runPitrStep,
      findTargets,
      verifyStructure,
      verifyRestore,
      planRestore,
      applyRestore,
    },
  },
});
