import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/storage/postgres/db.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import {
  createTestDatabase,
  POSTGRES_SKIP_REASON,
  type TestDatabase,
} from '../helpers/postgres.js';

if (POSTGRES_SKIP_REASON) console.warn(POSTGRES_SKIP_REASON);

/** Every migration in migrations/postgres: each is applied exactly once. */
const POSTGRES_JOURNAL = JSON.parse(
  readFileSync(new URL('../../migrations/postgres/meta/_journal.json', import.meta.url), 'utf8'),
) as { entries: unknown[] };

describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('PostgreSQL migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('apply once when several instances start at once on a fresh database (advisory lock)', async () => {
    // Without the lock, concurrent CREATE SCHEMA / CREATE TABLE fail with duplicate-object errors.
    const handles = await Promise.all(
      Array.from({ length: 5 }, () => openPostgres(database.url, { poolSize: 2 })),
    );
    try {
      const applied = await handles[0]!.pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM drizzle.__drizzle_migrations',
      );
      expect(Number(applied.rows[0]!.n)).toBe(POSTGRES_JOURNAL.entries.length);
      // Every SQLite table, column and index exists under the same name (raw SQL reads the same on both).
      const sqlite = openSqlite(':memory:');
      const sqliteColumns = (
        sqlite.raw
          .prepare(
            "SELECT m.name || '.' || p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__drizzle%'",
          )
          .all() as { c: string }[]
      ).map((r) => r.c);
      const sqliteIndexes = (
        sqlite.raw
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'",
          )
          .all() as { name: string }[]
      ).map((r) => r.name);
      sqlite.close();
      const pgColumns = (
        await handles[0]!.pool.query<{ c: string }>(
          "SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = 'public'",
        )
      ).rows.map((r) => r.c);
      const pgIndexes = (
        await handles[0]!.pool.query<{ name: string }>(
          "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey'",
        )
      ).rows.map((r) => r.name);
      // PostgreSQL's explicit stand-in for SQLite's implicit rowid (insertion order, schema.ts), and
      // its cache_version row (instances share it; SQLite's caches use the file's data_version).
      const postgresOnly = (c: string): boolean =>
        c.endsWith('.rowid') || c.startsWith('cache_version.');
      expect(pgColumns.filter((c) => !postgresOnly(c)).sort()).toEqual(sqliteColumns.sort());
      expect(pgColumns.filter((c) => c.startsWith('cache_version.')).sort()).toEqual([
        'cache_version.id',
        'cache_version.version',
      ]);
      expect(pgColumns.filter((c) => c.endsWith('.rowid')).sort()).toEqual([
        'deliveries.rowid',
        'verifications.rowid',
      ]);
      expect(pgIndexes.sort()).toEqual(sqliteIndexes.sort());
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
    // A later start finds nothing to apply.
    const again = await openPostgres(database.url);
    await again.close();
  });

  it('refuse UPDATE, DELETE and TRUNCATE of the consent ledger outside the retention purge', async () => {
    const handle = await openPostgres(database.url, { poolSize: 2 });
    try {
      const { pool } = handle;
      await pool.query(
        `INSERT INTO optin_consent_ledger (at, app, list_id, number, type, channel) VALUES (1000, 'a', 'l', '+14155550123', 'requested', 'api')`,
      );
      await expect(pool.query(`UPDATE optin_consent_ledger SET number = '+1'`)).rejects.toThrow(
        /append-only/,
      );
      await expect(pool.query(`DELETE FROM optin_consent_ledger`)).rejects.toThrow(
        /only the retention purge deletes/,
      );
      await expect(pool.query(`TRUNCATE optin_consent_ledger`)).rejects.toThrow(/append-only/);
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('UPDATE optin_ledger_retention SET purge_before = 2000 WHERE id = 1');
        const deleted = await client.query('DELETE FROM optin_consent_ledger WHERE at < 2000');
        await client.query('UPDATE optin_ledger_retention SET purge_before = 0 WHERE id = 1');
        await client.query('COMMIT');
        expect(deleted.rowCount).toBe(1);
      } finally {
        client.release();
      }
    } finally {
      await handle.close();
    }
  });
});
