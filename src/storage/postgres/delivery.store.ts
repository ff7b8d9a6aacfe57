import { and, eq, inArray } from 'drizzle-orm';
import type { DeliveryStore, DeliveryRecord } from '../../delivery/delivery.store.js';
import type { VerificationRecord } from '../../verification/verification.store.js';
import * as rules from '../shared/delivery.js';
import type { PostgresDb } from './db.js';
import { postgresDialect } from './dialect.js';
import {
  deliveries,
  deliveryColumns,
  fallbacks,
  verificationColumns,
  verifications,
} from './schema.js';
import type { FallbackRecord, FallbackStore } from '../../verification/fallback.store.js';

/**
 * PostgreSQL implementation of the rules in shared/delivery.ts. Each method is one guarded
 * statement. Claims pick their rows with `FOR UPDATE SKIP LOCKED`, so instances polling at once
 * take disjoint rows without waiting on each other, and the UPDATE repeats the guard: a row another
 * instance claimed in between is re-evaluated on its new version (READ COMMITTED) and not taken twice.
 */
export function createPostgresDeliveryStore(db: PostgresDb): DeliveryStore & FallbackStore {
  const f = fallbacks;
  const pendingIds = (now: number) => rules.pendingIds(verifications, now);

  return {
    async scheduleFallback(verificationId, dueAt) {
      await db
        .insert(f)
        .values(rules.scheduledFallback(verificationId, dueAt))
        .onConflictDoNothing();
    },

    async claimScheduled(verificationId, reason, now, owner) {
      const claimed = await db
        .update(f)
        .set(rules.claimedSet(reason, now, owner))
        .where(rules.scheduledOf(f, verificationId))
        .returning({ id: f.verificationId });
      return claimed.length === 1;
    },

    async claimRequested(verificationId, now, owner) {
      const { values, set, setWhere } = rules.requestedClaim(f, verificationId, now, owner);
      const claimed = await db
        .insert(f)
        .values(values)
        .onConflictDoUpdate({ target: f.verificationId, set, setWhere })
        .returning({ id: f.verificationId });
      return claimed.length === 1;
    },

    async claimDue(now, owner, leaseMs, limit) {
      const candidates = db
        .select({ id: f.verificationId })
        .from(f)
        .where(and(rules.claimable(f, now, leaseMs), inArray(f.verificationId, pendingIds(now))))
        .orderBy(f.dueAt)
        .limit(limit)
        .for('update', { of: f, skipLocked: true });
      const claimed = await db
        .update(f)
        .set(rules.dueClaimSet(f, now, owner))
        .where(and(inArray(f.verificationId, candidates), rules.claimable(f, now, leaseMs)))
        .returning({ verificationId: f.verificationId, reason: f.reason });
      return claimed.map(rules.asClaimed);
    },

    async voidSettled(now) {
      return (
        await db
          .update(f)
          .set(rules.voidedSet(now))
          .where(rules.voidable(f, now, pendingIds(now)))
          .returning({ id: f.verificationId })
      ).length;
    },

    async completeFallback(verificationId, owner, state, deliveryId, now) {
      await db
        .update(f)
        .set(rules.completedSet(state, deliveryId, now))
        .where(rules.ownedClaim(f, verificationId, owner));
    },

    async findFallback(verificationId) {
      const [row] = await db.select().from(f).where(eq(f.verificationId, verificationId));
      return row as FallbackRecord | undefined;
    },

    async switchToFlashCall(verificationId, now, codeLength, maxAttemptsCap) {
      const v = verifications;
      const [row] = await db
        .update(v)
        .set(rules.flashCallSet(v, postgresDialect, now, codeLength, maxAttemptsCap))
        .where(rules.switchable(v, verificationId, now))
        .returning(verificationColumns);
      return row as VerificationRecord | undefined;
    },

    async findDeliveryByProviderId(provider, providerMessageId) {
      const [row] = await db
        .select({ delivery: deliveryColumns, ...rules.ownerColumns(verifications) })
        .from(deliveries)
        .innerJoin(verifications, eq(verifications.id, deliveries.verificationId))
        .where(rules.byProviderMessage(deliveries, provider, providerMessageId))
        .limit(1);
      return row && rules.withVerification(row);
    },

    async updateDeliveryStatus(id, status, error, now) {
      const [row] = await db
        .update(deliveries)
        .set(rules.statusSet(status, error, now))
        .where(rules.statusChangeable(deliveries, id, status))
        .returning(deliveryColumns);
      return row as DeliveryRecord | undefined;
    },
  };
}
