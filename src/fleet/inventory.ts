/**
 * The operator's host inventory: a lowdb JSON file in the XDG config dir
 * ($LIFEBOAT_HOSTS_FILE, else $XDG_CONFIG_HOME/lifeboat/hosts.json, else
 * ~/.config/lifeboat/hosts.json), validated with zod on every read. A damaged
 * file is an error naming the file and the field: it is the operator's data,
 * never silently reset. Writes are atomic (lowdb writes a temporary file and
 * renames it) and re-read the file first.
 *
 * @module
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { z } from 'zod';
import { LifeboatError } from '../core/errors.js';
import { formatPath } from '../core/manifest.js';
import { parseDestination } from './ssh-config.js';

export const DEFAULT_AGENT_COMMAND = 'lifeboat agent --stdio';
/** The name that means "no SSH: spawn the agent here". */
export const LOCAL_HOST = 'local';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const nameSchema = z.string().regex(NAME, 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters');

export const HostEntrySchema = z
  .object({
    name: nameSchema.refine((n) => n !== LOCAL_HOST, `"${LOCAL_HOST}" is reserved for this machine`),
    destination: z.string().min(1).refine((d) => {
      try {
        parseDestination(d);
        return true;
      } catch {
        return false;
      }
    }, 'not an SSH destination ([user@]host[:port] or a ~/.ssh/config alias)'),
    identityFile: z.string().min(1).optional(),
    jump: z.string().min(1).optional(),
    agentCommand: z.string().min(1).default(DEFAULT_AGENT_COMMAND),
    groups: z.array(nameSchema).default([]),
    addedAt: z.string(),
  })
  .strict();

export type HostEntry = z.infer<typeof HostEntrySchema>;

const InventorySchema = z
  .object({
    version: z.literal(1),
    hosts: z.array(HostEntrySchema),
  })
  .strict();

type InventoryData = z.infer<typeof InventorySchema>;

/** Where the inventory lives. */
export function inventoryPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIFEBOAT_HOSTS_FILE) return path.resolve(env.LIFEBOAT_HOSTS_FILE);
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(xdg, 'lifeboat', 'hosts.json');
}

export class Inventory {
  private readonly db: Low<InventoryData>;

  constructor(readonly file: string = inventoryPath()) {
    this.db = new Low<InventoryData>(new JSONFile(file), { version: 1, hosts: [] });
  }

  /** Read and validate; a missing file is an empty inventory. */
  async read(): Promise<InventoryData> {
    try {
      await this.db.read();
    } catch (err) {
      throw new LifeboatError('CONFIG_INVALID', `host inventory ${this.file} is not valid JSON: ${(err as Error).message}`, {
        hint: 'fix the file by hand, or move it away to start a new inventory',
      });
    }
    const res = InventorySchema.safeParse(this.db.data ?? { version: 1, hosts: [] });
    if (!res.success) {
      const i = res.error.issues[0]!;
      throw new LifeboatError('CONFIG_INVALID', `host inventory ${this.file}: ${formatPath(i.path)}: ${i.message}`, {
        hint: 'fix the file by hand, or remove the entry with lifeboat hosts remove NAME',
      });
    }
    this.db.data = res.data;
    return res.data;
  }

  async list(): Promise<HostEntry[]> {
    return (await this.read()).hosts;
  }

  async get(name: string): Promise<HostEntry> {
    const hosts = await this.list();
    const h = hosts.find((x) => x.name === name);
    if (!h) {
      throw new LifeboatError('UNKNOWN_HOST', `no host named "${name}" in the inventory (${this.file})`, {
        hint: hosts.length ? `known hosts: ${hosts.map((x) => x.name).join(', ')}; add one with: lifeboat hosts add ${name} [user@]host` : `add it with: lifeboat hosts add ${name} [user@]host`,
      });
    }
    return h;
  }

  /** Hosts by name, by group, or all; unknown names and empty groups are errors. */
  async select(sel: { names?: string[]; groups?: string[]; all?: boolean }): Promise<HostEntry[]> {
    const hosts = await this.list();
    if (sel.all) return hosts;
    const out = new Map<string, HostEntry>();
    for (const n of sel.names ?? []) out.set(n, await this.get(n));
    for (const g of sel.groups ?? []) {
      const members = hosts.filter((h) => h.groups.includes(g));
      if (!members.length) {
        const known = [...new Set(hosts.flatMap((h) => h.groups))];
        throw new LifeboatError('UNKNOWN_HOST', `no host in group "${g}" (${this.file})`, { hint: known.length ? `groups: ${known.join(', ')}` : 'add hosts to a group with: lifeboat hosts add NAME DEST --group G' });
      }
      for (const h of members) out.set(h.name, h);
    }
    return [...out.values()];
  }

  async add(input: z.input<typeof HostEntrySchema>): Promise<HostEntry> {
    const res = HostEntrySchema.safeParse(input);
    if (!res.success) {
      const i = res.error.issues[0]!;
      throw new LifeboatError('USAGE', `host ${formatPath(i.path) || 'entry'}: ${i.message}`);
    }
    const data = await this.read();
    if (data.hosts.some((h) => h.name === res.data.name)) {
      throw new LifeboatError('HOST_EXISTS', `a host named "${res.data.name}" is already in the inventory (${this.file})`, {
        hint: `remove it first (lifeboat hosts remove ${res.data.name}) or choose another name`,
      });
    }
    data.hosts.push(res.data);
    await this.write();
    return res.data;
  }

  async remove(name: string): Promise<HostEntry> {
    const h = await this.get(name);
    const data = this.db.data!;
    data.hosts = data.hosts.filter((x) => x.name !== name);
    await this.write();
    return h;
  }

  /** Change one entry's agent command (hosts deploy); re-read first, validated like add. */
  async setAgentCommand(name: string, agentCommand: string): Promise<HostEntry> {
    const h = await this.get(name);
    const res = HostEntrySchema.safeParse({ ...h, agentCommand });
    if (!res.success) throw new LifeboatError('USAGE', `host ${name}: agentCommand: ${res.error.issues[0]!.message}`);
    const data = this.db.data!;
    data.hosts = data.hosts.map((x) => (x.name === name ? res.data : x));
    await this.write();
    return res.data;
  }

  private async write(): Promise<void> {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await this.db.write();
  }
}
