import { and, eq, gt, inArray, lte, ne, notInArray, or, sql } from 'drizzle-orm';
import type { ClaimedFallback, DeliveryStore, FallbackReason, FallbackRecord } from '../../delivery/delivery.store.js';
import type { DeliveryRecord, VerificationRecord } from '../../verification/verification.store.js';
import type { SqliteDb } from './db.js';
import { deliveries, fallbacks, verifications } from './schema.js';

/**
 * SQLite implementation. Each method is one statement; SQLite runs a statement under its single
 * writer lock, so a guarded UPDATE … RETURNING hands each row to exactly one caller, across
 * processes sharing the file too.
 */
export function createSqliteDeliveryStore(db: SqliteDb): DeliveryStore {
  const pendingIds = (now: number) =>
    db
      .select({ id: verifications.id })
      .from(verifications)
      .where(and(eq(verifications.status, 'pending'), gt(verifications.expiresAt, now)));

  return {
    scheduleFallback(verificationId, dueAt) {
      db.insert(fallbacks).values({ verificationId, state: 'scheduled', dueAt }).onConflictDoNothing().run();
      return Promise.resolve();
    },

    claimScheduled(verificationId, reason, now, owner) {
      const row = db
        .update(fallbacks)
        .set({ state: 'claimed', reason, claimedBy: owner, claimedAt: now })
        .where(and(eq(fallbacks.verificationId, verificationId), eq(fallbacks.state, 'scheduled')))
        .returning({ id: fallbacks.verificationId })
        .get();
      return Promise.resolve(row !== undefined);
    },

    claimRequested(verificationId, now, owner) {
      const row = db
        .insert(fallbacks)
        .values({ verificationId, state: 'claimed', dueAt: now, reason: 'requested', claimedBy: owner, claimedAt: now })
        .onConflictDoUpdate({
          target: fallbacks.verificationId,
          set: { state: 'claimed', reason: 'requested', claimedBy: owner, claimedAt: now },
          setWhere: eq(fallbacks.state, 'scheduled'),
        })
        .returning({ id: fallbacks.verificationId })
        .get();
      return Promise.resolve(row !== undefined);
    },

    claimDue(now, owner, leaseMs, limit) {
      const claimable = or(
        and(eq(fallbacks.state, 'scheduled'), lte(fallbacks.dueAt, now)),
        and(eq(fallbacks.state, 'claimed'), lte(fallbacks.claimedAt, now - leaseMs)),
      );
      const candidates = db
        .select({ id: fallbacks.verificationId })
        .from(fallbacks)
        .where(and(claimable, inArray(fallbacks.verificationId, pendingIds(now))))
        .orderBy(fallbacks.dueAt)
        .limit(limit);
      // The guard is repeated in the UPDATE itself: the subquery picks, the WHERE decides.
      const rows = db
        .update(fallbacks)
        .set({ state: 'claimed', reason: sql`coalesce(${fallbacks.reason}, 'no_check')`, claimedBy: owner, claimedAt: now })
        .where(and(inArray(fallbacks.verificationId, candidates), claimable))
        .returning({ verificationId: fallbacks.verificationId, reason: fallbacks.reason })
        .all();
      return Promise.resolve(rows.map((r): ClaimedFallback => ({ verificationId: r.verificationId, reason: (r.reason ?? 'no_check') as FallbackReason })));
    },

    voidSettled(now) {
      const rows = db
        .update(fallbacks)
        .set({ state: 'void', completedAt: now })
                // Only once due: the row is written just before its verification, and must not be voided in between.
        .where(and(eq(fallbacks.state, 'scheduled'), lte(fallbacks.dueAt, now), notInArray(fallbacks.verificationId, pendingIds(now))))
        .returning({ id: fallbacks.verificationId })
        .all();
      return Promise.resolve(rows.length);
    },

    completeFallback(verificationId, owner, state, deliveryId, now) {
      db.update(fallbacks)
        .set({ state, deliveryId, completedAt: now })
        .where(and(eq(fallbacks.verificationId, verificationId), eq(fallbacks.state, 'claimed'), eq(fallbacks.claimedBy, owner)))
        .run();
      return Promise.resolve();
    },

    findFallback(verificationId) {
      const row = db.select().from(fallbacks).where(eq(fallbacks.verificationId, verificationId)).get();
      return Promise.resolve(row as FallbackRecord | undefined);
    },

    switchToFlashCall(verificationId, now, codeLength, maxAttemptsCap) {
      const row = db
        .update(verifications)
        .set({
          channel: 'flashcall',
          codeLength,
          maxAttempts: sql`min(${verifications.maxAttempts}, ${maxAttemptsCap})`,
          sends: sql`${verifications.sends} + 1`,
          lastSentAt: now,
        })
        .where(and(eq(verifications.id, verificationId), eq(verifications.status, 'pending'), gt(verifications.expiresAt, now)))
        .returning()
        .get();
      return Promise.resolve(row as VerificationRecord | undefined);
    },

    findDeliveryByProviderId(provider, providerMessageId) {
      const row = db
        .select({ delivery: deliveries, app: verifications.app, to: verifications.to, country: verifications.country })
        .from(deliveries)
        .innerJoin(verifications, eq(verifications.id, deliveries.verificationId))
        .where(and(eq(deliveries.provider, provider), eq(deliveries.providerMessageId, providerMessageId)))
        .get();
      return Promise.resolve(row ? { ...(row.delivery as DeliveryRecord), app: row.app, to: row.to, country: row.country } : undefined);
    },

    updateDeliveryStatus(id, status, error, now) {
      const row = db
        .update(deliveries)
        .set({ status, errorCode: error?.code ?? null, errorMessage: error?.message ?? null, updatedAt: now })
        .where(and(eq(deliveries.id, id), inArray(deliveries.status, ['queued', 'sent']), ne(deliveries.status, status)))
        .returning()
        .get();
      return Promise.resolve(row as DeliveryRecord | undefined);
    },
  };
}
