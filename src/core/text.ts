/**
 * Counted words for messages, one way everywhere: `1 check`, `2 checks`,
 * never `1 checks` or `check(s)`.
 */

/** `plural(1, 'check')` is `1 check`, `plural(0, 'check')` `0 checks`; irregular ones name their plural: `plural(n, 'entry', 'entries')`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${noun(n, one, many)}`;
}

/** The word alone, for n of them: `on ${noun(n, 'timeline')} 1, 2`. */
export function noun(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}
