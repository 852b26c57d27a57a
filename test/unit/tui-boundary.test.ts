import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';

// The render facade: the CLI reaches the TUI only through a lazy import of
// src/tui/index, so no other command pays for loading Ink and React.
test('the CLI imports neither Ink, React nor TUI modules statically', () => {
  const root = path.join(import.meta.dirname, '../../src/cli');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tsx?$/.test(f));
  expect(files.length).toBeGreaterThan(5);
  for (const f of files) {
    const text = readFileSync(path.join(root, f), 'utf8');
    for (const m of text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gms)) {
      expect(m[1], `${f} imports ${m[1]}`).not.toMatch(/^(ink|react)(\/|$)|\/tui\//);
    }
  }
  expect(readFileSync(path.join(root, 'main.ts'), 'utf8')).toContain("await import('../tui/index.js')");
});
