import { asc, count, eq, sql } from 'drizzle-orm';
import type { FactorStore } from '../../factors/factors.store.js';
import * as rules from '../shared/factors.js';
import type { SqliteDb } from './db.js';
import { factorRecoveryCodes, factors } from './schema.js';

/**
 * SQLite implementation of the rules in shared/factors.ts. better-sqlite3 is synchronous: each
 * guarded statement is atomic by itself, and the few multi-statement changes run as synchronous
 * IMMEDIATE transactions (the write lock is taken before the first read, so another process cannot
 * interleave).
 */
export function createSqliteFactorStore(db: SqliteDb): FactorStore {
  const f = factors;
  const codes = factorRecoveryCodes;
  const immediate = { behavior: 'immediate' } as const;

  return {
    createIfBelowLimit(factor, maxPerUser, staleBefore) {
      const inserted = db.transaction((tx) => {
        tx.delete(f)
          .where(rules.staleUnverified(f, factor.app, factor.user, staleBefore))
          .run();
        const existing = tx
          .select({ n: count() })
          .from(f)
          .where(rules.ofUser(f, factor.app, factor.user))
          .get();
        if ((existing?.n ?? 0) >= maxPerUser) return false;
        tx.insert(f).values(factor).run();
        return true;
      }, immediate);
      return Promise.resolve(inserted);
    },

    findById(app, id) {
      const row = db
        .select()
        .from(f)
        .where(rules.ofApp(f, id, app))
        .get();
      return Promise.resolve(row && rules.asFactor(row));
    },

    listByUser(app, user) {
      return Promise.resolve(
        db
          .select()
          .from(f)
          .where(rules.ofUser(f, app, user))
          .orderBy(asc(f.createdAt))
          .all()
          .map(rules.asFactor),
      );
    },

    reserveAttempt(id, now) {
      const taken = db
        .update(f)
        .set(rules.attemptSet(f))
        .where(rules.attemptAllowed(f, id, now));
      return Promise.resolve(taken.returning({ attempts: f.attempts }).get()?.attempts);
    },

    lockIfExhausted(id, until) {
      db.update(f).set(rules.lockedSet(until)).where(rules.exhausted(f, id)).run();
      return Promise.resolve();
    },

    activate(id, step, now, recoveryCodeHashes) {
      const activated = db.transaction((tx) => {
        const row = tx
          .update(f)
          .set(rules.activatedSet(step, now))
          .where(rules.activatable(f, id, step))
          .returning({ id: f.id })
          .get();
        if (!row) return false;
        tx.insert(codes)
          .values(rules.recoveryCodeRows(id, recoveryCodeHashes, now))
          .run();
        return true;
      }, immediate);
      return Promise.resolve(activated);
    },

    acceptStep(id, step, now) {
      const accepted = db
        .update(f)
        .set(rules.acceptedSet(step, now))
        .where(rules.stepAcceptable(f, id, step));
      return Promise.resolve(accepted.returning({ id: f.id }).get() !== undefined);
    },

    useRecoveryCode(factorId, codeHash, now) {
      const used = db.transaction((tx) => {
        const row = tx
          .update(codes)
          .set({ usedAt: now })
          .where(rules.unusedCode(codes, factorId, codeHash))
          .returning({ id: codes.id })
          .get();
        if (!row) return false;
        tx.update(f).set(rules.recoveredSet(now)).where(eq(f.id, factorId)).run();
        return true;
      }, immediate);
      return Promise.resolve(used);
    },

    countUnusedRecoveryCodes(factorId) {
      return Promise.resolve(
        db.select({ n: count() }).from(codes).where(rules.unusedCodes(codes, factorId)).get()?.n ??
          0,
      );
    },

    replaceRecoveryCodes(factorId, codeHashes, now) {
      const replaced = db.transaction((tx) => {
        if (!tx.select({ id: f.id }).from(f).where(rules.verifiedById(f, factorId)).get())
          return false;
        tx.delete(codes).where(eq(codes.factorId, factorId)).run();
        tx.insert(codes)
          .values(rules.recoveryCodeRows(factorId, codeHashes, now))
          .run();
        return true;
      }, immediate);
      return Promise.resolve(replaced);
    },

    delete(app, id) {
      const removed = db.transaction((tx) => {
        if (
          !tx
            .delete(f)
            .where(rules.ofApp(f, id, app))
            .returning({ id: f.id })
            .get()
        )
          return false;
        tx.delete(codes).where(eq(codes.factorId, id)).run();
        return true;
      }, immediate);
      return Promise.resolve(removed);
    },

    listSealedNotUnder(kid, limit) {
      const prefix = rules.sealedPrefix(kid);
      const rows = db
        .select({ id: f.id, secretSealed: f.secretSealed })
        .from(f)
        .where(sql`substr(${f.secretSealed}, 1, ${prefix.length}) <> ${prefix}`)
        .limit(limit)
        .all();
      return Promise.resolve(rows);
    },

    replaceSealed(id, previous, next) {
      const replaced = db
        .update(f)
        .set({ secretSealed: next })
        .where(rules.sealedAs(f, id, previous));
      return Promise.resolve(replaced.returning({ id: f.id }).get() !== undefined);
    },
  };
}
