import { asc, count, eq, sql } from 'drizzle-orm';
import type { FactorStore } from '../../factors/factors.store.js';
import * as rules from '../shared/factors.js';
import type { PostgresDb } from './db.js';
import { factorRecoveryCodes, factors } from './schema.js';

/**
 * The first key of the two-key advisory locks this store takes ("fact" in ASCII). The two-key form
 * never collides with a single-key lock, such as the migrations' (storage/postgres/db.ts).
 */
const USER_LOCK_SPACE = 0x66616374;

/**
 * PostgreSQL implementation of the rules in shared/factors.ts. Single guarded UPDATEs are atomic
 * under READ COMMITTED: a concurrent writer of the same row waits for its lock, then PostgreSQL
 * re-checks the guard against the committed row. The two changes that read before they write take
 * a lock first: the per-user limit an advisory lock on (app, user), the replacement of recovery
 * codes the factor's row.
 */
export function createPostgresFactorStore(db: PostgresDb): FactorStore {
  const f = factors;
  const codes = factorRecoveryCodes;

  return {
    async createIfBelowLimit(factor, maxPerUser, staleBefore) {
      return db.transaction(async (tx) => {
        // Without it, N concurrent creations for one user would each count fewer than the limit and
        // all insert (SQLite gets the same from its IMMEDIATE transaction's write lock). Held until
        // COMMIT; two users sharing a key (a hash collision, or 'a/b' + 'c' and 'a' + 'b/c') are
        // only serialised, never given a wrong answer.
        await tx.execute(
          sql`select pg_advisory_xact_lock(${USER_LOCK_SPACE}, hashtext(${factor.app} || '/' || ${factor.user}))`,
        );
        await tx.delete(f).where(rules.staleUnverified(f, factor.app, factor.user, staleBefore));
        const [existing] = await tx
          .select({ n: count() })
          .from(f)
          .where(rules.ofUser(f, factor.app, factor.user));
        if ((existing?.n ?? 0) >= maxPerUser) return false;
        await tx.insert(f).values(factor);
        return true;
      });
    },

    async findById(app, id) {
      const [row] = await db
        .select()
        .from(f)
        .where(rules.ofApp(f, id, app));
      return row && rules.asFactor(row);
    },

    async listByUser(app, user) {
      return (
        await db
          .select()
          .from(f)
          .where(rules.ofUser(f, app, user))
          .orderBy(asc(f.createdAt))
      ).map(rules.asFactor);
    },

    async reserveAttempt(id, now) {
      const [row] = await db
        .update(f)
        .set(rules.attemptSet(f))
        .where(rules.attemptAllowed(f, id, now))
        .returning({ attempts: f.attempts });
      return row?.attempts;
    },

    async lockIfExhausted(id, until) {
      await db.update(f).set(rules.lockedSet(until)).where(rules.exhausted(f, id));
    },

    async activate(id, step, now, recoveryCodeHashes) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(f)
          .set(rules.activatedSet(step, now))
          .where(rules.activatable(f, id, step))
          .returning({ id: f.id });
        if (!row) return false;
        if (recoveryCodeHashes.length > 0)
          await tx.insert(codes).values(rules.recoveryCodeRows(id, recoveryCodeHashes, now));
        return true;
      });
    },

    async acceptStep(id, step, now) {
      const accepted = await db
        .update(f)
        .set(rules.acceptedSet(step, now))
        .where(rules.stepAcceptable(f, id, step))
        .returning({ id: f.id });
      return accepted.length > 0;
    },

    async useRecoveryCode(factorId, codeHash, now) {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .update(codes)
          .set({ usedAt: now })
          .where(rules.unusedCode(codes, factorId, codeHash))
          .returning({ id: codes.id });
        if (!row) return false;
        await tx.update(f).set(rules.recoveredSet(now)).where(eq(f.id, factorId));
        return true;
      });
    },

    async countUnusedRecoveryCodes(factorId) {
      const [row] = await db
        .select({ n: count() })
        .from(codes)
        .where(rules.unusedCodes(codes, factorId));
      return row?.n ?? 0;
    },

    async replaceRecoveryCodes(factorId, codeHashes, now) {
      return db.transaction(async (tx) => {
        // FOR UPDATE: a concurrent replacement waits (two would otherwise leave both sets), and so
        // does a concurrent delete of the factor (the inserts would otherwise break its foreign key).
        const [factor] = await tx
          .select({ id: f.id })
          .from(f)
          .where(rules.verifiedById(f, factorId))
          .for('update');
        if (!factor) return false;
        await tx.delete(codes).where(eq(codes.factorId, factorId));
        if (codeHashes.length > 0)
          await tx.insert(codes).values(rules.recoveryCodeRows(factorId, codeHashes, now));
        return true;
      });
    },

    async delete(app, id) {
      // The foreign key cascades to the recovery codes in the same statement.
      const removed = await db
        .delete(f)
        .where(rules.ofApp(f, id, app))
        .returning({ id: f.id });
      return removed.length > 0;
    },

    async listSealedNotUnder(kid, limit) {
      const prefix = rules.sealedPrefix(kid);
      return db
        .select({ id: f.id, secretSealed: f.secretSealed })
        .from(f)
        .where(sql`not starts_with(${f.secretSealed}, ${prefix})`)
        .limit(limit);
    },

    async replaceSealed(id, previous, next) {
      const replaced = await db
        .update(f)
        .set({ secretSealed: next })
        .where(rules.sealedAs(f, id, previous))
        .returning({ id: f.id });
      return replaced.length > 0;
    },
  };
}
