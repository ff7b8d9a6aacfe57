import { and, asc, eq, gt, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { Statement } from 'better-sqlite3';
import type { AppLimitOverrides, AppLimitsStore, BlockEntry, BlocklistStore, CounterHit, CounterState, CounterStore } from '../../limits/limits.store.js';
import { candidateParams, candidatesCondition } from '../blocklist-candidates.js';
import { assertDistinct, inOrder, type CounterRow } from '../counter-batch.js';
import type { Clock } from '../../platform/clock.js';
import type { SqliteDb } from './db.js';
import { answer } from './prepared.js';
import { appLimits, blocklist } from './schema.js';

const PURGE_EVERY = 1000;

/**
 * Rate counters in our own table rather than rate-limiter-flexible's RateLimiterSQLite: that store
 * reads Date.now() itself (our Clock could not drive it, so windows could not be tested
 * deterministically) and creates its table outside the migrations. The semantics are the
 * library's fixed window, as one `INSERT … ON CONFLICT DO UPDATE … RETURNING` per hit.
 *
 * Raw better-sqlite3 statements, prepared once: a start runs about ten of these, and drizzle's
 * query layer cost more than the statements themselves (profiled). Under group commit they all
 * run inside the turn's transaction, so no other process sees a batch half done.
 */
export function createSqliteCounterStore(db: SqliteDb, clock: Clock): CounterStore {
  let hits = 0;
  const raw = db.$client;
  const UPSERT = `ON CONFLICT (key) DO UPDATE SET
    points = CASE WHEN rate_counters.expires_at <= @now THEN excluded.points ELSE rate_counters.points + excluded.points END,
    expires_at = CASE WHEN rate_counters.expires_at <= @now THEN excluded.expires_at ELSE rate_counters.expires_at END
    RETURNING key, points, expires_at`;
  // Both CASE expressions read the row as it was before the statement (SQL UPDATE semantics).
  const hitStatement = raw.prepare(`INSERT INTO rate_counters (key, points, expires_at) VALUES (@key, @cost, @expiresAt) ${UPSERT}`);
  const peekStatement = raw.prepare('SELECT key, points, expires_at FROM rate_counters WHERE key = @key AND expires_at > @now');
  const holdStatement = raw.prepare(
    `INSERT INTO rate_counters (key, points, expires_at) VALUES (@key, 1, @expiresAt)
     ON CONFLICT (key) DO UPDATE SET
       points = CASE WHEN rate_counters.expires_at <= @now THEN 1 ELSE max(rate_counters.points, 1) END,
       expires_at = max(rate_counters.expires_at, excluded.expires_at)`,
  );
  const purgeStatement = raw.prepare('DELETE FROM rate_counters WHERE key IN (SELECT key FROM rate_counters WHERE expires_at <= @now LIMIT @limit)');
  // Batches: one multi-row upsert (or one IN lookup) per batch size, prepared on first use.
  const sized = (build: (size: number) => string): ((size: number) => Statement) => {
    const statements = new Map<number, Statement>();
    return (size) => {
      let statement = statements.get(size);
      if (!statement) statements.set(size, (statement = raw.prepare(build(size))));
      return statement;
    };
  };
  const hitManyStatement = sized(
    (size) => `INSERT INTO rate_counters (key, points, expires_at) VALUES ${Array.from({ length: size }, (_, i) => `(@k${i}, @c${i}, @e${i})`).join(', ')} ${UPSERT}`,
  );
  // Takes hits back: each row's points as they were before the hit. A row the hit created, or a
  // window it restarted, is left with 0 points until its window ends and the purge takes it: to
  // every reader the same as no row or an ended window (0 points, nothing over any limit).
  const undoManyStatement = sized((size) => {
    const pairs = Array.from({ length: size }, (_, i) => `(@k${i}, @c${i})`).join(', ');
    return `WITH undo (key, cost) AS (VALUES ${pairs})
      UPDATE rate_counters SET points = rate_counters.points - undo.cost FROM undo WHERE rate_counters.key = undo.key`;
  });
  const peekManyStatement = sized(
    (size) => `SELECT key, points, expires_at FROM rate_counters WHERE key IN (${Array.from({ length: size }, (_, i) => `@k${i}`).join(', ')}) AND expires_at > @now`,
  );

  /** Ended windows are dead rows: every 1000th hit deletes up to 1000 of them (bounded work per request). */
  function counted(count: number, now: number): void {
    const before = hits;
    hits += count;
    if (Math.floor(hits / PURGE_EVERY) !== Math.floor(before / PURGE_EVERY)) purgeStatement.run({ now, limit: PURGE_EVERY });
  }

  /** Every hit of a batch of distinct keys, in one multi-row upsert; totals in the order of the batch. */
  function applyHits(batch: readonly CounterHit[], now: number): CounterState[] {
    counted(batch.length, now);
    const params: Record<string, string | number> = { now };
    batch.forEach((h, i) => {
      params[`k${i}`] = h.key;
      params[`c${i}`] = h.cost ?? 1;
      params[`e${i}`] = now + h.windowMs;
    });
    const rows = hitManyStatement(batch.length).all(params) as CounterRow[];
    return inOrder(
      batch.map((h) => h.key),
      rows,
      now,
      true,
    );
  }

  function hit(key: string, windowMs: number, cost = 1): Promise<CounterState> {
    return answer(() => {
      const now = clock.now();
      counted(1, now);
      const row = hitStatement.get({ key, cost, expiresAt: now + windowMs, now }) as CounterRow;
      return { points: Number(row.points), resetInMs: Math.max(0, Number(row.expires_at) - now) };
    });
  }

  return {
    hit,

    hitMany: (batch) =>
      answer(() => {
        if (batch.length === 0) return [];
        assertDistinct(batch);
        return applyHits(batch, clock.now());
      }),

    // One multi-row upsert for the whole batch, then, only when a hit went over its limit, the hits
    // after it taken back (undoManyStatement). Both run in one synchronous call inside the turn's
    // write transaction (commit-group.ts): no other connection can see or interleave with the
    // state between them, so the result is exactly that of hitting one by one and stopping, in one
    // statement when nothing is refused (nearly always).
    hitUntil: (batch) =>
      answer(() => {
        if (batch.length === 0) return [];
        assertDistinct(batch);
        const now = clock.now();
        const totals = applyHits(batch, now);
        const over = batch.findIndex((h, i) => (totals[i] as CounterState).points > h.limit);
        if (over < 0 || over === batch.length - 1) return totals;
        const undone = batch.slice(over + 1);
        const params: Record<string, string | number> = { now };
        undone.forEach((h, i) => {
          params[`k${i}`] = h.key;
          params[`c${i}`] = h.cost ?? 1;
        });
        undoManyStatement(undone.length).run(params);
        return totals.slice(0, over + 1);
      }),

    peek: (key) =>
      answer(() => {
        const now = clock.now();
        const row = peekStatement.get({ key, now }) as CounterRow | undefined;
        return row ? { points: Number(row.points), resetInMs: Number(row.expires_at) - now } : { points: 0, resetInMs: 0 };
      }),

    peekMany: (keys) =>
      answer(() => {
        if (keys.length === 0) return [];
        const now = clock.now();
        const params: Record<string, string | number> = { now };
        keys.forEach((key, i) => (params[`k${i}`] = key));
        const rows = peekManyStatement(keys.length).all(params) as CounterRow[];
        return inOrder(keys, rows, now, false);
      }),

    hold: (key, durationMs) =>
      answer(() => {
        const now = clock.now();
        holdStatement.run({ key, expiresAt: now + durationMs, now });
      }),

    close: () => Promise.resolve(),
  };
}

const unexpired = (now: number): SQL | undefined => or(isNull(blocklist.expiresAt), gt(blocklist.expiresAt, now));
const asEntry = (row: typeof blocklist.$inferSelect): BlockEntry => row as BlockEntry;

export function createSqliteBlocklistStore(db: SqliteDb): BlocklistStore {
  // Every entry that could apply to one start (storage/blocklist-candidates.ts), prepared once.
  const candidatesStatement = db.select().from(blocklist).where(candidatesCondition(blocklist)).prepare();
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
      const rows = candidatesStatement.all(candidateParams(subject, now));
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
