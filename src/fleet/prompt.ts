/**
 * Questions on the operator's terminal (host keys, key passphrases). Prompts
 * go to stderr, answers come from stdin, and only when both are a TTY; several
 * connections opened at once (hosts test --all) ask one at a time.
 *
 * @module
 */

export function interactive(): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY;
}

let queue: Promise<unknown> = Promise.resolve();

/** Run prompts one after another, whatever number of connections ask. */
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const next = queue.then(fn, fn);
  queue = next.catch(() => undefined);
  return next;
}

/** Ask a question; resolves with the answer line. */
export function askLine(question: string): Promise<string> {
  return serialized(async () => {
    const { createInterface } = await import('node:readline/promises');
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    try {
      return (await rl.question(question)).trim();
    } finally {
      rl.close();
      process.stdin.pause();
    }
  });
}

/** Ask for a secret without echoing it. Ctrl-C or Ctrl-D gives up (undefined). */
export function askHidden(question: string): Promise<string | undefined> {
  return serialized(
    () =>
      new Promise<string | undefined>((resolve) => {
        const stdin = process.stdin;
        process.stderr.write(question);
        const wasRaw = stdin.isRaw;
        stdin.setRawMode(true);
        stdin.resume();
        let value = '';
        const finish = (v: string | undefined) => {
          stdin.off('data', onData);
          stdin.setRawMode(wasRaw);
          stdin.pause();
          process.stderr.write('\n');
          resolve(v);
        };
        const onData = (chunk: Buffer) => {
          for (const ch of chunk.toString('utf8')) {
            if (ch === '\r' || ch === '\n') return finish(value);
            if (ch === '\u0003' || ch === '\u0004') return finish(undefined);
            if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
            else if (ch === '\u0015') value = '';
            else if (ch >= ' ') value += ch;
          }
        };
        stdin.on('data', onData);
      }),
  );
}
