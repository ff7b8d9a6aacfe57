import { getTableColumns } from 'drizzle-orm';
import type { ReportsStore, StoredEvent } from '../../reports/reports.store.js';
import { mergeOffenders, reportQueries } from '../shared/reports.js';
import type { SqliteDb } from './db.js';
import { sqliteDialect } from './dialect.js';
import { events } from './schema.js';

// Every column of an event record but its transient webhook entry (cleared by the fan-out trigger).
const { webhook: _webhook, ...storedEventColumns } = getTableColumns(events);

/**
 * SQLite implementation of the report queries of shared/reports.ts: each method is a single SELECT
 * over the events indexes. Ties are broken by the group's columns in ascending binary order, NULL
 * first (SQLite's own order), which the PostgreSQL store reproduces.
 */
export function createSqliteReportsStore(db: SqliteDb): ReportsStore {
  const queries = reportQueries(events, sqliteDialect);

  return {
    countFailures(scope, groupBy, stackBy) {
      const q = queries.failures(scope, groupBy, stackBy);
      return Promise.resolve(
        db
          .select(q.fields)
          .from(events)
          .where(q.where)
          .groupBy(...q.groupBy)
          .orderBy(...q.orderBy)
          .all(),
      );
    },

    conversion(scope, groupBy) {
      const q = queries.conversion(scope, groupBy);
      return Promise.resolve(
        db
          .select(q.fields)
          .from(events)
          .where(q.where)
          .groupBy(...q.groupBy)
          .orderBy(...q.orderBy)
          .all(),
      );
    },

    topOffenders(scope, dimension, limit) {
      // Both reads in one (deferred, read-only) transaction, so both see the same snapshot.
      const rows = db.transaction((tx) => {
        const q = queries.offenders(scope, dimension);
        const top = tx
          .select(q.fields)
          .from(events)
          .where(q.where)
          .groupBy(...q.groupBy)
          .orderBy(...q.orderBy)
          .limit(limit)
          .all();
        if (top.length === 0) return [];
        const s = queries.offenderSuccesses(
          scope,
          dimension,
          top.map((row) => row.key),
        );
        return mergeOffenders(
          top,
          tx
            .select(s.fields)
            .from(events)
            .where(s.where)
            .groupBy(...s.groupBy)
            .all(),
        );
      });
      return Promise.resolve(rows);
    },

    rulesFired(scope, dimension, keys) {
      const q = queries.rules(scope, dimension, keys);
      return Promise.resolve(
        q
          ? db
              .select(q.fields)
              .from(events)
              .where(q.where)
              .groupBy(...q.groupBy)
              .orderBy(...q.orderBy)
              .all()
          : [],
      );
    },

    listEvents(filter, limit) {
      const rows: StoredEvent[] = db
        .select(storedEventColumns)
        .from(events)
        .where(queries.eventsWhere(filter))
        .orderBy(...queries.newestFirst())
        .limit(limit)
        .all();
      return Promise.resolve(rows);
    },
  };
}
