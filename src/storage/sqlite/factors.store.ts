import { and, asc, count, eq, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { FactorRecord, FactorStore } from '../../factors/factors.store.js';
import { newId } from '../../platform/ids.js';
import type { SqliteDb } from './db.js';
import { factorRecoveryCodes, factors } from './schema.js';

const asFactor = (row: typeof factors.$inferSelect): FactorRecord => row as FactorRecord;

/**
 * SQLite implementation. better-sqlite3 is synchronous: each guarded statement is atomic by itself,
 * and the few multi-statement changes run as synchronous IMMEDIATE transactions (the write lock is
 * taken before the first read, so another process cannot interleave).
 */
export function createSqliteFactorStore(db: SqliteDb): FactorStore {
  return {
    createIfBelowLimit(factor, maxPerUser, staleBefore) {
      const inserted = db.transaction(
        (tx) => {
          tx.delete(factors)
            .where(and(eq(factors.app, factor.app), eq(factors.user, factor.user), eq(factors.status, 'unverified'), lt(factors.createdAt, staleBefore)))
            .run();
          const existing = tx.select({ n: count() }).from(factors).where(and(eq(factors.app, factor.app), eq(factors.user, factor.user))).get();
          if ((existing?.n ?? 0) >= maxPerUser) return false;
          tx.insert(factors).values(factor).run();
          return true;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(inserted);
    },

    findById(app, id) {
      const row = db.select().from(factors).where(and(eq(factors.id, id), eq(factors.app, app))).get();
      return Promise.resolve(row ? asFactor(row) : undefined);
    },

    listByUser(app, user) {
      const rows = db.select().from(factors).where(and(eq(factors.app, app), eq(factors.user, user))).orderBy(asc(factors.createdAt)).all();
      return Promise.resolve(rows.map(asFactor));
    },

    reserveAttempt(id, now) {
      const row = db
        .update(factors)
        .set({ attempts: sql`${factors.attempts} + 1` })
        .where(and(eq(factors.id, id), or(isNull(factors.lockedUntil), lte(factors.lockedUntil, now)), lt(factors.attempts, factors.maxAttempts)))
        .returning({ attempts: factors.attempts })
        .get();
      return Promise.resolve(row?.attempts);
    },

    lockIfExhausted(id, until) {
      db.update(factors)
        .set({ lockedUntil: until, attempts: 0 })
        .where(and(eq(factors.id, id), sql`${factors.attempts} >= ${factors.maxAttempts}`))
        .run();
      return Promise.resolve();
    },

    activate(id, step, now, recoveryCodeHashes) {
      const activated = db.transaction(
        (tx) => {
          const row = tx
            .update(factors)
            .set({ status: 'verified', lastStep: step, attempts: 0, verifiedAt: now, lastUsedAt: now })
            .where(and(eq(factors.id, id), eq(factors.status, 'unverified'), or(isNull(factors.lastStep), lt(factors.lastStep, step))))
            .returning({ id: factors.id })
            .get();
          if (!row) return false;
          tx.insert(factorRecoveryCodes)
            .values(recoveryCodeHashes.map((codeHash) => ({ id: newId('rcv', now), factorId: id, codeHash, createdAt: now, usedAt: null })))
            .run();
          return true;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(activated);
    },

    acceptStep(id, step, now) {
      const row = db
        .update(factors)
        .set({ lastStep: step, attempts: 0, lastUsedAt: now })
        .where(and(eq(factors.id, id), eq(factors.status, 'verified'), or(isNull(factors.lastStep), lt(factors.lastStep, step))))
        .returning({ id: factors.id })
        .get();
      return Promise.resolve(row !== undefined);
    },

    useRecoveryCode(factorId, codeHash, now) {
      const used = db.transaction(
        (tx) => {
          const row = tx
            .update(factorRecoveryCodes)
            .set({ usedAt: now })
            .where(and(eq(factorRecoveryCodes.factorId, factorId), eq(factorRecoveryCodes.codeHash, codeHash), isNull(factorRecoveryCodes.usedAt)))
            .returning({ id: factorRecoveryCodes.id })
            .get();
          if (!row) return false;
          tx.update(factors).set({ attempts: 0, lastUsedAt: now }).where(eq(factors.id, factorId)).run();
          return true;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(used);
    },

    countUnusedRecoveryCodes(factorId) {
      const row = db
        .select({ n: count() })
        .from(factorRecoveryCodes)
        .where(and(eq(factorRecoveryCodes.factorId, factorId), isNull(factorRecoveryCodes.usedAt)))
        .get();
      return Promise.resolve(row?.n ?? 0);
    },

    replaceRecoveryCodes(factorId, codeHashes, now) {
      const replaced = db.transaction(
        (tx) => {
          const factor = tx.select({ id: factors.id }).from(factors).where(and(eq(factors.id, factorId), eq(factors.status, 'verified'))).get();
          if (!factor) return false;
          tx.delete(factorRecoveryCodes).where(eq(factorRecoveryCodes.factorId, factorId)).run();
          tx.insert(factorRecoveryCodes)
            .values(codeHashes.map((codeHash) => ({ id: newId('rcv', now), factorId, codeHash, createdAt: now, usedAt: null })))
            .run();
          return true;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(replaced);
    },

    delete(app, id) {
      const removed = db.transaction(
        (tx) => {
          const row = tx.delete(factors).where(and(eq(factors.id, id), eq(factors.app, app))).returning({ id: factors.id }).get();
          if (!row) return false;
          tx.delete(factorRecoveryCodes).where(eq(factorRecoveryCodes.factorId, id)).run();
          return true;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(removed);
    },

    listSealedNotUnder(kid, limit) {
      const rows = db
        .select({ id: factors.id, secretSealed: factors.secretSealed })
        .from(factors)
        // A prefix comparison, not LIKE: key ids may contain `_`, a LIKE wildcard.
        .where(sql`substr(${factors.secretSealed}, 1, ${`v1.${kid}.`.length}) <> ${`v1.${kid}.`}`)
        .limit(limit)
        .all();
      return Promise.resolve(rows);
    },

    replaceSealed(id, previous, next) {
      const row = db
        .update(factors)
        .set({ secretSealed: next })
        .where(and(eq(factors.id, id), eq(factors.secretSealed, previous)))
        .returning({ id: factors.id })
        .get();
      return Promise.resolve(row !== undefined);
    },
  };
}
