/**
 * Messages from the agent and from plugins name a parameter, not a flag: a
 * field in backticks, `toDatabase`, or with a value, `safetyBackup=false`,
 * `keepPhysical=N`. Each front end says it in its own words: the CLI as the
 * flag a user types (--to-database, --no-safety-backup, --keep-physical N),
 * the TUI as plain words, a JSON-RPC client reads the parameter itself. So a
 * TUI user never reads advice about a flag they did not type.
 *
 * Field names are the protocol's params (src/protocol/methods.ts).
 */

/** `field`, `field=value`, or a family `keep*`. */
const FIELD = /`([a-z][A-Za-z0-9]*\*?)(?:=([^`\s]+))?`/g;

/** `text` with every named field said by `say`. */
export function sayFields(text: string, say: (field: string, value: string | undefined) => string): string {
  return text.replace(FIELD, (_m, field: string, value: string | undefined) => say(field, value));
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Where a field and value have a flag of their own (`kind=logical` is --logical). */
const FLAGS: Record<string, string> = {
  'kind=logical': '--logical',
  'kind=physical': '--physical',
  'only=data': '--data-only',
  'only=schema': '--schema-only',
  'scope=all': '--all-databases',
  tables: '--table',
  schemas: '--schema',
  'keep*': '--keep-*',
};

/** A field as the CLI's flag: `toDatabase` → --to-database, `clean=true` → --clean, `safetyBackup=false` → --no-safety-backup, `port=P` → --port P. */
export function fieldAsFlag(field: string, value: string | undefined): string {
  const special = FLAGS[value === undefined ? field : `${field}=${value}`] ?? FLAGS[field];
  if (special) return value === undefined || FLAGS[`${field}=${value}`] ? special : `${special} ${value}`;
  const flag = `--${kebab(field)}`;
  if (value === undefined || value === 'true') return flag;
  if (value === 'false') return `--no-${kebab(field)}`;
  return `${flag} ${value}`;
}

/** A field in plain words (the TUI): `toDatabase` → "to database", `safetyBackup=false` → "safety backup off". */
export function fieldAsWords(field: string, value: string | undefined): string {
  const words = kebab(field.replace(/\*$/, '')).replace(/-/g, ' ');
  if (value === undefined || value === 'true') return words;
  if (value === 'false') return `${words} off`;
  return `${words} ${value}`;
}

/** Text for the command line: fields as flags. */
export const forCli = (text: string): string => sayFields(text, fieldAsFlag);
