/**
 * Exploitable without this: an instance that keeps serving a cached API key after its revocation,
 * or a cached blocklist without the new entry, for longer than SECURITY.md allows. The caches'
 * version must move on every change by anyone: on SQLite at the next read, on PostgreSQL through
 * the otp_cache notification and, when that is missed, through the poll of cache_version.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/storage/postgres/db.js';
import { postgresCacheVersion } from '../../src/storage/postgres/cache-version.js';
import { sqliteCacheVersion } from '../../src/storage/sqlite/cache-version.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createTestDatabase, POSTGRES_SKIP_REASON } from '../helpers/postgres.js';

async function movesWithin(current: () => number, ms: number): Promise<number> {
  const before = current();
  const since = performance.now();
  while (current() === before) {
    if (performance.now() - since > ms) throw new Error(`version did not move within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - since;
}

describe('cache version', () => {
  it('SQLite: another connection’s commit moves it at the next turn’s read; this process’s write at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-cache-version-'));
    try {
      const path = join(dir, 'verify.db');
      const handle = openSqlite(path);
      const version = sqliteCacheVersion(handle);
      const first = version.current();
      expect(version.current()).toBe(first);
      const other = new Database(path);
      other.prepare("INSERT INTO apps (name, created_at, updated_at) VALUES ('x', 1, 1)").run();
      other.close();
      // Read once per event-loop turn: the next turn sees the commit.
      expect(version.current()).toBe(first);
      await new Promise((resolve) => setImmediate(resolve));
      const second = version.current();
      expect(second).not.toBe(first);
      version.changed();
      expect(version.current()).not.toBe(second);
      handle.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('PostgreSQL', () => {
    it('a write to a cached table by another pool moves it by notification; a missed notification is caught by the poll within 1 s', async () => {
      const database = await createTestDatabase();
      const handle = await openPostgres(database.url);
      const other = await openPostgres(database.url, { migrate: false });
      const version = await postgresCacheVersion(handle, { pollMs: 500 });
      try {
        const notified = movesWithin(() => version.current(), 1000);
        await other.pool.query(
          "INSERT INTO app_limits (app, overrides, updated_at) VALUES ('acme', '{}', 1)",
        );
        const byNotification = await notified;
        // As a change whose notification was lost: the row moves, nothing is sent.
        const polled = movesWithin(() => version.current(), 1000);
        await other.pool.query('UPDATE cache_version SET version = version + 1 WHERE id = 1');
        const byPoll = await polled;
        console.log(
          `cache version: moved ${byNotification.toFixed(0)} ms after a write (notification), ${byPoll.toFixed(0)} ms after a silent change (poll)`,
        );
        expect(byNotification).toBeLessThan(1000);
        expect(byPoll).toBeLessThan(1000);
      } finally {
        await version.close();
        await other.close();
        await handle.close();
        await database.drop();
      }
    });
  });
});
