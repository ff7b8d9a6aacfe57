import { eq, sql } from 'drizzle-orm';
import type { Statement } from 'better-sqlite3';
import type {
  AppLimitsStore,
  BlocklistStore,
  CounterHit,
  CounterRecord,
  CounterSnapshot,
  CounterState,
  CounterStore,
} from '../../limits/limits.store.js';
import type { Clock } from '../../platform/clock.js';
import * as rules from '../shared/limits.js';
import type { SqliteDb } from './db.js';
import { sqliteDialect } from './dialect.js';
import { answer } from './prepared.js';
import { appLimits, blocklist } from './schema.js';

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
  const purgeDue = rules.purgeSchedule();
  const raw = db.$client;
  const UPSERT = `ON CONFLICT (key) DO UPDATE SET
    points = CASE WHEN rate_counters.expires_at <= @now THEN excluded.points ELSE rate_counters.points + excluded.points END,
    expires_at = CASE WHEN rate_counters.expires_at <= @now THEN excluded.expires_at ELSE rate_counters.expires_at END
    RETURNING key, points, expires_at`;
  // Both CASE expressions read the row as it was before the statement (SQL UPDATE semantics).
  const hitStatement = raw.prepare(
    `INSERT INTO rate_counters (key, points, expires_at) VALUES (@key, @cost, @expiresAt) ${UPSERT}`,
  );
  const peekStatement = raw.prepare(
    'SELECT key, points, expires_at FROM rate_counters WHERE key = @key AND expires_at > @now',
  );
  const holdStatement = raw.prepare(
    `INSERT INTO rate_counters (key, points, expires_at) VALUES (@key, 1, @expiresAt)
     ON CONFLICT (key) DO UPDATE SET
       points = CASE WHEN rate_counters.expires_at <= @now THEN 1 ELSE max(rate_counters.points, 1) END,
       expires_at = max(rate_counters.expires_at, excluded.expires_at)`,
  );
  const purgeStatement = raw.prepare(
    'DELETE FROM rate_counters WHERE key IN (SELECT key FROM rate_counters WHERE expires_at <= @now LIMIT @limit)',
  );
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
    (size) =>
      `INSERT INTO rate_counters (key, points, expires_at) VALUES ${Array.from({ length: size }, (_, i) => `(@k${i}, @c${i}, @e${i})`).join(', ')} ${UPSERT}`,
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
    (size) =>
      `SELECT key, points, expires_at FROM rate_counters WHERE key IN (${Array.from({ length: size }, (_, i) => `@k${i}`).join(', ')}) AND expires_at > @now`,
  );

  function counted(count: number, now: number): void {
    if (purgeDue(count)) purgeStatement.run({ now, limit: rules.PURGE_EVERY });
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
    const rows = hitManyStatement(batch.length).all(params) as rules.CounterRow[];
    return rules.inOrder(
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
      return rules.counterState(
        hitStatement.get({ key, cost, expiresAt: now + windowMs, now }) as rules.CounterRow,
        now,
      );
    });
  }

  return {
    hit,

    hitMany: (batch) =>
      answer(() => {
        if (batch.length === 0) return [];
        rules.assertDistinct(batch);
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
        rules.assertDistinct(batch);
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
        const row = peekStatement.get({ key, now }) as rules.CounterRow | undefined;
        return row ? rules.counterState(row, now) : { points: 0, resetInMs: 0 };
      }),

    peekMany: (keys) =>
      answer(() => {
        if (keys.length === 0) return [];
        const now = clock.now();
        const params: Record<string, string | number> = { now };
        keys.forEach((key, i) => (params[`k${i}`] = key));
        const rows = peekManyStatement(keys.length).all(params) as rules.CounterRow[];
        return rules.inOrder(keys, rows, now, false);
      }),

    hold: (key, durationMs) =>
      answer(() => {
        const now = clock.now();
        holdStatement.run({ key, expiresAt: now + durationMs, now });
      }),

    close: () => Promise.resolve(),
  };
}

/**
 * The counter table as a snapshot of the counters kept in memory (storage/memory/counters.ts): read
 * once at start, written behind as absolute values (one instance owns a SQLite database's counters).
 */
export function createSqliteCounterSnapshot(db: SqliteDb): CounterSnapshot {
  const raw = db.$client;
  const loadStatement = raw.prepare(
    'SELECT key, points, expires_at AS expiresAt FROM rate_counters WHERE expires_at > ?',
  );
  // Rows per upsert statement: a second's counts of a busy instance in a few statements.
  const CHUNK = 100;
  const upsert = (size: number): Statement =>
    raw.prepare(
      `INSERT INTO rate_counters (key, points, expires_at) VALUES ${Array.from({ length: size }, () => '(?, ?, ?)').join(', ')}
       ON CONFLICT (key) DO UPDATE SET points = excluded.points, expires_at = excluded.expires_at`,
    );
  const statements = new Map<number, Statement>();
  const sizedUpsert = (size: number): Statement => {
    let statement = statements.get(size);
    if (!statement) statements.set(size, (statement = upsert(size)));
    return statement;
  };
  const purgeStatement = raw.prepare(
    'DELETE FROM rate_counters WHERE key IN (SELECT key FROM rate_counters WHERE expires_at <= @now LIMIT @limit)',
  );
  const save = raw.transaction((records: readonly CounterRecord[], now: number) => {
    for (let i = 0; i < records.length; i += CHUNK) {
      const chunk = records.slice(i, i + CHUNK);
      sizedUpsert(chunk.length).run(chunk.flatMap((r) => [r.key, r.points, r.expiresAt]));
    }
    purgeStatement.run({ now, limit: rules.PURGE_EVERY });
  });
  return {
    load: (now) => loadStatement.all(now) as CounterRecord[],
    save: (records, now) => save(records, now),
  };
}

export function createSqliteBlocklistStore(db: SqliteDb): BlocklistStore {
  const b = blocklist;
  // Every entry that could apply to one start (shared/limits.ts), prepared once.
  const candidatesStatement = db.select().from(b).where(rules.candidatesCondition(b)).prepare();
  return {
    insert(entry) {
      db.insert(b).values(entry).run();
      return Promise.resolve();
    },

    insertAutoPrefixBlock(entry, now) {
      // SQLite's single writer serialises concurrent callers: the statement alone decides.
      const result = db.run(rules.autoPrefixInsert(entry, now, sqliteDialect));
      return Promise.resolve(result.changes === 1 ? entry : undefined);
    },

    list(now, filter) {
      return Promise.resolve(
        db
          .select()
          .from(b)
          .where(rules.listed(b, now, filter))
          .orderBy(...rules.byCreation(b))
          .all()
          .map(rules.asBlockEntry),
      );
    },

    candidates(subject, now) {
      return Promise.resolve(
        candidatesStatement.all(rules.candidateParams(subject, now)).map(rules.asBlockEntry),
      );
    },

    remove(id) {
      return Promise.resolve(
        db.delete(b).where(eq(b.id, id)).returning({ id: b.id }).get() !== undefined,
      );
    },
  };
}

export function createSqliteAppLimitsStore(db: SqliteDb): AppLimitsStore {
  const byApp = db
    .select()
    .from(appLimits)
    .where(eq(appLimits.app, sql.placeholder('app')))
    .prepare();
  return {
    get(app) {
      const row = byApp.get({ app });
      return Promise.resolve(row && rules.asAppLimits(row));
    },
    put(app, overrides, now) {
      const row = rules.appLimitsRow(app, overrides, now);
      db.insert(appLimits)
        .values(row)
        .onConflictDoUpdate({
          target: appLimits.app,
          set: { overrides: row.overrides, updatedAt: now },
        })
        .run();
      return Promise.resolve({ app, overrides, updatedAt: now });
    },
  };
}
