import type { Readable, Writable } from 'node:stream';

/** Split a byte stream into lines; a line longer than `maxBytes` is an error. */
export function onLines(input: Readable, handler: (line: string) => void, maxBytes = 16 * 1024 * 1024): void {
  let buf = '';
  input.setEncoding('utf8');
  input.on('data', (chunk: string) => {
    buf += chunk;
    let idx: number;
    while ((idx = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, idx);
      buf = buf.slice(idx + 1);
      if (line.trim()) handler(line);
    }
    if (buf.length > maxBytes) {
      buf = '';
      handler('{"__overlong":true}');
    }
  });
}

/** Write one JSON message a line. */
export function writeMessage(out: Writable, message: unknown): void {
  out.write(JSON.stringify(message) + '\n');
}
