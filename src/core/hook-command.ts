/**
 * Reading lifeboat's own archive_command back: which mode, config, cluster and
 * spool a line set on a server names. `lifeboat check` compares that with the
 * line its config gives, so a command that archives through another config or
 * as another cluster is not taken for "in place" (it looks like lifeboat and
 * stores nothing where this config expects it).
 */

/** Split a command line as sh would: blanks, '...', "..." and backslash escapes (no expansion). */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      word = (word ?? '') + line.slice(i + 1, end < 0 ? line.length : end);
      i = end < 0 ? line.length : end;
    } else if (ch === '"') {
      word ??= '';
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) i++;
        word += line[i];
      }
    } else if (ch === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (/\s/.test(ch)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** What a lifeboat archive_command names; undefined for any other command. */
export interface HookCommand {
  mode: 'sync' | 'async';
  config?: string;
  cluster?: string;
  spool?: string;
}

const isArchiveScript = (w: string) => /(^|\/)lifeboat-archive$/.test(w);

/** Read a lifeboat archive_command (`... wal push ... %p` or `.../lifeboat-archive ... %p`). */
export function parseArchiveCommand(line: string): HookCommand | undefined {
  const words = shellWords(line);
  if (!words.includes('%p')) return undefined;
  const script = words.findIndex(isArchiveScript);
  const push = words.findIndex((w, i) => w === 'wal' && words[i + 1] === 'push');
  if (script < 0 && (push < 0 || !words.slice(0, push).some((w) => /lifeboat/.test(w)))) return undefined;
  const out: HookCommand = { mode: script >= 0 ? 'async' : 'sync' };
  for (let i = 0; i < words.length; i++) {
    const [flag, inline] = words[i]!.startsWith('--') && words[i]!.includes('=') ? [words[i]!.slice(0, words[i]!.indexOf('=')), words[i]!.slice(words[i]!.indexOf('=') + 1)] : [words[i]!, undefined];
    const value = () => inline ?? words[++i];
    if (flag === '--config') out.config = value();
    else if (flag === '--cluster' || flag === '-c') out.cluster = value();
    else if (flag === '--spool') out.spool = value();
  }
  return out;
}
