/**
 * `--quiet` means silent on success, as cron expects (cron mails any output):
 * what a command prints as its result is held back while it runs, dropped
 * when it ends with exit 0, and written out after all when it does not, so the
 * mail tells the whole story. Warnings and errors go to stderr at once, as
 * always; exit codes do not change. `--json` is never held (it was asked for),
 * nor are the agent's protocol channel and the TUI's screen.
 */
type Held = [NodeJS.WriteStream, string | Uint8Array];

let held: Held[] | undefined;
let stdoutWrite: typeof process.stdout.write | undefined;

/** From now on stdout is held (and what goes through {@link writeHeld}). */
export function holdOutput(): void {
  if (held) return;
  held = [];
  stdoutWrite = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    held?.push([process.stdout, chunk]);
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    if (done) process.nextTick(done);
    return true;
  }) as typeof process.stdout.write;
  // a command that leaves by process.exit (a second Ctrl-C) still gets its verdict
  process.once('exit', (code) => releaseOutput(code !== 0));
}

/** Write to `stream`, or hold it with stdout while output is held (a plan shown before --yes applies it). */
export function writeHeld(stream: NodeJS.WriteStream, text: string): void {
  if (held) held.push([stream, text]);
  else stream.write(text);
}

/** Stop holding: write what was held when the command failed, drop it when it succeeded. */
export function releaseOutput(failed: boolean): void {
  if (!held) return;
  const chunks = held;
  held = undefined;
  process.stdout.write = stdoutWrite!;
  if (failed) for (const [stream, chunk] of chunks) stream.write(chunk);
}
