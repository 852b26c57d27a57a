/**
 * A small import scanner for the boundary tests (test/unit/plugin-boundary.test.ts,
 * test/unit/boundaries.test.ts): a lexer that drops comments (so docs may mention
 * forbidden paths) and sees `import type`, `export ... from`, side-effect imports,
 * `import()` and `require()`. Its own tests are in plugin-boundary.test.ts.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

const SOURCE_EXT = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

/** Source text with comments blanked out; strings, templates and regex literals kept. */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  let lastSignificant = ''; // last non-space code character, to tell a regex from a division
  const regexCanFollow = (prev: string) => prev === '' || /[(,=:[!&|?{};+\-*%<>~^]/.test(prev) || /\b(return|typeof|case|do|else|in|of|void|yield|await)$/.test(out.trimEnd());
  while (i < src.length) {
    const ch = src[i]!;
    const next = src[i + 1];
    if (ch === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (ch === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' '); // keep line numbers
      i = stop;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') {
      let j = i + 1;
      while (j < src.length && src[j] !== ch) {
        if (src[j] === '\\') j++;
        else if (ch !== '`' && src[j] === '\n') break; // unterminated: stop at the line end
        j++;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
      lastSignificant = ch;
      continue;
    }
    if (ch === '/' && regexCanFollow(lastSignificant)) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== '\n') {
        if (src[j] === '\\') j++;
        else if (src[j] === '[') inClass = true;
        else if (src[j] === ']') inClass = false;
        else if (src[j] === '/' && !inClass) break;
        j++;
      }
      out += src.slice(i, j + 1);
      i = j + 1;
      lastSignificant = '/';
      continue;
    }
    out += ch;
    if (!/\s/.test(ch)) lastSignificant = ch;
    i++;
  }
  return out;
}

export interface ImportRef {
  specifier: string;
  line: number;
  /** `null` specifier: a dynamic import/require with a computed argument. */
  computed?: boolean;
}

/** Every module specifier a source file refers to. */
export function importsOf(src: string): ImportRef[] {
  const code = stripComments(src);
  const lineOf = (index: number) => code.slice(0, index).split('\n').length;
  const refs: ImportRef[] = [];
  const patterns = [
    // import x from '...', import { a, type B } from '...', import type X from '...', import * as n from '...'
    /\bimport\s+(?:type\s+)?[\w$*{][^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
    // export { a } from '...', export * from '...', export type { T } from '...'
    /\bexport\s+(?:type\s+)?[\w$*{][^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
    // import '...'  (side effects only)
    /\bimport\s*(['"])([^'"]+)\1/g,
    // import('...'), typeof import('...'), require('...'), import x = require('...')
    /\b(?:import|require)\s*\(\s*(['"`])([^'"`]+)\1\s*[,)]/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) refs.push({ specifier: m[2]!, line: lineOf(m.index!) });
  }
  // import(someVariable) / require(someVariable): cannot be checked, so not allowed
  for (const m of code.matchAll(/(?<![\w$.])(?:import|require)\s*\(\s*(?!['"`)])/g)) {
    refs.push({ specifier: code.slice(m.index!, code.indexOf(')', m.index!) + 1), line: lineOf(m.index!), computed: true });
  }
  return refs;
}

export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (SOURCE_EXT.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out.sort();
}

