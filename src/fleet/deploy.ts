/**
 * `lifeboat hosts deploy`: put the single-file agent (dist/lifeboat-agent.mjs,
 * scripts/build.mjs) on a host and point its inventory entry at it.
 *
 * 1. `node --version` on the host must say 20 or newer (clear error otherwise);
 * 2. upload over SFTP to a temporary name in
 *    `$HOME/.lifeboat/agent/<version>-<sha8>/` (directory mode 0700);
 * 3. sha256 of the uploaded file, computed on the host (`sha256sum`, else
 *    node), must equal the local one — otherwise the upload is removed and
 *    nothing changes;
 * 4. rename into place (`lifeboat.mjs`, atomic on the host's filesystem);
 * 5. start it once (`agent.hello` over a fresh channel) and only then write
 *    `NODE PATH agent --stdio` into the inventory.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { SFTPWrapper } from 'ssh2';
import { LifeboatError } from '../core/errors.js';
import { LIFEBOAT_VERSION } from '../core/version.js';
import { AgentClient } from './client.js';
import type { HostEntry } from './inventory.js';
import { openSftp, openSsh, runRemote, shellQuote, spawnSshAgent, type SshOptions } from './ssh-transport.js';

export const MIN_NODE_MAJOR = 20;

export interface DeployResult {
  host: string;
  /** Absolute path of the agent on the host. */
  path: string;
  sha256: string;
  bytes: number;
  /** `node --version` there. */
  node: string;
  agentCommand: string;
  previousAgentCommand: string;
  agentVersion: string;
  /** The same file was already there (verified again, not uploaded). */
  alreadyPresent: boolean;
  ms: number;
}

/** `v20.11.1` → 20; undefined when it is not a node version line. */
export function nodeMajor(versionLine: string): number | undefined {
  const m = /^v(\d+)\.\d+\.\d+/.exec(versionLine.trim());
  return m ? Number(m[1]) : undefined;
}

/** The first sha256 in `sha256sum` (or our node one-liner's) output. */
export function parseSha256(out: string): string | undefined {
  return /^([0-9a-f]{64})\b/.exec(out.trim())?.[1];
}

/** Compare the host's digest with ours: the one check that decides whether the upload is kept. */
export function checkDigest(host: string, remote: string | undefined, local: string): void {
  if (remote !== local) {
    throw new LifeboatError('VERIFY_FAILED', `${host}: the uploaded agent does not match: sha256 on the host is ${remote ?? '(none)'}, expected ${local}; the upload was removed and nothing changed`, {
      hint: 'run lifeboat hosts deploy again; if it repeats, check the disk and free space on the host',
    });
  }
}

function sftpCall<T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
}

const NODE_SHA = `const h=require('crypto').createHash('sha256');const s=require('fs').createReadStream(process.argv[1]);s.on('data',d=>h.update(d));s.on('end',()=>console.log(h.digest('hex')))`;

export async function deployAgent(
  entry: HostEntry,
  opts: SshOptions & { bundle: string; node?: string; corruptForTest?: boolean; configPath?: string },
): Promise<DeployResult> {
  const t0 = performance.now();
  const node = opts.node ?? 'node';
  const data = await readFile(opts.bundle).catch((err: NodeJS.ErrnoException) => {
    throw new LifeboatError('NOT_FOUND', `the agent bundle ${opts.bundle} is missing (${err.code})`, { hint: 'build it: npm run build (it makes dist/lifeboat-agent.mjs)' });
  });
  const sha256 = createHash('sha256').update(data).digest('hex');
  const conn = await openSsh(entry, opts);
  const who = `${entry.name} (${conn.endpoint.label})`;
  let sftp: SFTPWrapper | undefined;
  try {
    // 1. Node on the host
    const v = await runRemote(conn, `${shellQuote(node)} --version`);
    const line = v.stdout.trim().split('\n')[0] ?? '';
    const major = nodeMajor(line);
    if (v.code !== 0 || major === undefined) {
      const why = (v.stderr.trim().split('\n').at(-1) || line || `exit code ${v.code}`).trim();
      throw new LifeboatError('BINARY_MISSING', `${who}: Node.js not found there: "${node} --version" failed (${why})`, {
        hint: `install Node.js ${MIN_NODE_MAJOR} or newer on ${entry.name}, or give its path: lifeboat hosts deploy ${entry.name} --node /path/to/node`,
      });
    }
    if (major < MIN_NODE_MAJOR) {
      throw new LifeboatError('UNSUPPORTED', `${who}: Node.js ${line} is too old; the agent needs Node.js ${MIN_NODE_MAJOR} or newer`, {
        hint: `upgrade Node.js on ${entry.name}, or point at a newer one: lifeboat hosts deploy ${entry.name} --node /path/to/node`,
      });
    }
    // 2. where: under the remote user's $HOME (absolute, so SFTP and the shell agree)
    const home = (await runRemote(conn, 'printf %s "$HOME"')).stdout.trim();
    if (!home.startsWith('/')) throw new LifeboatError('COMMAND_FAILED', `${who}: cannot tell the remote user's home directory ($HOME is "${home}")`);
    const dir = `${home}/.lifeboat/agent/${LIFEBOAT_VERSION}-${sha256.slice(0, 8)}`;
    const final = `${dir}/lifeboat.mjs`;
    const mk = await runRemote(conn, `umask 077 && mkdir -p ${shellQuote(dir)}`);
    if (mk.code !== 0) throw new LifeboatError('COMMAND_FAILED', `${who}: cannot create ${dir}: ${mk.stderr.trim() || `exit code ${mk.code}`}`);
    const remoteSha = async (file: string) => {
      let r = await runRemote(conn, `sha256sum -- ${shellQuote(file)}`);
      if (r.code === 127) r = await runRemote(conn, `${shellQuote(node)} -e ${shellQuote(NODE_SHA)} ${shellQuote(file)}`);
      return r.code === 0 ? parseSha256(r.stdout) : undefined;
    };
    // the same build may be there already: verify it rather than upload again
    const existing = await remoteSha(final);
    const alreadyPresent = existing === sha256;
    if (!alreadyPresent) {
      sftp = await openSftp(conn);
      const tmp = `${dir}/.lifeboat.mjs.tmp-${randomBytes(6).toString('hex')}`;
      try {
        await sftpCall<void>((cb) => sftp!.writeFile(tmp, data, { mode: 0o644 }, (err) => cb(err)));
        if (opts.corruptForTest) {
          // test hook (LIFEBOAT_TEST_CORRUPT_DEPLOY): change one byte on the host, as a bad disk or a meddler would
          const h = await sftpCall<Buffer>((cb) => sftp!.open(tmp, 'r+', cb));
          await sftpCall<void>((cb) => sftp!.write(h, Buffer.from('#'), 0, 1, Math.floor(data.length / 2), (err) => cb(err)));
          await sftpCall<void>((cb) => sftp!.close(h, (err) => cb(err)));
        }
        // 3. verify on the host, 4. rename into place
        checkDigest(entry.name, await remoteSha(tmp), sha256);
        const mv = await runRemote(conn, `mv -f -- ${shellQuote(tmp)} ${shellQuote(final)}`);
        if (mv.code !== 0) throw new LifeboatError('COMMAND_FAILED', `${who}: cannot move the agent into place: ${mv.stderr.trim() || `exit code ${mv.code}`}`);
      } catch (err) {
        await sftpCall<void>((cb) => sftp!.unlink(tmp, (e) => cb(e))).catch(() => undefined);
        throw err;
      }
    }
    // 5. it must start and answer before the inventory points at it
    const agentCommand = `${shellQuote(node)} ${shellQuote(final)} agent --stdio`;
    const client = new AgentClient(await spawnSshAgent({ ...entry, agentCommand }, { ...opts, ...(opts.configPath ? { configPath: opts.configPath } : {}) }));
    let agentVersion: string;
    try {
      agentVersion = (await client.connect()).agentVersion;
    } catch (err) {
      const e = err instanceof LifeboatError ? err : new LifeboatError('AGENT_FAILED', String(err));
      throw new LifeboatError('AGENT_FAILED', `${who}: the deployed agent (${final}) did not answer: ${e.message}; the inventory was not changed`, { hint: 'run with LIFEBOAT_DEBUG=1 to see its output' });
    } finally {
      client.close();
      await client.closed();
    }
    return { host: entry.name, path: final, sha256, bytes: data.length, node: line, agentCommand, previousAgentCommand: entry.agentCommand, agentVersion, alreadyPresent, ms: Math.round(performance.now() - t0) };
  } finally {
    sftp?.end();
    conn.end();
  }
}
