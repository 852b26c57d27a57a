import { runTool, type StepContext } from 'lifeboat/plugin';
import { toolOpts, type PostgresConfig } from './config.js';

// Imports only config.ts (itself a leaf): control.ts (pg_ctl), physical-verify.ts (pg_verifybackup) and
// targets.ts (pg_waldump) all need it, and none of them should import another for it.

/** Directory of the server tools (pg_verifybackup, pg_ctl, pg_waldump): config, else pg_config --bindir. */
export async function serverBinDir(ctx: StepContext<PostgresConfig>): Promise<string | undefined> {
  const c = ctx.cluster.config;
  if (c.bindir || c.commandPrefix?.length) return c.bindir;
  try {
    return (await runTool('pg_config', ['--bindir'], toolOpts(c, ctx.signal))).trim();
  } catch {
    return undefined;
  }
}
