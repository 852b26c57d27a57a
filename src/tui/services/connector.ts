/**
 * How the TUI reaches agents: the inventory's hosts over SSH, or with no
 * inventory the local agent. Tests give a connector whose transports replay
 * recorded agent answers (test/tui/replay.ts).
 *
 * @module
 */
import type { AgentClient } from '../../fleet/client.js';
import type { Transport } from '../../fleet/transport.js';
import { Inventory } from '../../fleet/inventory.js';
import { checkAgentVersion, connectAgent, openTransport } from '../../client/connect.js';

export interface Connector {
  /** The hosts to show, in inventory order. */
  hosts(): Promise<string[]>;
  /** A byte channel to the host's agent (the client does the handshake). */
  open(host: string): Promise<Transport>;
  /** Throw when the agent must not be used (e.g. another lifeboat version). */
  check?(host: string, agentVersion: string): void;
}

export interface RealConnectorOptions {
  config?: string;
  acceptNewHostKey?: boolean;
  /** Only these inventory hosts (`local` is this machine's agent) or groups (default: all, or local when the inventory is empty). */
  only?: string[];
  groups?: string[];
}

/** Inventory hosts over SSH, or `local` alone when there is no inventory. */
export function realConnector(o: RealConnectorOptions = {}): Connector {
  const g = { ...(o.config ? { config: o.config } : {}), ...(o.acceptNewHostKey ? { acceptNewHostKey: true } : {}) };
  return {
    hosts: async () => {
      const inv = new Inventory();
      const named = (o.only ?? []).filter((n) => n !== 'local');
      if (o.only?.length || o.groups?.length) {
        const picked = (await inv.select({ names: named, ...(o.groups?.length ? { groups: o.groups } : {}) })).map((h) => h.name);
        return o.only?.includes('local') ? ['local', ...picked] : picked;
      }
      const names = (await inv.list()).map((h) => h.name);
      return names.length ? names : ['local'];
    },
    open: (host) => openTransport(g, host),
    check: checkAgentVersion,
  };
}

/** Connect and say hello; a connector's check may refuse the agent. */
export function connectClient(c: Connector, host: string): Promise<AgentClient> {
  return connectAgent(c.open(host), host, c.check ?? (() => undefined));
}
