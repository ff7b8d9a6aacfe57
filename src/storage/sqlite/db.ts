import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';

export type SqliteDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

export interface SqliteHandle {
  kind: 'sqlite';
  db: SqliteDb;
  raw: Database.Database;
  close(): void;
}

export const SQLITE_MIGRATIONS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../migrations/sqlite');

/**
 * Opens (creating if needed) a SQLite database in WAL mode and applies pending migrations.
 * `:memory:` gives a private in-memory database, as tests use.
 */
export function openSqlite(path: string): SqliteHandle {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: durable across process crashes; only an OS crash can lose the last commits.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  // Reports aggregate a year of events (about 400 MB per million records): read pages through a memory
  // map and keep a 64 MiB page cache instead of one pread per page through the 2 MiB default.
  raw.pragma('mmap_size = 1073741824');
  raw.pragma('cache_size = -65536');
  const db = drizzle(raw, { schema });
  try {
    migrate(db, { migrationsFolder: SQLITE_MIGRATIONS });
  } catch {
    // drizzle reads the last applied migration before its BEGIN: two instances starting at once on
    // a new file both see none, one applies them, the other fails on CREATE TABLE and rolls back.
    // Run again: it now sees them applied; a migration that is itself broken fails again and throws.
    migrate(db, { migrationsFolder: SQLITE_MIGRATIONS });
  }
  return { kind: 'sqlite', db, raw, close: () => raw.close() };
}
