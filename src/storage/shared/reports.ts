import {
  and,
  desc,
  eq,
  gte,
  inArray,
  isNotNull,
  lt,
  sql,
  type Column,
  type SQL,
  type SQLWrapper,
} from 'drizzle-orm';
import type {
  Dimension,
  EventFilter,
  OffenderCounts,
  OffenderDimension,
  RecordScope,
  TimeBucket,
} from '../../reports/reports.store.js';
import type { Columns, SqlDialect } from './sql.js';

/**
 * The report queries (reports/reports.store.ts), the same on both dialects: their groups, counts,
 * filters and order, ties included, so a report reads the same on every run and on either database
 * (test/storage/contract/reports.contract.ts compares them with a reference computation and with
 * each other). Each query is a single SELECT over the events indexes; the dialect store runs the
 * parts given here (`fields`, `where`, `groupBy`, `orderBy`) as one statement.
 */

type Events = Columns<
  | 'id'
  | 'at'
  | 'app'
  | 'kind'
  | 'reason'
  | 'rule'
  | 'channel'
  | 'provider'
  | 'numberHash'
  | 'numberEnc'
  | 'prefix'
  | 'country'
  | 'ip'
  | 'verificationId'
>;

/** One grouped SELECT over the events: its selected fields (all SQL, the same in either dialect's select list) and clauses. */
export interface GroupedQuery<F extends Record<string, SQL | undefined>> {
  fields: F;
  where: SQL | undefined;
  groupBy: SQL[];
  orderBy: SQL[];
}

const BUCKET_MS: Record<TimeBucket, number> = { hour: 3_600_000, day: 86_400_000 };

// node-postgres returns bigint (count, sum, min and max of a bigint) as a string: read as numbers.
const count = sql<number>`count(*)`.mapWith(Number);
const countIf = (condition: SQL): SQL<number> =>
  sql<number>`coalesce(sum(case when ${condition} then 1 else 0 end), 0)`.mapWith(Number);
const text = (column: Column): SQL<string | null> => sql<string | null>`${column}`;

/** The report queries over one dialect's events table, spelt in its dialect. */
export function reportQueries(events: Events, dialect: SqlDialect) {
  const COLUMNS: Record<Dimension, Column> = {
    reason: events.reason,
    country: events.country,
    prefix: events.prefix,
    ip: events.ip,
    channel: events.channel,
    provider: events.provider,
    app: events.app,
    rule: events.rule,
  };
  const OFFENDER_COLUMNS: Record<OffenderDimension, Column> = {
    prefix: events.prefix,
    ip: events.ip,
    number: events.numberHash,
  };
  const minAt = (): SQL<number> => sql<number>`min(${events.at})`.mapWith(Number);
  const maxAt = (): SQL<number> => sql<number>`max(${events.at})`.mapWith(Number);
  const ascText = (value: SQLWrapper): SQL => dialect.ascText(value);

  function inScope(scope: RecordScope): SQL[] {
    const where = [gte(events.at, scope.from), lt(events.at, scope.to)];
    if (scope.app !== undefined) where.push(eq(events.app, scope.app));
    if (scope.country !== undefined) where.push(eq(events.country, scope.country));
    return where;
  }

  return {
    /** Failures per group (and per stack): largest first, ties by key; time buckets in time order. */
    failures(
      scope: RecordScope,
      groupBy: Dimension | TimeBucket,
      stackBy: Dimension | undefined,
    ): GroupedQuery<{ key: SQL<string | null>; stack?: SQL<string | null>; count: SQL<number> }> {
      const where = and(eq(events.kind, 'failure'), ...inScope(scope));
      const bucket = groupBy === 'hour' || groupBy === 'day';
      // The bucket width is inlined from a constant: a bound JS number would make SQLite's division
      // real, not integer (PostgreSQL's bigint / integer truncates as SQLite's integer division does).
      const width = bucket ? sql.raw(String(BUCKET_MS[groupBy])) : undefined;
      const key = width
        ? sql<string | null>`cast((${events.at} / ${width}) * ${width} as text)`
        : text(COLUMNS[groupBy as Dimension]);
      if (stackBy) {
        const stack = text(COLUMNS[stackBy]);
        const orderBy = bucket ? [ascText(key), desc(count)] : [desc(count), ascText(key)];
        return {
          fields: { key, stack, count },
          where,
          groupBy: [key, stack],
          orderBy: [...orderBy, ascText(stack)],
        };
      }
      return {
        fields: { key, count },
        where,
        groupBy: [key],
        orderBy: bucket ? [ascText(key)] : [desc(count), ascText(key)],
      };
    },

    /** Starts, sends, receipts, delivery failures and approvals per group, most starts first. */
    conversion(scope: RecordScope, groupBy: 'country' | 'prefix' | 'channel') {
      const key = text(COLUMNS[groupBy]);
      return {
        fields: {
          key,
          started: countIf(sql`${events.reason} = 'started' and ${events.kind} = 'success'`),
          sent: countIf(sql`${events.reason} = 'sent' and ${events.kind} = 'success'`),
          delivered: countIf(sql`${events.reason} = 'delivered' and ${events.kind} = 'success'`),
          deliveryFailed: countIf(sql`${events.reason} = 'delivery_failed'`),
          approved: countIf(sql`${events.reason} = 'approved' and ${events.kind} = 'success'`),
        },
        where: and(
          inArray(events.reason, ['started', 'sent', 'delivered', 'delivery_failed', 'approved']),
          ...inScope(scope),
        ),
        groupBy: [key],
        orderBy: [desc(sql`2`), ascText(key)],
      } satisfies GroupedQuery<Record<string, SQL>>;
    },

    /**
     * topOffenders, first read: the keys ranked by failures over the failure rows only (the
     * kind/at index), at most `limit`. The second read (`offenderSuccesses`) counts the top keys'
     * successes through the key's own index: one pass over every row of the window is 3 to 5 times
     * slower. Both run in one read-only transaction, so they see the same snapshot.
     */
    offenders(scope: RecordScope, dimension: OffenderDimension) {
      const key = OFFENDER_COLUMNS[dimension];
      return {
        fields: {
          key: sql<string>`${key}`,
          failures: count,
          firstAt: minAt(),
          lastAt: maxAt(),
          numberEnc: dimension === 'number' ? dialect.maxText(events.numberEnc) : sql<null>`null`,
        },
        where: and(eq(events.kind, 'failure'), isNotNull(key), ...inScope(scope)),
        groupBy: [sql`${key}`],
        orderBy: [desc(count), ascText(key)],
      } satisfies GroupedQuery<Record<string, SQL>>;
    },

    offenderSuccesses(scope: RecordScope, dimension: OffenderDimension, keys: string[]) {
      const key = OFFENDER_COLUMNS[dimension];
      return {
        fields: {
          key: sql<string>`${key}`,
          started: countIf(sql`${events.reason} = 'started'`),
          sent: countIf(sql`${events.reason} = 'sent'`),
          approved: countIf(sql`${events.reason} = 'approved'`),
          firstAt: minAt(),
          lastAt: maxAt(),
        },
        where: and(inArray(key, keys), eq(events.kind, 'success'), ...inScope(scope)),
        groupBy: [sql`${key}`],
      } satisfies Omit<GroupedQuery<Record<string, SQL>>, 'orderBy'>;
    },

    /**
     * Which rules fired, per key of `dimension` (only `keys`) when both are given, overall
     * otherwise; undefined when asked for no key at all (the answer is empty without a query).
     */
    rules(
      scope: RecordScope,
      dimension: OffenderDimension | undefined,
      keys: string[] | undefined,
    ) {
      const where = and(eq(events.kind, 'failure'), isNotNull(events.rule), ...inScope(scope));
      const rule = sql<string>`${events.rule}`;
      const reason = sql<string>`${events.reason}`;
      if (dimension && keys) {
        if (keys.length === 0) return undefined;
        const key = OFFENDER_COLUMNS[dimension];
        return {
          fields: { key: text(key), rule, reason, count },
          where: and(where, inArray(key, keys)),
          groupBy: [sql`${key}`, rule, reason],
          orderBy: [desc(count), ascText(key), ascText(events.rule), ascText(events.reason)],
        } satisfies GroupedQuery<Record<string, SQL>>;
      }
      return {
        fields: { key: sql<string | null>`null`, rule, reason, count },
        where,
        groupBy: [rule, reason],
        orderBy: [desc(count), ascText(events.rule), ascText(events.reason)],
      } satisfies GroupedQuery<Record<string, SQL>>;
    },

    /** listEvents' filter: the scope, the optional equalities, and the (at, id) cursor of the previous page. */
    eventsWhere(filter: EventFilter): SQL | undefined {
      const where = inScope(filter);
      if (filter.kind !== undefined) where.push(eq(events.kind, filter.kind));
      if (filter.reason !== undefined) where.push(eq(events.reason, filter.reason));
      if (filter.numberHash !== undefined) where.push(eq(events.numberHash, filter.numberHash));
      if (filter.prefix !== undefined) where.push(eq(events.prefix, filter.prefix));
      if (filter.ip !== undefined) where.push(eq(events.ip, filter.ip));
      if (filter.verificationId !== undefined)
        where.push(eq(events.verificationId, filter.verificationId));
      if (filter.before)
        where.push(sql`(${events.at}, ${events.id}) < (${filter.before.at}, ${filter.before.id})`);
      return and(...where);
    },

    /** Newest first, then by insertion order. */
    newestFirst: (): SQL[] => [desc(events.at), desc(events.id)],
  };
}

/** topOffenders' answer: each top key's failures with its successes (none when it has none), first and last seen across both. */
export function mergeOffenders(
  top: readonly Omit<OffenderCounts, 'started' | 'sent' | 'approved'>[],
  successes: readonly {
    key: string;
    started: number;
    sent: number;
    approved: number;
    firstAt: number;
    lastAt: number;
  }[],
): OffenderCounts[] {
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
}
