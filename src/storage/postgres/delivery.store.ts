import { and, eq, gt, inArray, lte, ne, notInArray, or, sql } from 'drizzle-orm';
import type { ClaimedFallback, DeliveryStore, FallbackReason, FallbackRecord } from '../../delivery/delivery.store.js';
import type { DeliveryRecord, VerificationRecord } from '../../verification/verification.store.js';
import type { PostgresDb } from './db.js';
import { deliveries, deliveryColumns, fallbacks, verificationColumns, verifications } from './schema.js';

/**
 * PostgreSQL implementation. Each method is one guarded statement. Claims pick their rows with
 * `FOR UPDATE SKIP LOCKED`, so instances polling at once take disjoint rows without waiting on
 * each other, and the UPDATE repeats the guard: a row another instance claimed in between is
 * re-evaluated on its new version (READ COMMITTED) and not taken twice.
 */
export function createPostgresDeliveryStore(db: PostgresDb): DeliveryStore {
  const pendingIds = (now: number) =>
    db
      .select({ id: verifications.id })
      .from(verifications)
      .where(and(eq(verifications.status, 'pending'), gt(verifications.expiresAt, now)));

  return {
    async scheduleFallback(verificationId, dueAt) {
      await db.insert(fallbacks).values({ verificationId, state: 'scheduled', dueAt }).onConflictDoNothing();
    },

    async claimScheduled(verificationId, reason, now, owner) {
      const rows = await db
        .update(fallbacks)
        .set({ state: 'claimed', reason, claimedBy: owner, claimedAt: now })
        .where(and(eq(fallbacks.verificationId, verificationId), eq(fallbacks.state, 'scheduled')))
        .returning({ id: fallbacks.verificationId });
      return rows.length === 1;
    },

    async claimRequested(verificationId, now, owner) {
      const rows = await db
        .insert(fallbacks)
        .values({ verificationId, state: 'claimed', dueAt: now, reason: 'requested', claimedBy: owner, claimedAt: now })
        .onConflictDoUpdate({
          target: fallbacks.verificationId,
          set: { state: 'claimed', reason: 'requested', claimedBy: owner, claimedAt: now },
          setWhere: eq(fallbacks.state, 'scheduled'),
        })
        .returning({ id: fallbacks.verificationId });
      return rows.length === 1;
    },

    async claimDue(now, owner, leaseMs, limit) {
      const claimable = or(
        and(eq(fallbacks.state, 'scheduled'), lte(fallbacks.dueAt, now)),
        and(eq(fallbacks.state, 'claimed'), lte(fallbacks.claimedAt, now - leaseMs)),
      );
      const candidates = db
        .select({ id: fallbacks.verificationId })
        .from(fallbacks)
        .where(and(claimable, inArray(fallbacks.verificationId, pendingIds(now))))
        .orderBy(fallbacks.dueAt)
        .limit(limit)
        .for('update', { of: fallbacks, skipLocked: true });
      const rows = await db
        .update(fallbacks)
        .set({ state: 'claimed', reason: sql`coalesce(${fallbacks.reason}, 'no_check')`, claimedBy: owner, claimedAt: now })
        .where(and(inArray(fallbacks.verificationId, candidates), claimable))
        .returning({ verificationId: fallbacks.verificationId, reason: fallbacks.reason });
      return rows.map((r): ClaimedFallback => ({ verificationId: r.verificationId, reason: (r.reason ?? 'no_check') as FallbackReason }));
    },

    async voidSettled(now) {
      const rows = await db
        .update(fallbacks)
        .set({ state: 'void', completedAt: now })
        // Only once due: the row is written just before its verification, and must not be voided in between.
        .where(and(eq(fallbacks.state, 'scheduled'), lte(fallbacks.dueAt, now), notInArray(fallbacks.verificationId, pendingIds(now))))
        .returning({ id: fallbacks.verificationId });
      return rows.length;
    },

    async completeFallback(verificationId, owner, state, deliveryId, now) {
      await db
        .update(fallbacks)
        .set({ state, deliveryId, completedAt: now })
        .where(and(eq(fallbacks.verificationId, verificationId), eq(fallbacks.state, 'claimed'), eq(fallbacks.claimedBy, owner)));
    },

    async findFallback(verificationId) {
      const [row] = await db.select().from(fallbacks).where(eq(fallbacks.verificationId, verificationId));
      return row as FallbackRecord | undefined;
    },

    async switchToFlashCall(verificationId, now, codeLength, maxAttemptsCap) {
      const [row] = await db
        .update(verifications)
        .set({
          channel: 'flashcall',
          codeLength,
          maxAttempts: sql`least(${verifications.maxAttempts}, ${maxAttemptsCap})`,
          sends: sql`${verifications.sends} + 1`,
          lastSentAt: now,
        })
        .where(and(eq(verifications.id, verificationId), eq(verifications.status, 'pending'), gt(verifications.expiresAt, now)))
        .returning(verificationColumns);
      return row as VerificationRecord | undefined;
    },

    async findDeliveryByProviderId(provider, providerMessageId) {
      const [row] = await db
        .select({ delivery: deliveryColumns, app: verifications.app, to: verifications.to, country: verifications.country })
        .from(deliveries)
        .innerJoin(verifications, eq(verifications.id, deliveries.verificationId))
        .where(and(eq(deliveries.provider, provider), eq(deliveries.providerMessageId, providerMessageId)))
        .limit(1);
      return row ? { ...(row.delivery as DeliveryRecord), app: row.app, to: row.to, country: row.country } : undefined;
    },

    async updateDeliveryStatus(id, status, error, now) {
      const [row] = await db
        .update(deliveries)
        .set({ status, errorCode: error?.code ?? null, errorMessage: error?.message ?? null, updatedAt: now })
        .where(and(eq(deliveries.id, id), inArray(deliveries.status, ['queued', 'sent']), ne(deliveries.status, status)))
        .returning(deliveryColumns);
      return row as DeliveryRecord | undefined;
    },
  };
}
