import { and, desc, eq, gte, inArray, isNotNull, lt, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Dimension, OffenderDimension, RecordScope, ReportsStore, StoredEvent, TimeBucket } from '../../reports/reports.store.js';
import type { PostgresDb } from './db.js';
import { events } from './schema.js';

const COLUMNS: Record<Dimension, PgColumn> = {
  reason: events.reason,
  country: events.country,
  prefix: events.prefix,
  ip: events.ip,
  channel: events.channel,
  provider: events.provider,
  app: events.app,
  rule: events.rule,
};

const OFFENDER_COLUMNS: Record<OffenderDimension, PgColumn> = { prefix: events.prefix, ip: events.ip, number: events.numberHash };

const BUCKET_MS: Record<TimeBucket, number> = { hour: 3_600_000, day: 86_400_000 };

function inScope(scope: RecordScope): SQL[] {
  const where = [gte(events.at, scope.from), lt(events.at, scope.to)];
  if (scope.app !== undefined) where.push(eq(events.app, scope.app));
  if (scope.country !== undefined) where.push(eq(events.country, scope.country));
  return where;
}

// node-postgres returns bigint (count, sum, min and max of a bigint) as a string: read as numbers.
const count = sql<number>`count(*)`.mapWith(Number);
const countIf = (condition: SQL): SQL<number> => sql<number>`coalesce(sum(case when ${condition} then 1 else 0 end), 0)`.mapWith(Number);
const minAt = (): SQL<number> => sql<number>`min(${events.at})`.mapWith(Number);
const maxAt = (): SQL<number> => sql<number>`max(${events.at})`.mapWith(Number);

/**
 * Ascending text in SQLite's order: bytes (COLLATE "C", whatever the database's locale, which
 * would otherwise ignore punctuation such as the `+` of a prefix or the dots of an IP), NULL first.
 */
const ascText = (value: SQL | PgColumn): SQL => sql`${value} collate "C" asc nulls first`;

/**
 * PostgreSQL implementation, answering exactly as storage/sqlite/reports.store.ts does: the same
 * groups, counts (numbers, not strings), bucket keys (integer division of bigint truncates as
 * SQLite's does) and order, ties included. Each method is a single SELECT over the events indexes.
 */
export function createPostgresReportsStore(db: PostgresDb): ReportsStore {
  return {
    async countFailures(scope, groupBy, stackBy) {
      const where = and(eq(events.kind, 'failure'), ...inScope(scope));
      const bucket = groupBy === 'hour' || groupBy === 'day';
      // The width is inlined from a constant: bigint / integer is an integer division, as in SQLite.
      const width = bucket ? sql.raw(String(BUCKET_MS[groupBy])) : undefined;
      const key = width ? sql<string>`cast((${events.at} / ${width}) * ${width} as text)` : sql<string | null>`${COLUMNS[groupBy as Dimension]}`;
      if (stackBy) {
        const stack = COLUMNS[stackBy];
        return db
          .select({ key, stack: sql<string | null>`${stack}`, count })
          .from(events)
          .where(where)
          .groupBy(key, stack)
          .orderBy(...(bucket ? [ascText(key), desc(count)] : [desc(count), ascText(key)]), ascText(stack));
      }
      return db
        .select({ key, count })
        .from(events)
        .where(where)
        .groupBy(key)
        .orderBy(...(bucket ? [ascText(key)] : [desc(count), ascText(key)]));
    },

    async conversion(scope, groupBy) {
      const key = COLUMNS[groupBy];
      return db
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
        .orderBy(desc(sql`2`), ascText(key));
    },

    async topOffenders(scope, dimension, limit) {
      const key = OFFENDER_COLUMNS[dimension];
      // Two reads in one REPEATABLE READ transaction, so both see the same snapshot (see the SQLite store).
      return db.transaction(
        async (tx) => {
          const top = await tx
            .select({
              key: sql<string>`${key}`,
              failures: count,
              firstAt: minAt(),
              lastAt: maxAt(),
              numberEnc: dimension === 'number' ? sql<string | null>`max(${events.numberEnc} collate "C")` : sql<null>`null`,
            })
            .from(events)
            .where(and(eq(events.kind, 'failure'), isNotNull(key), ...inScope(scope)))
            .groupBy(key)
            .orderBy(desc(count), ascText(key))
            .limit(limit);
          if (top.length === 0) return [];
          const successes = await tx
            .select({
              key: sql<string>`${key}`,
              started: countIf(sql`${events.reason} = 'started'`),
              sent: countIf(sql`${events.reason} = 'sent'`),
              approved: countIf(sql`${events.reason} = 'approved'`),
              firstAt: minAt(),
              lastAt: maxAt(),
            })
            .from(events)
            .where(and(inArray(key, top.map((row) => row.key)), eq(events.kind, 'success'), ...inScope(scope)))
            .groupBy(key);
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
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      );
    },

    async rulesFired(scope, dimension, keys) {
      const where = and(eq(events.kind, 'failure'), isNotNull(events.rule), ...inScope(scope));
      if (dimension && keys) {
        if (keys.length === 0) return [];
        const key = OFFENDER_COLUMNS[dimension];
        return db
          .select({ key: sql<string | null>`${key}`, rule: sql<string>`${events.rule}`, reason: events.reason, count })
          .from(events)
          .where(and(where, inArray(key, keys)))
          .groupBy(key, events.rule, events.reason)
          .orderBy(desc(count), ascText(key), ascText(events.rule), ascText(events.reason));
      }
      return db
        .select({ key: sql<null>`null`, rule: sql<string>`${events.rule}`, reason: events.reason, count })
        .from(events)
        .where(where)
        .groupBy(events.rule, events.reason)
        .orderBy(desc(count), ascText(events.rule), ascText(events.reason));
    },

    async listEvents(filter, limit) {
      const where = inScope(filter);
      if (filter.kind !== undefined) where.push(eq(events.kind, filter.kind));
      if (filter.reason !== undefined) where.push(eq(events.reason, filter.reason));
      if (filter.numberHash !== undefined) where.push(eq(events.numberHash, filter.numberHash));
      if (filter.prefix !== undefined) where.push(eq(events.prefix, filter.prefix));
      if (filter.ip !== undefined) where.push(eq(events.ip, filter.ip));
      if (filter.verificationId !== undefined) where.push(eq(events.verificationId, filter.verificationId));
      if (filter.before) where.push(sql`(${events.at}, ${events.id}) < (${filter.before.at}, ${filter.before.id})`);
      const rows: StoredEvent[] = await db
        .select()
        .from(events)
        .where(and(...where))
        .orderBy(desc(events.at), desc(events.id))
        .limit(limit);
      return rows;
    },
  };
}
