import { and, asc, count, eq, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { FactorRecord, FactorStore } from '../../factors/factors.store.js';
import { newId } from '../../platform/ids.js';
import type { PostgresDb } from './db.js';
import { factorRecoveryCodes, factors } from './schema.js';

const asFactor = (row: typeof factors.$inferSelect): FactorRecord => row as FactorRecord;

/**
 * The first key of the two-key advisory locks this store takes ("fact" in ASCII). The two-key form
 * never collides with a single-key lock, such as the migrations' (storage/postgres/db.ts).
 */
const USER_LOCK_SPACE = 0x66616374;

/**
 * PostgreSQL implementation (see storage/sqlite/factors.store.ts). Single guarded UPDATEs are atomic
 * under READ COMMITTED: a concurrent writer of the same row waits for its lock, then PostgreSQL
 * re-checks the guard against the committed row. The two changes that read before they write take
 * a lock first: the per-user limit an advisory lock on (app, user), the replacement of recovery
 * codes the factor's row.
 */
export function createPostgresFactorStore(db: PostgresDb): FactorStore {
  return {
    async createIfBelowLimit(factor, maxPerUser, staleBefore) {
      return db.transaction(async (tx) => {
        // Without it, N concurrent creations for one user would each count fewer than the limit and
        // all insert (SQLite gets the same from its IMMEDIATE transaction's write lock). Held until
        // COMMIT; two users sharing a key (a hash collision, or 'a/b' + 'c' and 'a' + 'b/c') are
        // only serialised, never given a wrong answer.
        await tx.execute(sql`select pg_advisory_xact_lock(${USER_LOCK_SPACE}, hashtext(${factor.app} || '/' || ${factor.user}))`);
        await tx
          .delete(factors)
          .where(and(eq(factors.app, factor.app), eq(factors.user, factor.user), eq(factors.status, 'unverified'), lt(factors.createdAt, staleBefore)));
        const [existing] = await tx.select({ n: count() }).from(factors).where(and(eq(factors.app, factor.app), eq(factors.user, factor.user)));
        if ((existing?.n ?? 0) >= maxPerUser) return false;
        await tx.insert(factors).values(factor);
        return true;
      });
    },

    async findById(app, id) {
      const [row] = await db.select().from(factors).where(and(eq(factors.id, id), eq(factors.app, app)));
      return row ? asFactor(row) : undefined;
    },

    async listByUser(app, user) {
      const rows = await db.select().from(factors).where(and(eq(factors.app, app), eq(factors.user, user))).orderBy(asc(factors.createdAt));
      return rows.map(asFactor);
    },

    async reserveAttempt(id, now) {
      const [row] = await db
        .update(factors)
        .set({ attempts: sql`${factors.attempts} + 1` })
        .where(and(eq(factors.id, id), or(isNull(factors.lockedUntil), lte(factors.lockedUntil, now)), lt(factors.attempts, factors.maxAttempts)))
        .returning({ attempts: factors.attempts });
      return row?.attempts;
    },

    async lockIfExhausted(id, until) {
      await db
        .update(factors)
        .set({ lockedUntil: until, attempts: 0 })
        .where(and(eq(factors.id, id), sql`${factors.attempts} >= ${factors.maxAttempts}`));
    },

    async activate(id, step, now, recoveryCodeHashes) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(factors)
          .set({ status: 'verified', lastStep: step, attempts: 0, verifiedAt: now, lastUsedAt: now })
          .where(and(eq(factors.id, id), eq(factors.status, 'unverified'), or(isNull(factors.lastStep), lt(factors.lastStep, step))))
          .returning({ id: factors.id });
        if (!row) return false;
        if (recoveryCodeHashes.length > 0) {
          await tx.insert(factorRecoveryCodes).values(recoveryCodeHashes.map((codeHash) => ({ id: newId('rcv', now), factorId: id, codeHash, createdAt: now, usedAt: null })));
        }
        return true;
      });
    },

    async acceptStep(id, step, now) {
      const [row] = await db
        .update(factors)
        .set({ lastStep: step, attempts: 0, lastUsedAt: now })
        .where(and(eq(factors.id, id), eq(factors.status, 'verified'), or(isNull(factors.lastStep), lt(factors.lastStep, step))))
        .returning({ id: factors.id });
      return row !== undefined;
    },

    async useRecoveryCode(factorId, codeHash, now) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(factorRecoveryCodes)
          .set({ usedAt: now })
          .where(and(eq(factorRecoveryCodes.factorId, factorId), eq(factorRecoveryCodes.codeHash, codeHash), isNull(factorRecoveryCodes.usedAt)))
          .returning({ id: factorRecoveryCodes.id });
        if (!row) return false;
        await tx.update(factors).set({ attempts: 0, lastUsedAt: now }).where(eq(factors.id, factorId));
        return true;
      });
    },

    async countUnusedRecoveryCodes(factorId) {
      const [row] = await db
        .select({ n: count() })
        .from(factorRecoveryCodes)
        .where(and(eq(factorRecoveryCodes.factorId, factorId), isNull(factorRecoveryCodes.usedAt)));
      return row?.n ?? 0;
    },

    async replaceRecoveryCodes(factorId, codeHashes, now) {
      return db.transaction(async (tx) => {
        // FOR UPDATE: a concurrent replacement waits (two would otherwise leave both sets), and so
        // does a concurrent delete of the factor (the inserts would otherwise break its foreign key).
        const [factor] = await tx
          .select({ id: factors.id })
          .from(factors)
          .where(and(eq(factors.id, factorId), eq(factors.status, 'verified')))
          .for('update');
        if (!factor) return false;
        await tx.delete(factorRecoveryCodes).where(eq(factorRecoveryCodes.factorId, factorId));
        if (codeHashes.length > 0) {
          await tx.insert(factorRecoveryCodes).values(codeHashes.map((codeHash) => ({ id: newId('rcv', now), factorId, codeHash, createdAt: now, usedAt: null })));
        }
        return true;
      });
    },

    async delete(app, id) {
      // The foreign key cascades to the recovery codes in the same statement.
      const [row] = await db
        .delete(factors)
        .where(and(eq(factors.id, id), eq(factors.app, app)))
        .returning({ id: factors.id });
      return row !== undefined;
    },

    async listSealedNotUnder(kid, limit) {
      const prefix = `v1.${kid}.`;
      // A prefix comparison, not LIKE: key ids may contain `_`, a LIKE wildcard.
      return db
        .select({ id: factors.id, secretSealed: factors.secretSealed })
        .from(factors)
        .where(sql`not starts_with(${factors.secretSealed}, ${prefix})`)
        .limit(limit);
    },

    async replaceSealed(id, previous, next) {
      const [row] = await db
        .update(factors)
        .set({ secretSealed: next })
        .where(and(eq(factors.id, id), eq(factors.secretSealed, previous)))
        .returning({ id: factors.id });
      return row !== undefined;
    },
  };
}
