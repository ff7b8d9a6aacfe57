import { and, asc, desc, eq, gte, inArray, isNotNull, lt, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn } from 'drizzle-orm/sqlite-core';
import type { Dimension, OffenderDimension, RecordScope, ReportsStore, StoredEvent, TimeBucket } from '../../reports/reports.store.js';
import type { SqliteDb } from './db.js';
import { events } from './schema.js';

const COLUMNS: Record<Dimension, SQLiteColumn> = {
  reason: events.reason,
  country: events.country,
  prefix: events.prefix,
  ip: events.ip,
  channel: events.channel,
  provider: events.provider,
  app: events.app,
  rule: events.rule,
};

const OFFENDER_COLUMNS: Record<OffenderDimension, SQLiteColumn> = { prefix: events.prefix, ip: events.ip, number: events.numberHash };

const BUCKET_MS: Record<TimeBucket, number> = { hour: 3_600_000, day: 86_400_000 };

function inScope(scope: RecordScope): SQL[] {
  const where = [gte(events.at, scope.from), lt(events.at, scope.to)];
  if (scope.app !== undefined) where.push(eq(events.app, scope.app));
  if (scope.country !== undefined) where.push(eq(events.country, scope.country));
  return where;
}

const count = sql<number>`count(*)`;
const countIf = (condition: SQL): SQL<number> => sql<number>`coalesce(sum(case when ${condition} then 1 else 0 end), 0)`;

/**
 * SQLite implementation: each method is a single SELECT over the events indexes. Ties are broken
 * by the group's columns in ascending binary order, NULL first (SQLite's own order), so a report
 * reads the same on every run and on PostgreSQL (storage/postgres/reports.store.ts).
 */
export function createSqliteReportsStore(db: SqliteDb): ReportsStore {
  return {
    countFailures(scope, groupBy, stackBy) {
      const where = and(eq(events.kind, 'failure'), ...inScope(scope));
      const bucket = groupBy === 'hour' || groupBy === 'day';
      // The bucket width is inlined from a constant: a bound JS number would make the division real, not integer.
      const width = bucket ? sql.raw(String(BUCKET_MS[groupBy])) : undefined;
      const key = width ? sql<string>`cast((${events.at} / ${width}) * ${width} as text)` : sql<string | null>`${COLUMNS[groupBy as Dimension]}`;
      if (stackBy) {
        const stack = COLUMNS[stackBy];
        const rows = db
          .select({ key, stack: sql<string | null>`${stack}`, count })
          .from(events)
          .where(where)
          .groupBy(key, stack)
          .orderBy(...(bucket ? [asc(key), desc(count)] : [desc(count), asc(key)]), asc(stack))
          .all();
        return Promise.resolve(rows);
      }
      const rows = db
        .select({ key, count })
        .from(events)
        .where(where)
        .groupBy(key)
        .orderBy(...(bucket ? [asc(key)] : [desc(count), asc(key)]))
        .all();
      return Promise.resolve(rows);
    },

    conversion(scope, groupBy) {
      const key = COLUMNS[groupBy];
      const rows = db
        .select({
          key: sql<string | null>`${key}`,
          started: countIf(sql`${events.reason} = 'started' and ${events.kind} = 'success'`),
          sent: countIf(sql`${events.reason} = 'sent' and ${events.kind} = 'success'`),
          delivered: countIf(sql`${events.reason} = 'delivered' and ${events.kind} = 'success'`),
          deliveryFailed: countIf(sql`${events.reason} = 'delivery_failed'`),
          approved: countIf(sql`${events.reason} = 'approved' and ${events.kind} = 'success'`),
        })
        .from(events)
        .where(and(inArray(events.reason, ['started', 'sent', 'delivered', 'delivery_failed', 'approved']), ...inScope(scope)))
        .groupBy(key)
        .orderBy(desc(sql`2`), asc(key))
        .all();
      return Promise.resolve(rows);
    },

    topOffenders(scope, dimension, limit) {
      const key = OFFENDER_COLUMNS[dimension];
      // Two reads in one (deferred, read-only) transaction, so both see the same snapshot: first rank
      // by failures over the failure rows only (the kind/at index), then count the top keys' successes
      // through the key's own index. One pass over every row of the window is 3 to 5 times slower.
      const rows = db.transaction((tx) => {
        const top = tx
          .select({
            key: sql<string>`${key}`,
            failures: count,
            firstAt: sql<number>`min(${events.at})`,
            lastAt: sql<number>`max(${events.at})`,
            numberEnc: dimension === 'number' ? sql<string | null>`max(${events.numberEnc})` : sql<null>`null`,
          })
          .from(events)
          .where(and(eq(events.kind, 'failure'), isNotNull(key), ...inScope(scope)))
          .groupBy(key)
          .orderBy(desc(count), key)
          .limit(limit)
          .all();
        if (top.length === 0) return [];
        const successes = tx
          .select({
            key: sql<string>`${key}`,
            started: countIf(sql`${events.reason} = 'started'`),
            sent: countIf(sql`${events.reason} = 'sent'`),
            approved: countIf(sql`${events.reason} = 'approved'`),
            firstAt: sql<number>`min(${events.at})`,
            lastAt: sql<number>`max(${events.at})`,
          })
          .from(events)
          .where(and(inArray(key, top.map((row) => row.key)), eq(events.kind, 'success'), ...inScope(scope)))
          .groupBy(key)
          .all();
        const byKey = new Map(successes.map((row) => [row.key, row]));
        return top.map((row) => {
          const s = byKey.get(row.key);
          return {
            key: row.key,
            failures: row.failures,
            started: s?.started ?? 0,
            sent: s?.sent ?? 0,
            approved: s?.approved ?? 0,
            firstAt: Math.min(row.firstAt, s?.firstAt ?? row.firstAt),
            lastAt: Math.max(row.lastAt, s?.lastAt ?? row.lastAt),
            numberEnc: row.numberEnc,
          };
        });
      });
      return Promise.resolve(rows);
    },

    rulesFired(scope, dimension, keys) {
      const where = and(eq(events.kind, 'failure'), isNotNull(events.rule), ...inScope(scope));
      if (dimension && keys) {
        if (keys.length === 0) return Promise.resolve([]);
        const key = OFFENDER_COLUMNS[dimension];
        const rows = db
          .select({ key: sql<string | null>`${key}`, rule: sql<string>`${events.rule}`, reason: events.reason, count })
          .from(events)
          .where(and(where, inArray(key, keys)))
          .groupBy(key, events.rule, events.reason)
          .orderBy(desc(count), asc(key), asc(events.rule), asc(events.reason))
          .all();
        return Promise.resolve(rows);
      }
      const rows = db
        .select({ key: sql<null>`null`, rule: sql<string>`${events.rule}`, reason: events.reason, count })
        .from(events)
        .where(where)
        .groupBy(events.rule, events.reason)
        .orderBy(desc(count), asc(events.rule), asc(events.reason))
        .all();
      return Promise.resolve(rows);
    },

    listEvents(filter, limit) {
      const where = inScope(filter);
      if (filter.kind !== undefined) where.push(eq(events.kind, filter.kind));
      if (filter.reason !== undefined) where.push(eq(events.reason, filter.reason));
      if (filter.numberHash !== undefined) where.push(eq(events.numberHash, filter.numberHash));
      if (filter.prefix !== undefined) where.push(eq(events.prefix, filter.prefix));
      if (filter.ip !== undefined) where.push(eq(events.ip, filter.ip));
      if (filter.verificationId !== undefined) where.push(eq(events.verificationId, filter.verificationId));
      if (filter.before) where.push(sql`(${events.at}, ${events.id}) < (${filter.before.at}, ${filter.before.id})`);
      const rows: StoredEvent[] = db
        .select()
        .from(events)
        .where(and(...where))
        .orderBy(desc(events.at), desc(events.id))
        .limit(limit)
        .all();
      return Promise.resolve(rows);
    },
  };
}
