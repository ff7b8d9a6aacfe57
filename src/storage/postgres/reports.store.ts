import { getTableColumns } from 'drizzle-orm';
import type { ReportsStore, StoredEvent } from '../../reports/reports.store.js';
import { mergeOffenders, reportQueries } from '../shared/reports.js';
import type { PostgresDb } from './db.js';
import { postgresDialect } from './dialect.js';
import { events } from './schema.js';

// Every column of an event record but its transient webhook entry (cleared by the fan-out trigger).
const { webhook: _webhook, ...storedEventColumns } = getTableColumns(events);

/**
 * PostgreSQL implementation of the report queries of shared/reports.ts, answering exactly as the
 * SQLite store does: the same groups, counts (numbers, not strings), bucket keys (integer division
 * of bigint truncates as SQLite's does) and order, ties included (text compared as bytes, NULL
 * first: postgres/dialect.ts). Each method is a single SELECT over the events indexes.
 */
export function createPostgresReportsStore(db: PostgresDb): ReportsStore {
  const queries = reportQueries(events, postgresDialect);

  return {
    async countFailures(scope, groupBy, stackBy) {
      const { fields, where, groupBy: groups, orderBy } = queries.failures(scope, groupBy, stackBy);
      return db
        .select(fields)
        .from(events)
        .where(where)
        .groupBy(...groups)
        .orderBy(...orderBy);
    },

    async conversion(scope, groupBy) {
      const { fields, where, groupBy: groups, orderBy } = queries.conversion(scope, groupBy);
      return db
        .select(fields)
        .from(events)
        .where(where)
        .groupBy(...groups)
        .orderBy(...orderBy);
    },

    async topOffenders(scope, dimension, limit) {
      // Two reads in one REPEATABLE READ transaction, so both see the same snapshot.
      return db.transaction(
        async (tx) => {
          const offenders = queries.offenders(scope, dimension);
          const top = await tx
            .select(offenders.fields)
            .from(events)
            .where(offenders.where)
            .groupBy(...offenders.groupBy)
            .orderBy(...offenders.orderBy)
            .limit(limit);
          if (top.length === 0) return [];
          const successes = queries.offenderSuccesses(
            scope,
            dimension,
            top.map((row) => row.key),
          );
          return mergeOffenders(
            top,
            await tx
              .select(successes.fields)
              .from(events)
              .where(successes.where)
              .groupBy(...successes.groupBy),
          );
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      );
    },

    async rulesFired(scope, dimension, keys) {
      const rules = queries.rules(scope, dimension, keys);
      if (!rules) return [];
      return db
        .select(rules.fields)
        .from(events)
        .where(rules.where)
        .groupBy(...rules.groupBy)
        .orderBy(...rules.orderBy);
    },

    async listEvents(filter, limit) {
      const rows: StoredEvent[] = await db
        .select(storedEventColumns)
        .from(events)
        .where(queries.eventsWhere(filter))
        .orderBy(...queries.newestFirst())
        .limit(limit);
      return rows;
    },
  };
}
