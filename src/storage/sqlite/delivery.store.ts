import { and, eq, inArray } from 'drizzle-orm';
import type { DeliveryStore, DeliveryRecord } from '../../delivery/delivery.store.js';
import type { VerificationRecord } from '../../verification/verification.store.js';
import * as rules from '../shared/delivery.js';
import type { SqliteDb } from './db.js';
import { sqliteDialect } from './dialect.js';
import { deliveries, fallbacks, verifications } from './schema.js';
import type { FallbackRecord, FallbackStore } from '../../verification/fallback.store.js';

/**
 * SQLite implementation of the rules in shared/delivery.ts. Each method is one statement; SQLite
 * runs a statement under its single writer lock, so a guarded UPDATE … RETURNING hands each row to
 * exactly one caller, across processes sharing the file too.
 */
export function createSqliteDeliveryStore(db: SqliteDb): DeliveryStore & FallbackStore {
  const f = fallbacks;
  const pendingIds = (now: number) => rules.pendingIds(verifications, now);

  return {
    scheduleFallback(verificationId, dueAt) {
      db.insert(f)
        .values(rules.scheduledFallback(verificationId, dueAt))
        .onConflictDoNothing()
        .run();
      return Promise.resolve();
    },

    claimScheduled(verificationId, reason, now, owner) {
      const row = db
        .update(f)
        .set(rules.claimedSet(reason, now, owner))
        .where(rules.scheduledOf(f, verificationId))
        .returning({ id: f.verificationId })
        .get();
      return Promise.resolve(row !== undefined);
    },

    claimRequested(verificationId, now, owner) {
      const { values, set, setWhere } = rules.requestedClaim(f, verificationId, now, owner);
      const row = db
        .insert(f)
        .values(values)
        .onConflictDoUpdate({ target: f.verificationId, set, setWhere })
        .returning({ id: f.verificationId })
        .get();
      return Promise.resolve(row !== undefined);
    },

    claimDue(now, owner, leaseMs, limit) {
      const candidates = db
        .select({ id: f.verificationId })
        .from(f)
        .where(and(rules.claimable(f, now, leaseMs), inArray(f.verificationId, pendingIds(now))))
        .orderBy(f.dueAt)
        .limit(limit);
      // The guard is repeated in the UPDATE itself: the subquery picks, the WHERE decides.
      const claimed = db
        .update(f)
        .set(rules.dueClaimSet(f, now, owner))
        .where(and(inArray(f.verificationId, candidates), rules.claimable(f, now, leaseMs)))
        .returning({ verificationId: f.verificationId, reason: f.reason });
      return Promise.resolve(claimed.all().map(rules.asClaimed));
    },

    voidSettled(now) {
      const voided = db
        .update(f)
        .set(rules.voidedSet(now))
        .where(rules.voidable(f, now, pendingIds(now)))
        .returning({ id: f.verificationId });
      return Promise.resolve(voided.all().length);
    },

    completeFallback(verificationId, owner, state, deliveryId, now) {
      db.update(f)
        .set(rules.completedSet(state, deliveryId, now))
        .where(rules.ownedClaim(f, verificationId, owner))
        .run();
      return Promise.resolve();
    },

    findFallback(verificationId) {
      return Promise.resolve(
        db.select().from(f).where(eq(f.verificationId, verificationId)).get() as
          FallbackRecord | undefined,
      );
    },

    switchToFlashCall(verificationId, now, codeLength, maxAttemptsCap) {
      const v = verifications;
      const switched = db
        .update(v)
        .set(rules.flashCallSet(v, sqliteDialect, now, codeLength, maxAttemptsCap))
        .where(rules.switchable(v, verificationId, now));
      return Promise.resolve(switched.returning().get() as VerificationRecord | undefined);
    },

    findDeliveryByProviderId(provider, providerMessageId) {
      const row = db
        .select({ delivery: deliveries, ...rules.ownerColumns(verifications) })
        .from(deliveries)
        .innerJoin(verifications, eq(verifications.id, deliveries.verificationId))
        .where(rules.byProviderMessage(deliveries, provider, providerMessageId))
        .get();
      return Promise.resolve(row && rules.withVerification(row));
    },

    updateDeliveryStatus(id, status, error, now) {
      const updated = db
        .update(deliveries)
        .set(rules.statusSet(status, error, now))
        .where(rules.statusChangeable(deliveries, id, status));
      return Promise.resolve(updated.returning().get() as DeliveryRecord | undefined);
    },
  };
}
