import { and, asc, eq, gt, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { AppLimitOverrides, AppLimitsStore, BlockEntry, BlocklistStore, CounterStore } from '../../limits/limits.store.js';
import type { Clock } from '../../platform/clock.js';
import type { SqliteDb } from './db.js';
import { appLimits, blocklist, rateCounters } from './schema.js';

const PURGE_EVERY = 1000;

/**
 * Rate counters in our own table rather than rate-limiter-flexible's RateLimiterSQLite: that store
 * reads Date.now() itself (our Clock could not drive it, so windows could not be tested
 * deterministically) and creates its table outside the migrations. The semantics are the
 * library's fixed window, as one `INSERT … ON CONFLICT DO UPDATE … RETURNING` per hit.
 */
export function createSqliteCounterStore(db: SqliteDb, clock: Clock): CounterStore {
  let hits = 0;
  const p = sql.placeholder;
  const expired = sql`${rateCounters.expiresAt} <= ${p('now')}`;
  // Prepared once: these run several times per request.
  const hitStatement = db
    .insert(rateCounters)
    .values({ key: p('key'), points: p('cost'), expiresAt: p('expiresAt') })
    .onConflictDoUpdate({
      target: rateCounters.key,
      set: {
        // Both expressions read the row as it was before this statement (SQL UPDATE semantics).
        points: sql`CASE WHEN ${expired} THEN excluded.points ELSE ${rateCounters.points} + excluded.points END`,
        expiresAt: sql`CASE WHEN ${expired} THEN excluded.expires_at ELSE ${rateCounters.expiresAt} END`,
      },
    })
    .returning({ points: rateCounters.points, expiresAt: rateCounters.expiresAt })
    .prepare();
  const peekStatement = db
    .select({ points: rateCounters.points, expiresAt: rateCounters.expiresAt })
    .from(rateCounters)
    .where(and(eq(rateCounters.key, p('key')), gt(rateCounters.expiresAt, p('now'))))
    .prepare();
  const holdStatement = db
    .insert(rateCounters)
    .values({ key: p('key'), points: 1, expiresAt: p('expiresAt') })
    .onConflictDoUpdate({
      target: rateCounters.key,
      set: {
        points: sql`CASE WHEN ${rateCounters.expiresAt} <= ${p('now')} THEN 1 ELSE max(${rateCounters.points}, 1) END`,
        expiresAt: sql`max(${rateCounters.expiresAt}, excluded.expires_at)`,
      },
    })
    .prepare();
  return {
    hit(key, windowMs, cost = 1) {
      const now = clock.now();
      // Ended windows are dead rows: every 1000th hit deletes up to 1000 of them (bounded work per request).
      if (++hits % PURGE_EVERY === 0) {
        db.run(sql`DELETE FROM rate_counters WHERE key IN (SELECT key FROM rate_counters WHERE expires_at <= ${now} LIMIT ${PURGE_EVERY})`);
      }
      const row = hitStatement.get({ key, cost, expiresAt: now + windowMs, now });
      return Promise.resolve({ points: row.points, resetInMs: Math.max(0, row.expiresAt - now) });
    },

    peek(key) {
      const now = clock.now();
      const row = peekStatement.get({ key, now });
      return Promise.resolve(row ? { points: row.points, resetInMs: row.expiresAt - now } : { points: 0, resetInMs: 0 });
    },

    hold(key, durationMs) {
      const now = clock.now();
      holdStatement.run({ key, expiresAt: now + durationMs, now });
      return Promise.resolve();
    },

    close: () => Promise.resolve(),
  };
}

const unexpired = (now: number): SQL | undefined => or(isNull(blocklist.expiresAt), gt(blocklist.expiresAt, now));
const asEntry = (row: typeof blocklist.$inferSelect): BlockEntry => row as BlockEntry;

/** An E.164 number has at most 16 characters: '+' and 15 digits. */
const MAX_NUMBER_LENGTH = 16;

/** Every prefix of a number, shortest first, padded to MAX_NUMBER_LENGTH with the whole number. */
function prefixesOf(number: string): Record<string, string> {
  return Object.fromEntries(Array.from({ length: MAX_NUMBER_LENGTH }, (_, i) => [`prefix${i}`, number.slice(0, i + 1)]));
}

export function createSqliteBlocklistStore(db: SqliteDb): BlocklistStore {
  const p = sql.placeholder;
  // Every entry that could apply to one start, prepared once: decisions read the table each time,
  // so a change made by any instance applies to the next request everywhere. Prefix entries are
  // looked up by the number's own prefixes (index equality), so expired or unrelated prefix blocks
  // piling up over the years are never read.
  const prefixPlaceholders = Array.from({ length: MAX_NUMBER_LENGTH }, (_, i) => p(`prefix${i}`));
  const candidatesStatement = db
    .select()
    .from(blocklist)
    .where(
      and(
        or(isNull(blocklist.expiresAt), gt(blocklist.expiresAt, p('now'))),
        or(
          and(eq(blocklist.kind, 'number'), eq(blocklist.value, p('number'))),
          and(eq(blocklist.kind, 'prefix'), inArray(blocklist.value, prefixPlaceholders)),
          and(eq(blocklist.kind, 'country'), eq(blocklist.value, p('country'))),
          and(eq(blocklist.kind, 'ip'), eq(blocklist.value, p('ip'))),
          eq(blocklist.kind, 'cidr'),
        ),
      ),
    )
    .prepare();
  return {
    insert(entry) {
      db.insert(blocklist).values(entry).run();
      return Promise.resolve();
    },

    insertAutoPrefixBlock(entry, now) {
      const result = db.run(sql`
        INSERT INTO blocklist (id, kind, value, action, reason, created_by, created_at, expires_at)
        SELECT ${entry.id}, 'prefix', ${entry.value}, 'block', ${entry.reason}, ${entry.createdBy}, ${entry.createdAt}, ${entry.expiresAt}
        WHERE NOT EXISTS (
          SELECT 1 FROM blocklist
          WHERE kind = 'prefix' AND value = ${entry.value} AND action = 'block' AND (expires_at IS NULL OR expires_at > ${now})
        )`);
      return Promise.resolve(result.changes === 1 ? entry : undefined);
    },

    list(now, filter) {
      const rows = db
        .select()
        .from(blocklist)
        .where(
          and(
            unexpired(now),
            filter.kind ? eq(blocklist.kind, filter.kind) : undefined,
            filter.action ? eq(blocklist.action, filter.action) : undefined,
          ),
        )
        .orderBy(asc(blocklist.createdAt), asc(blocklist.id))
        .all();
      return Promise.resolve(rows.map(asEntry));
    },

    candidates(subject, now) {
      const rows = candidatesStatement.all({ number: subject.number, ...prefixesOf(subject.number), country: subject.country ?? null, ip: subject.ip ?? null, now });
      return Promise.resolve(rows.map(asEntry));
    },

    remove(id) {
      const row = db.delete(blocklist).where(eq(blocklist.id, id)).returning({ id: blocklist.id }).get();
      return Promise.resolve(row !== undefined);
    },
  };
}

export function createSqliteAppLimitsStore(db: SqliteDb): AppLimitsStore {
  const byApp = db.select().from(appLimits).where(eq(appLimits.app, sql.placeholder('app'))).prepare();
  return {
    get(app) {
      const row = byApp.get({ app });
      return Promise.resolve(row ? { app: row.app, overrides: JSON.parse(row.overrides) as AppLimitOverrides, updatedAt: row.updatedAt } : undefined);
    },
    put(app, overrides, now) {
      const json = JSON.stringify(overrides);
      db.insert(appLimits)
        .values({ app, overrides: json, updatedAt: now })
        .onConflictDoUpdate({ target: appLimits.app, set: { overrides: json, updatedAt: now } })
        .run();
      return Promise.resolve({ app, overrides, updatedAt: now });
    },
  };
}
