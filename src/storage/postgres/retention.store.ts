import { sql } from 'drizzle-orm';
import type { EventRetentionStore } from '../../jobs/retention.store.js';
import type { PostgresDb } from './db.js';
import { events } from './schema.js';

/**
 * PostgreSQL implementation: one bounded DELETE per call over the `at` index. SKIP LOCKED lets two
 * instances purging at once take disjoint batches instead of queueing on each other's rows.
 */
export function createPostgresEventRetentionStore(db: PostgresDb): EventRetentionStore {
  return {
    async deleteOlderThan(cutoff, limit) {
      const result = await db.execute(
        sql`DELETE FROM ${events} WHERE ${events.id} IN (SELECT ${events.id} FROM ${events} WHERE ${events.at} < ${cutoff} ORDER BY ${events.at} LIMIT ${limit} FOR UPDATE SKIP LOCKED)`,
      );
      return result.rowCount ?? 0;
    },
  };
}
