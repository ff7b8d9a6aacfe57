import { sql } from 'drizzle-orm';
import type { EventRetentionStore } from '../../jobs/retention.store.js';
import type { SqliteDb } from './db.js';
import { events } from './schema.js';

/** SQLite implementation: one bounded DELETE per call, over the `at` index, so each write lock is short. */
export function createSqliteEventRetentionStore(db: SqliteDb): EventRetentionStore {
  return {
    deleteOlderThan(cutoff, limit) {
      const result = db.run(
        sql`delete from ${events} where ${events.id} in (select ${events.id} from ${events} where ${events.at} < ${cutoff} order by ${events.at} limit ${limit})`,
      );
      return Promise.resolve(result.changes);
    },
  };
}
