/**
 * How the CLI and the TUI reach an agent: the byte channel (a local child
 * process, or SSH to an inventory host), the handshake, and the version check.
 * One place, so both front ends connect, refuse and explain alike.
 *
 * @module
 */
import { LifeboatError } from '../core/errors.js';
import { LIFEBOAT_VERSION } from '../core/version.js';
import { AgentClient } from '../fleet/client.js';
import type { SshPool } from '../fleet/ssh-transport.js';
import { spawnLocalAgent, type Transport } from '../fleet/transport.js';
import { suggest } from './suggest.js';

export interface ConnectOptions {
  /** Agent config: a file on the agent's host. */
  config?: string;
  /** Record an unknown SSH host key without asking. */
  acceptNewHostKey?: boolean;
}

/**
 * The byte channel to a host's agent: spawned here for `local` (the default),
 * else over SSH to the inventory entry of that name. SSH code loads only when
 * needed. A fleet-wide run passes its `pool`, so entries with the same SSH
 * destination share a connection.
 */
export async function openTransport(o: ConnectOptions, hostName: string | undefined, pool?: SshPool): Promise<Transport> {
  if (!hostName || hostName === 'local') return spawnLocalAgent(o.config ? { configPath: o.config } : {});
  const [{ Inventory }, { spawnSshAgent }] = await Promise.all([import('../fleet/inventory.js'), import('../fleet/ssh-transport.js')]);
  const host = await new Inventory().get(hostName);
  return spawnSshAgent(host, { ...(o.config ? { configPath: o.config } : {}), ...(o.acceptNewHostKey ? { acceptNewHostKey: true } : {}), ...(pool ? { pool } : {}) });
}

/**
 * A remote agent must be this lifeboat's version: the CLI and the agent share
 * manifests, plans and job semantics. A mismatch offers the fix. The local
 * agent is this same program, whatever it says.
 */
export function checkAgentVersion(host: string, agentVersion: string): void {
  if (host === 'local' || agentVersion === LIFEBOAT_VERSION) return;
  throw new LifeboatError('PROTOCOL', `the agent on ${host} is lifeboat ${agentVersion}, this is lifeboat ${LIFEBOAT_VERSION}`, {
    hint: `install this version there with: ${suggest({}, 'hosts', 'deploy', host)}`,
  });
}

/**
 * Open a channel, say hello, and let `check` refuse the agent (default: the
 * version check). The client is closed again when any of it fails.
 */
export async function connectAgent(transport: Transport | Promise<Transport>, host: string, check: (host: string, agentVersion: string) => void = checkAgentVersion): Promise<AgentClient> {
  const client = new AgentClient(await transport);
  try {
    const hello = await client.connect();
    check(host, hello.agentVersion);
    return client;
  } catch (err) {
    client.close();
    throw err;
  }
}
