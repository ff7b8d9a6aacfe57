import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { DatabaseHandle } from '../shared/handle.js';
import { enableCommitGroup, flushOpenBatches } from './commit-group.js';
import * as schema from './schema.js';

export type SqliteDb = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** One SQLite connection; `settled()` waits for the turn's group commit (writes of one event-loop turn commit together: commit-group.ts). */
export interface SqliteHandle extends DatabaseHandle<'sqlite'> {
  db: SqliteDb;
  raw: Database.Database;
  /** Commits what is pending, then closes the connection. */
  close(): void;
}

export const SQLITE_MIGRATIONS = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../migrations/sqlite',
);

const WAL_RETRY_MS = 5000;
const WAL_RETRY_STEP_MS = 10;

/**
 * Switches to WAL. Changing the journal mode needs the file to itself, and SQLite answers
 * SQLITE_BUSY at once, without its busy handler, while another process is opening or migrating the
 * same new file (instances starting together): retry for up to WAL_RETRY_MS.
 */
function enableWal(raw: Database.Database): void {
  for (let waited = 0; ; waited += WAL_RETRY_STEP_MS) {
    try {
      raw.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || waited >= WAL_RETRY_MS)
        throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, WAL_RETRY_STEP_MS);
    }
  }
}

/**
 * Opens (creating if needed) a SQLite database in WAL mode, applies pending migrations and turns
 * group commit on. `:memory:` gives a private in-memory database, as tests use.
 */
export function openSqlite(path: string): SqliteHandle {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // Another connection of this process may hold the write lock until its turn ends: commit it first.
  flushOpenBatches();
  const raw = new Database(path);
  enableWal(raw);
  // NORMAL in WAL mode: durable across process crashes; only an OS crash can lose the last commits.
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  // Pages are read with pread into a 16 MiB page cache, not through a memory map: every page of a
  // mapped file the process touches counts in its resident memory, and random inserts into the
  // indexes touch pages all over a large database (measured on 1.5 GB: 1.1 GB resident with a 1 GiB
  // map, 170 MB without, and starts no slower). Reports cost the same except a whole year's
  // conversion by country (0.8 s → 1.3 s on a million records).
  raw.pragma('mmap_size = 0');
  raw.pragma('cache_size = -16384');
  // Statement journals in memory. Under group commit every statement runs inside the turn's
  // transaction, so a statement that may fail half way (a multi-row upsert of counters, the
  // savepoint that creates a verification with its delivery) first copies the pages it changes
  // that the turn had already changed, and past 64 KiB SQLite spills that copy to a temp file:
  // measured under load, 66 -> 48 write syscalls and 152 -> 114 KB written per start, 7-10% less
  // CPU. Reports over a million records showed the same peak memory and times either way
  // (test/reports/reports.query-budget.test.ts).
  raw.pragma('temp_store = MEMORY');
  const db = drizzle(raw, { schema });
  try {
    migrate(db, { migrationsFolder: SQLITE_MIGRATIONS });
  } catch {
    // drizzle reads the last applied migration before its BEGIN: two instances starting at once on
    // a new file both see none, one applies them, the other fails on CREATE TABLE and rolls back.
    // Run again: it now sees them applied; a migration that is itself broken fails again and throws.
    migrate(db, { migrationsFolder: SQLITE_MIGRATIONS });
  }
  const group = enableCommitGroup(raw);
  return {
    kind: 'sqlite',
    db,
    raw,
    settled: () => group.settled(),
    close: () => {
      group.flush();
      raw.close();
    },
  };
}
