/** SQL quoting helpers. */
export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

export function quoteLiteral(value: string): string {
  return "'" + value.replaceAll("'", "''") + "'";
}

/** A pg_dump/pg_restore pattern that matches exactly this name. */
export function exactPattern(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}

/** `schema.table` as recorded in manifests (unquoted, dot-joined). */
export function tableKey(schema: string, table: string): string {
  return `${schema}.${table}`;
}

/**
 * Split a user's table argument: `schema.table`, `"Mixed Schema"."Quoted Table"`,
 * or a bare `table` (schema undefined).
 */
export function parseQualifiedName(input: string): { schema?: string; name: string } {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (quoted) {
      if (ch === '"' && input[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  if (parts.length === 1) return { name: parts[0]! };
  const name = parts.pop()!;
  return { schema: parts.join('.'), name };
}
