import type { ProgressEvent } from '../protocol/index.js';
import { bytes, rateAndEta } from '../client/format.js';

/**
 * A one-line progress display on stderr (TTY only): phase, bytes, rate, ETA.
 * Redrawn at most 10 times a second; cleared before other output.
 */
export class ProgressLine {
  private last = '';
  private lastDraw = 0;
  readonly enabled: boolean;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = !!stream.isTTY && process.env.LIFEBOAT_NO_PROGRESS === undefined;
  }

  update(p: ProgressEvent): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const cols = Math.min(this.stream.columns || 80, 120);
    let bar = '';
    let pct = '';
    if (p.totalBytes) {
      const frac = Math.min(0.99, p.bytes / p.totalBytes);
      const w = 20;
      const fill = Math.round(frac * w);
      bar = '[' + '#'.repeat(fill) + '-'.repeat(w - fill) + '] ';
      pct = `${Math.floor(frac * 100)}% `;
    }
    const text = `${bar}${pct}${bytes(p.bytes)} at ${rateAndEta(p)}  ${p.phase ?? ''}`;
    this.draw(text.slice(0, cols - 1));
  }

  private draw(text: string): void {
    this.stream.write(`\r\x1b[2K${text}`);
    this.last = text;
  }

  /** Clear the line so normal output starts clean. */
  clear(): void {
    if (this.enabled && this.last) this.stream.write('\r\x1b[2K');
    this.last = '';
  }
}
