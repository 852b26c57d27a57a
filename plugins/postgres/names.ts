/** Object names inside a backup for a database (key-safe whatever the database is called). */
export function dbObjectBase(db: string): string {
  return 'db-' + db.replace(/[^A-Za-z0-9_-]/g, (ch) => '=' + [...Buffer.from(ch)].map((b) => b.toString(16).padStart(2, '0')).join(''));
}

export const objectName = {
  custom: (db: string) => `${dbObjectBase(db)}.dump`,
  plain: (db: string) => `${dbObjectBase(db)}.sql`,
  directory: (db: string, file: string) => `${dbObjectBase(db)}.dir/${file}`,
  globals: 'globals.sql',
};
