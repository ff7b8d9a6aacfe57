import { and, asc, desc, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { DeliveryRecord, SendSlot, VerificationRecord, VerificationStore } from '../../verification/verification.store.js';
import type { PostgresDb } from './db.js';
import { deliveries, deliveryColumns, verificationColumns, verifications } from './schema.js';

/**
 * PostgreSQL implementation. Each transition is one guarded `UPDATE … WHERE <guard> RETURNING`:
 * PostgreSQL locks the row, and a second writer re-evaluates the guard on the row the first one
 * committed (READ COMMITTED), so the contract holds across every instance sharing the database.
 */
export function createPostgresVerificationStore(db: PostgresDb): VerificationStore {
  const v = verifications;
  return {
    async create(verification, firstDelivery) {
      await db.transaction(async (tx) => {
        await tx.insert(verifications).values(verification);
        await tx.insert(deliveries).values(firstDelivery);
      });
    },

    async findById(app, id) {
      const [row] = await db
        .select(verificationColumns)
        .from(v)
        .where(and(eq(v.id, id), eq(v.app, app)));
      return row as VerificationRecord | undefined;
    },

    async findNewestPending(app, to, now) {
      const [row] = await db
        .select(verificationColumns)
        .from(v)
        .where(and(eq(v.app, app), eq(v.to, to), eq(v.status, 'pending'), gt(v.expiresAt, now)))
        .orderBy(desc(v.createdAt), desc(v.rowid))
        .limit(1);
      return row as VerificationRecord | undefined;
    },

    async listDeliveries(verificationId) {
      return (await db.select(deliveryColumns).from(deliveries).where(eq(deliveries.verificationId, verificationId)).orderBy(asc(deliveries.createdAt), asc(deliveries.rowid))) as DeliveryRecord[];
    },

    async reserveAttempt(id, now) {
      const [row] = await db
        .update(v)
        .set({ attempts: sql`${v.attempts} + 1` })
        .where(and(eq(v.id, id), eq(v.status, 'pending'), gt(v.expiresAt, now), lt(v.attempts, v.maxAttempts)))
        .returning({ attempts: v.attempts });
      return row?.attempts;
    },

    async approvePending(id, now, channel) {
      const rows = await db
        .update(v)
        .set({ status: 'approved', approvedAt: now, approvedChannel: channel })
        .where(and(eq(v.id, id), eq(v.status, 'pending'), gt(v.expiresAt, now)))
        .returning({ id: v.id });
      return rows.length === 1;
    },

    async lockIfExhausted(id) {
      await db
        .update(v)
        .set({ status: 'locked' })
        .where(and(eq(v.id, id), eq(v.status, 'pending'), sql`${v.attempts} >= ${v.maxAttempts}`));
    },

    async cancelPending(app, id, now) {
      const rows = await db
        .update(v)
        .set({ status: 'canceled', canceledAt: now })
        .where(and(eq(v.id, id), eq(v.app, app), eq(v.status, 'pending'), gt(v.expiresAt, now)))
        .returning({ id: v.id });
      return rows.length === 1;
    },

    async reserveSend(id, now, cooldownMs) {
      const [row] = await db
        .update(v)
        .set({ sends: sql`${v.sends} + 1`, lastSentAt: now })
        .where(
          and(
            eq(v.id, id),
            eq(v.status, 'pending'),
            gt(v.expiresAt, now),
            lt(v.sends, v.maxSends),
            or(isNull(v.lastSentAt), lte(v.lastSentAt, now - cooldownMs)),
          ),
        )
        .returning({ sends: v.sends });
      if (row) return { ok: true, sends: row.sends };
      // Refused: read the row only to say why (the decision was the guarded UPDATE's).
      const [current] = await db.select().from(v).where(eq(v.id, id));
      if (!current || current.status !== 'pending') return { ok: false, why: 'not_pending' } satisfies SendSlot;
      if (current.expiresAt <= now) return { ok: false, why: 'expired' };
      if (current.sends >= current.maxSends) return { ok: false, why: 'max_sends' };
      return { ok: false, why: 'cooldown', retryAt: (current.lastSentAt ?? now) + cooldownMs };
    },

    async addDelivery(delivery) {
      await db.insert(deliveries).values(delivery);
    },

    async completeDelivery(id, patch) {
      await db
        .update(deliveries)
        .set({
          status: patch.status,
          providerMessageId: patch.providerMessageId,
          errorCode: patch.errorCode,
          errorMessage: patch.errorMessage,
          updatedAt: patch.updatedAt,
        })
        .where(eq(deliveries.id, id));
    },
  };
}
