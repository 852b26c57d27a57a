/**
 * Object names inside a backup for a database (key-safe whatever the database is called).
 * Each other character becomes `=` and its UTF-8 bytes in hex; the `u` flag keeps a
 * character outside the BMP whole (without it, both halves of a surrogate pair were
 * encoded as U+FFFD, so every emoji-named database got the same object name).
 */
export function dbObjectBase(db: string): string {
  return 'db-' + db.replace(/[^A-Za-z0-9_-]/gu, (ch) => '=' + [...Buffer.from(ch)].map((b) => b.toString(16).padStart(2, '0')).join(''));
}

export const objectName = {
  custom: (db: string) => `${dbObjectBase(db)}.dump`,
  plain: (db: string) => `${dbObjectBase(db)}.sql`,
  directory: (db: string, file: string) => `${dbObjectBase(db)}.dir/${file}`,
  globals: 'globals.sql',
};
