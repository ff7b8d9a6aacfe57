import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3';
import { migrate as migrateSqlite } from 'drizzle-orm/better-sqlite3/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/storage/postgres/db.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createTestDatabase, POSTGRES_SKIP_REASON } from '../helpers/postgres.js';

/**
 * Apps that existed before the Service sid column get one from its migration, unique, in the
 * shape /v2 looks up (`VA` + 32 lower-case hex): a deployment that upgrades can point Twilio's SDK
 * at every app it already has. Each dialect is migrated to 0000 only, given two apps, then opened
 * as the server opens it (which applies the rest).
 */

interface Journal {
  entries: { tag: string }[];
}

/** A copy of a dialect's migrations folder holding only its first migration. */
function firstMigrationOnly(dialect: 'sqlite' | 'postgres'): string {
  const source = new URL(`../../migrations/${dialect}/`, import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), `otp-migrations-${dialect}-`));
  const journal = JSON.parse(readFileSync(join(source, 'meta/_journal.json'), 'utf8')) as Journal;
  const first = journal.entries[0]!;
  mkdirSync(join(dir, 'meta'));
  writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: [first] }));
  cpSync(join(source, `${first.tag}.sql`), join(dir, `${first.tag}.sql`));
  return dir;
}

const LEGACY_APPS =
  "INSERT INTO apps (name, brand, code_length, web_otp_domain, created_at, updated_at) VALUES ('legacy', 'Legacy', 6, NULL, 1, 1), ('other', NULL, NULL, NULL, 2, 2)";

function expectBackfilled(
  rows: { name: string; twilio_service_sid: string | null; custom_codes: unknown }[],
): void {
  expect(rows.map((r) => r.name)).toEqual(['legacy', 'other']);
  for (const row of rows) {
    expect(row.twilio_service_sid).toMatch(/^VA[0-9a-f]{32}$/);
    expect(Boolean(row.custom_codes)).toBe(false);
  }
  expect(rows[0]!.twilio_service_sid).not.toBe(rows[1]!.twilio_service_sid);
}

describe('the Service sid migration', () => {
  it('gives every existing SQLite app a sid of its own', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'otp-sqlite-')), 'old.db');
    const old = new Database(path);
    migrateSqlite(drizzleSqlite(old), { migrationsFolder: firstMigrationOnly('sqlite') });
    old.exec(LEGACY_APPS);
    old.close();

    const upgraded = openSqlite(path);
    try {
      expectBackfilled(
        upgraded.raw
          .prepare('SELECT name, twilio_service_sid, custom_codes FROM apps ORDER BY name')
          .all() as never,
      );
    } finally {
      upgraded.close();
    }
  });

  it.skipIf(POSTGRES_SKIP_REASON !== undefined)(
    'gives every existing PostgreSQL app a sid of its own',
    async () => {
      const database = await createTestDatabase();
      try {
        const pool = new pg.Pool({ connectionString: database.url, max: 1 });
        await migratePg(drizzlePg(pool), { migrationsFolder: firstMigrationOnly('postgres') });
        await pool.query(LEGACY_APPS);
        await pool.end();

        const upgraded = await openPostgres(database.url, { poolSize: 1 });
        try {
          const { rows } = await upgraded.pool.query<{
            name: string;
            twilio_service_sid: string | null;
            custom_codes: boolean;
          }>('SELECT name, twilio_service_sid, custom_codes FROM apps ORDER BY name');
          expectBackfilled(rows);
        } finally {
          await upgraded.close();
        }
      } finally {
        await database.drop();
      }
    },
  );
});
