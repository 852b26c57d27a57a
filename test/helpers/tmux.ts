/**
 * A small driver for a real terminal: one tmux server on a private socket, one
 * pane running a command, keys sent as a person types them, the screen read
 * back with capture-pane. Used by the TUI's end-to-end test.
 *
 * The pane's environment is exactly what `start` is given (plus PATH, a UTF-8
 * locale and the HOME given): nothing of the test runner's environment (CI,
 * FORCE_COLOR, NO_COLOR …) leaks in and changes what the program draws.
 *
 * The command runs under `sh`, which records the terminal settings first and
 * afterwards prints `EXIT=<code>` and `TTY=same` (or `TTY=changed` when the
 * program left the terminal in another mode, raw input say), then waits to be
 * killed, so the last screen stays readable.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/** Why terminal tests cannot run here, or undefined when they can. */
export async function tmuxSkipReason(): Promise<string | undefined> {
  const r = await execa('tmux', ['-V'], { reject: false });
  return r.exitCode === 0 ? undefined : 'no tmux: install it (bash scripts/setup.sh --test does)';
}

/** Quote for sh when needed. */
export const shq = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export interface Pane {
  /** Send tmux key names (`Enter`, `Escape`, `Tab`, `Space`, `j`), one write each. */
  keys(...names: string[]): Promise<void>;
  /** Send text as typed (literal, one write). */
  type(text: string): Promise<void>;
  /** The screen as text; with `escapes`, with its colour and attribute sequences (capture-pane -e). */
  capture(opts?: { escapes?: boolean }): Promise<string>;
  /** Poll the screen (50 ms) until `want` matches it; throws with the last screen after `timeoutMs`. */
  waitFor(want: RegExp | ((screen: string) => boolean), timeoutMs?: number, opts?: { escapes?: boolean }): Promise<string>;
  /** A tmux format of the pane, e.g. `#{alternate_on}`. */
  format(fmt: string): Promise<string>;
  /** Kill the tmux server and remove its socket directory. */
  kill(): Promise<void>;
}

/** Start `command` in a detached pane of `cols` × `rows` with exactly `env` (and PATH, HOME, LANG). */
export async function startPane(command: string[], env: Record<string, string>, size = { cols: 100, rows: 30 }): Promise<Pane> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-tmux-'));
  const sock = path.join(dir, 'sock');
  const base = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: env.HOME ?? os.homedir(), LANG: 'C.UTF-8', TERM: 'xterm' };
  const tmux = (...args: string[]) => execa('tmux', ['-u', '-S', sock, ...args], { env: base, extendEnv: false });
  const assign = Object.entries(env).map(([k, v]) => `${k}=${shq(v)}`);
  const line = `s=$(stty -g); env ${assign.join(' ')} ${command.map(shq).join(' ')}; c=$?; [ "$(stty -g)" = "$s" ] && t=same || t=changed; echo; echo "EXIT=$c TTY=$t"; exec sleep 3600`;
  await tmux('new-session', '-d', '-x', String(size.cols), '-y', String(size.rows), 'sh', '-c', line);
  const capture = async (o: { escapes?: boolean } = {}) => (await tmux('capture-pane', '-p', ...(o.escapes ? ['-e'] : []), '-t', '0')).stdout;
  return {
    keys: async (...names) => {
      for (const n of names) await tmux('send-keys', '-t', '0', n);
    },
    type: async (text) => {
      await tmux('send-keys', '-t', '0', '-l', text);
    },
    capture,
    waitFor: async (want, timeoutMs = 20_000, o = {}) => {
      const deadline = Date.now() + timeoutMs;
      const ok = typeof want === 'function' ? want : (s: string) => want.test(s);
      for (;;) {
        const s = await capture(o);
        if (ok(s)) return s;
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${String(want)} in ${timeoutMs} ms; it shows:\n${o.escapes ? await capture() : s}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    format: async (fmt) => (await tmux('display-message', '-p', '-t', '0', fmt)).stdout.trim(),
    kill: async () => {
      await tmux('kill-server').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The inverse-video runs of a screen captured with escapes (the TUI marks the
 * row or choice under the cursor that way), one string per run, trimmed.
 */
export function inverseRuns(screen: string): string[] {
  const out: string[] = [];
  let on = false;
  let cur = '';
  // eslint-disable-next-line no-control-regex
  for (const part of screen.split(/(\x1b\[[0-9;]*m)/)) {
    // eslint-disable-next-line no-control-regex
    const sgr = /^\x1b\[([0-9;]*)m$/.exec(part);
    if (!sgr) {
      if (on) cur += part;
      continue;
    }
    for (const p of (sgr[1] || '0').split(';')) {
      if (p === '7') on = true;
      else if ((p === '0' || p === '27') && on) {
        on = false;
        out.push(cur.trim());
        cur = '';
      }
    }
  }
  if (on) out.push(cur.trim());
  return out;
}

/** SGR sequences that set a colour (foreground or background, 8, 16, 256 or RGB), not the default ones (39, 49). */
export function colourCodes(screen: string): string[] {
  // eslint-disable-next-line no-control-regex
  return [...screen.matchAll(/\x1b\[([0-9;]*)m/g)].map((m) => m[0]).filter((seq) => seq.slice(2, -1).split(';').some((p) => /^(3[0-8]|4[0-8]|9[0-7]|10[0-7])$/.test(p)));
}
