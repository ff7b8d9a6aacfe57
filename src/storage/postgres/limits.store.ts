import { and, eq, gt, sql } from 'drizzle-orm';
import type {
  AppLimitsStore,
  BlocklistStore,
  CounterStore,
  LimitedHit,
} from '../../limits/limits.store.js';
import type { Clock } from '../../platform/clock.js';
import * as rules from '../shared/limits.js';
import type { PostgresDb } from './db.js';
import { postgresDialect } from './dialect.js';
import { appLimits, blocklist, rateCounters } from './schema.js';

/** The fixed-window upsert of the batch statements, `$1` being now (both CASEs read the row as it was before the statement). */
const UPSERT = `ON CONFLICT (key) DO UPDATE SET
  points = CASE WHEN c.expires_at <= $1::bigint THEN excluded.points ELSE c.points + excluded.points END,
  expires_at = CASE WHEN c.expires_at <= $1::bigint THEN excluded.expires_at ELSE c.expires_at END
  RETURNING key, points, expires_at`;

/**
 * Fixed-window counters in PostgreSQL (used unless REDIS_URL is set), with the semantics of
 * storage/sqlite/limits.store.ts. Each hit is one `INSERT … ON CONFLICT DO UPDATE … RETURNING`:
 * PostgreSQL locks the row for the update, so concurrent hits on one key (from any instance)
 * are applied one after the other and each receives a distinct total.
 */
export function createPostgresCounterStore(db: PostgresDb, clock: Clock): CounterStore {
  const purgeDue = rules.purgeSchedule();
  return {
    async hit(key, windowMs, cost = 1) {
      const now = clock.now();
      if (purgeDue(1)) {
        // Ended windows are dead rows: delete up to 1000 of them. SKIP LOCKED: a row a hit holds is
        // left for next time, and two instances purging at once never wait on (or deadlock with) each other.
        await db
          .execute(
            sql`DELETE FROM rate_counters WHERE key IN (SELECT key FROM rate_counters WHERE expires_at <= ${now} LIMIT ${rules.PURGE_EVERY} FOR UPDATE SKIP LOCKED)`,
          )
          .catch(() => undefined);
      }
      const expired = sql`${rateCounters.expiresAt} <= ${now}`;
      const [row] = await db
        .insert(rateCounters)
        .values({ key, points: cost, expiresAt: now + windowMs })
        .onConflictDoUpdate({
          target: rateCounters.key,
          set: {
            // Both expressions read the row as it was before this statement (SQL UPDATE semantics).
            points: sql`CASE WHEN ${expired} THEN excluded.points ELSE ${rateCounters.points} + excluded.points END`,
            expiresAt: sql`CASE WHEN ${expired} THEN excluded.expires_at ELSE ${rateCounters.expiresAt} END`,
          },
        })
        .returning({ points: rateCounters.points, expiresAt: rateCounters.expiresAt });
      return { points: row!.points, resetInMs: Math.max(0, row!.expiresAt - now) };
    },

    async hitMany(batch) {
      if (batch.length === 0) return [];
      rules.assertDistinct(batch);
      const now = clock.now();
      // Rows are locked in key order, the same in every batch, so two batches sharing keys wait
      // for each other instead of deadlocking.
      const sorted = [...batch].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      const { rows } = await db.$client.query<rules.CounterRow>(
        `INSERT INTO rate_counters AS c (key, points, expires_at) SELECT * FROM unnest($2::text[], $3::integer[], $4::bigint[]) ${UPSERT}`,
        [
          now,
          sorted.map((h) => h.key),
          sorted.map((h) => h.cost ?? 1),
          sorted.map((h) => now + h.windowMs),
        ],
      );
      return rules.inOrder(
        batch.map((h) => h.key),
        rows,
        now,
        true,
      );
    },

    async hitUntil(batch) {
      if (batch.length === 0) return [];
      rules.assertDistinct(batch);
      const now = clock.now();
      // One statement: hit i+1 is inserted only if hit i's total (its RETURNING) is within its
      // limit, so the hits stop after the first over its limit, as one by one. Rows are locked
      // in the order given, which is the rules' fixed order, the same in every request.
      const params: unknown[] = [now];
      const steps = batch.map((h, i) => {
        let guard = '';
        if (i > 0) {
          params.push((batch[i - 1] as LimitedHit).limit);
          guard = ` WHERE (SELECT points FROM h${i - 1}) <= $${params.length}::integer`;
        }
        params.push(h.key, h.cost ?? 1, now + h.windowMs);
        const n = params.length;
        return `h${i} AS (INSERT INTO rate_counters AS c (key, points, expires_at) SELECT $${n - 2}::text, $${n - 1}::integer, $${n}::bigint${guard} ${UPSERT})`;
      });
      const select = batch
        .map((_, i) => `SELECT ${i} AS i, key, points, expires_at FROM h${i}`)
        .join(' UNION ALL ');
      const { rows } = await db.$client.query<rules.CounterRow & { i: number }>(
        `WITH ${steps.join(', ')} ${select}`,
        params,
      );
      return rules.inOrder(
        batch.slice(0, rows.length).map((h) => h.key),
        rows,
        now,
        true,
      );
    },

    async peekMany(keys) {
      if (keys.length === 0) return [];
      const now = clock.now();
      const { rows } = await db.$client.query<rules.CounterRow>(
        'SELECT key, points, expires_at FROM rate_counters WHERE key = ANY($1::text[]) AND expires_at > $2',
        [keys, now],
      );
      return rules.inOrder(keys, rows, now, false);
    },

    async peek(key) {
      const now = clock.now();
      const [row] = await db
        .select({ points: rateCounters.points, expiresAt: rateCounters.expiresAt })
        .from(rateCounters)
        .where(and(eq(rateCounters.key, key), gt(rateCounters.expiresAt, now)));
      return row
        ? { points: row.points, resetInMs: row.expiresAt - now }
        : { points: 0, resetInMs: 0 };
    },

    async hold(key, durationMs) {
      const now = clock.now();
      await db
        .insert(rateCounters)
        .values({ key, points: 1, expiresAt: now + durationMs })
        .onConflictDoUpdate({
          target: rateCounters.key,
          set: {
            points: sql`CASE WHEN ${rateCounters.expiresAt} <= ${now} THEN 1 ELSE greatest(${rateCounters.points}, 1) END`,
            expiresAt: sql`greatest(${rateCounters.expiresAt}, excluded.expires_at)`,
          },
        });
    },

    close: () => Promise.resolve(),
  };
}

export function createPostgresBlocklistStore(db: PostgresDb): BlocklistStore {
  const b = blocklist;
  // Every entry that could apply to one start (shared/limits.ts), prepared once (prepared.ts).
  const candidates = db
    .select()
    .from(b)
    .where(rules.candidatesCondition(b))
    .prepare('blocklist_candidates');
  return {
    async insert(entry) {
      await db.insert(b).values(entry);
    },

    insertAutoPrefixBlock(entry, now) {
      // `INSERT … WHERE NOT EXISTS` alone is not enough here: under READ COMMITTED two transactions
      // both see no entry and both insert (SQLite's single writer serialises them; PostgreSQL does
      // not). A transaction-scoped advisory lock on the prefix serialises the check-and-insert.
      return db.transaction(async (tx) => {
        await tx.execute(
          sql`SELECT pg_advisory_xact_lock(hashtextextended(${`blocklist:auto-prefix:${entry.value}`}, 0))`,
        );
        const result = await tx.execute(rules.autoPrefixInsert(entry, now, postgresDialect));
        return result.rowCount === 1 ? entry : undefined;
      });
    },

    async list(now, filter) {
      return (
        await db
          .select()
          .from(b)
          .where(rules.listed(b, now, filter))
          .orderBy(...rules.byCreation(b))
      ).map(rules.asBlockEntry);
    },

    async candidates(subject, now) {
      // The wiring caches this (storage/cache/caches.ts); a change anywhere drops the caches within 1 s.
      return (await candidates.execute(rules.candidateParams(subject, now))).map(
        rules.asBlockEntry,
      );
    },

    async remove(id) {
      return (await db.delete(b).where(eq(b.id, id)).returning({ id: b.id })).length === 1;
    },
  };
}

export function createPostgresAppLimitsStore(db: PostgresDb): AppLimitsStore {
  // Read by every start and check: prepared once (prepared.ts).
  const byApp = db
    .select()
    .from(appLimits)
    .where(eq(appLimits.app, sql.placeholder('app')))
    .prepare('app_limits_by_app');
  return {
    async get(app) {
      const [row] = await byApp.execute({ app });
      return row && rules.asAppLimits(row);
    },
    async put(app, overrides, now) {
      const row = rules.appLimitsRow(app, overrides, now);
      await db
        .insert(appLimits)
        .values(row)
        .onConflictDoUpdate({
          target: appLimits.app,
          set: { overrides: row.overrides, updatedAt: now },
        });
      return { app, overrides, updatedAt: now };
    },
  };
}
