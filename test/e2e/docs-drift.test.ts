import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { allCommands, lifeboat, ROOT } from '../helpers/cli.js';

// Docs that say the opposite of the program are bugs (issue 11 item 19): every
// `lifeboat ...` command line in README.md and docs/*.md (code blocks and inline
// code) must name a command the CLI has, and options that command (or the
// program) takes, as its own --help lists them. A renamed or removed option
// fails here, with the file and line.

/** Options a --help lists: `-c, --cluster <name>` gives -c and --cluster; `--no-owner` itself. */
function optionsOf(help: string): Set<string> {
  const section = /^Options:\n([\s\S]*?)(?:\n\n|(?![\s\S]))/m.exec(help)?.[1] ?? '';
  const out = new Set<string>();
  for (const line of section.split('\n')) {
    const head = line.trim().split(/\s{2,}/)[0] ?? '';
    for (const m of head.matchAll(/(--?[a-zA-Z][\w-]*)/g)) out.add(m[1]!);
  }
  return out;
}

/** Names that start with "lifeboat" and are not commands (check findings). */
const NAMES = new Set(['lifeboat access']);

/** Shell words: quotes group (and are dropped), a quoted word is never an option. */
function shellWords(text: string): { word: string; quoted: boolean }[] {
  const out: { word: string; quoted: boolean }[] = [];
  for (const m of text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)) out.push(m[3] !== undefined ? { word: m[3], quoted: false } : { word: m[1] ?? m[2] ?? '', quoted: true });
  return out;
}

/** A command line in a code block or an inline code span: where `lifeboat` is the command run. */
const COMMAND_AT = /(?:^|&&|\|\||[|;]|\$\(|^\$|(?:^|\s)(?:sudo|runuser|exec|watch)(?:\s+-\S+(?:\s+\S+)?)*(?:\s+--)?)\s*lifeboat(?=\s|$)/g;

/** `lifeboat ...` invocations in a markdown file: [line number, its words after "lifeboat"]. */
function invocations(text: string): [number, { word: string; quoted: boolean }[]][] {
  const out: [number, { word: string; quoted: boolean }[]][] = [];
  let inCode = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      inCode = !inCode;
      return;
    }
    // code blocks: the line (comments dropped, a cron line's schedule too); prose: code spans
    const spans = inCode ? [line.replace(/(^|\s)#.*$/, '').replace(/^\s*([\d*/,-]+\s+){5}/, '')] : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const span of spans) {
      // a command quoted inside another (--agent-command 'sudo ... lifeboat agent --stdio') counts too
      for (const part of [span, ...shellWords(span).filter((w) => w.quoted).map((w) => w.word)]) {
        for (const m of part.matchAll(COMMAND_AT)) {
          const after = part.slice((m.index ?? 0) + m[0].length).split(/\s(?:\|\||&&|[|;])\s|\s#\s/)[0]!;
          out.push([i + 1, shellWords(after)]);
        }
      }
    }
  });
  return out;
}

test('every lifeboat command and option the docs name exists', async () => {
  const commands = await allCommands();
  const helps = new Map<string, Set<string>>();
  for (const c of commands) helps.set(c.join(' '), optionsOf((await lifeboat([...c, '--help'])).stdout));
  const globals = helps.get('')!;
  // the WAL hooks are parsed by their own light entry point (src/host/wal-main.ts), not commander
  helps.set('wal push', new Set(['--cluster', '-c', '--async', '--spool', '--config', '--help', '-h']));
  helps.set('wal fetch', new Set(['--cluster', '-c', '--config', '--help', '-h']));
  // internal options (the runner's, the pusher's, the SSH entry), documented for admins who see them in ps
  for (const o of ['--stdio', '--run-job']) helps.get('agent')?.add(o);
  helps.get('wal push')!.add('--daemon').add('--pg-wal');
  helps.set('help', new Set());
  const paths = [...helps.keys()].filter(Boolean).map((k) => k.split(' ')).sort((a, b) => b.length - a.length);
  // global options that take a value
  const valued = new Set(['--config', '-H', '--host', '-g', '--group', '--parallel']);
  const problems: string[] = [];
  const files = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  let checked = 0;
  for (const file of files) {
    for (const [line, words] of invocations(readFileSync(path.join(ROOT, file), 'utf8'))) {
      let i = 0;
      while (i < words.length && words[i]!.word.startsWith('-')) i += valued.has(words[i]!.word.split('=')[0]!) && !words[i]!.word.includes('=') ? 2 : 1;
      const rest = words.slice(i).map((w) => w.word);
      if (!rest.length || !/^[a-z][a-z-]*$/.test(rest[0]!)) continue; // `lifeboat --help`, prose, placeholders
      if (words.length === 1 && NAMES.has(`lifeboat ${rest[0]}`)) continue;
      const cmd = paths.find((p) => p.every((w, j) => rest[j] === w));
      if (!cmd) {
        problems.push(`${file}:${line}: lifeboat ${rest.slice(0, 2).join(' ')}: no such command`);
        continue;
      }
      checked++;
      const known = helps.get(cmd.join(' '))!;
      for (const { word: w, quoted } of words) {
        if (quoted || !w.startsWith('-') || w === '-' || /[*.…[\]<>{}|]/.test(w) || /^-\d/.test(w)) continue;
        const opt = w.split('=')[0]!;
        if (!known.has(opt) && !globals.has(opt)) problems.push(`${file}:${line}: lifeboat ${cmd.join(' ')}: no option ${opt}`);
      }
    }
  }
  expect(checked).toBeGreaterThan(100); // the docs name many commands: the scan must have found them
  expect(problems, problems.join('\n')).toEqual([]);
});
