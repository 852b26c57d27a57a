/**
 * A reader that goes away (`lifeboat help backup | head -3`, a closed
 * terminal) is not an error of ours: the write fails with EPIPE, which Node
 * raises as an unhandled 'error' event with a stack trace. Instead the process
 * ends quietly, with the exit code it has so far (0 unless something failed).
 * Only EPIPE: other stream errors are real ones and stay loud.
 *
 * Returns the function that takes the handlers off again, for commands whose
 * stdout is not ours to end on (the agent's protocol channel, the TUI's tty).
 */
export function endQuietlyOnClosedOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): () => void {
  const onError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  };
  for (const s of streams) s.on('error', onError);
  return () => {
    for (const s of streams) s.off('error', onError);
  };
}
