import { LifeboatError } from '../core/errors.js';

/**
 * The cluster a command means: the one named, or the config's only one. One
 * place for the agent (AgentEnv.cluster) and the WAL hooks (src/wal), with one
 * set of messages. The message names the field (`cluster`, core/fields.ts);
 * `say` renders it (the WAL hooks, a command line, say it as --cluster).
 */
export function pickCluster(clusters: Record<string, unknown>, name: string | undefined, file: string, say: (text: string) => string = (t) => t): string {
  const names = Object.keys(clusters);
  if (!name) {
    if (names.length === 1) return names[0]!;
    throw new LifeboatError('USAGE', say(`choose a cluster with \`cluster\` (configured: ${names.join(', ') || 'none'})`), { details: { field: 'cluster' } });
  }
  if (!Object.hasOwn(clusters, name)) {
    throw new LifeboatError('UNKNOWN_CLUSTER', `no cluster "${name}" in ${file}`, { hint: `configured: ${names.join(', ') || 'none'}` });
  }
  return name;
}
