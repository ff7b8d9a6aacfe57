import { and, asc, desc, eq, gt, lt, lte, or, isNull, sql } from 'drizzle-orm';
import type { SendSlot, VerificationRecord, VerificationStore, DeliveryRecord } from '../../verification/verification.store.js';
import type { SqliteDb } from './db.js';
import { deliveries, verifications } from './schema.js';

const asVerification = (row: typeof verifications.$inferSelect): VerificationRecord => row as VerificationRecord;
const asDelivery = (row: typeof deliveries.$inferSelect): DeliveryRecord => row as DeliveryRecord;

/** SQLite implementation. better-sqlite3 is synchronous: each guarded statement is atomic by itself. */
export function createSqliteVerificationStore(db: SqliteDb): VerificationStore {
  return {
    create(verification, firstDelivery) {
      db.transaction((tx) => {
        tx.insert(verifications).values(verification).run();
        tx.insert(deliveries).values(firstDelivery).run();
      });
      return Promise.resolve();
    },

    findById(app, id) {
      const row = db.select().from(verifications).where(and(eq(verifications.id, id), eq(verifications.app, app))).get();
      return Promise.resolve(row ? asVerification(row) : undefined);
    },

    findNewestPending(app, to, now) {
      const row = db
        .select()
        .from(verifications)
        .where(and(eq(verifications.app, app), eq(verifications.to, to), eq(verifications.status, 'pending'), gt(verifications.expiresAt, now)))
        .orderBy(desc(verifications.createdAt))
        .limit(1)
        .get();
      return Promise.resolve(row ? asVerification(row) : undefined);
    },

    listDeliveries(verificationId) {
      const rows = db.select().from(deliveries).where(eq(deliveries.verificationId, verificationId)).orderBy(asc(deliveries.createdAt)).all();
      return Promise.resolve(rows.map(asDelivery));
    },

    reserveAttempt(id, now) {
      const row = db
        .update(verifications)
        .set({ attempts: sql`${verifications.attempts} + 1` })
        .where(
          and(
            eq(verifications.id, id),
            eq(verifications.status, 'pending'),
            gt(verifications.expiresAt, now),
            lt(verifications.attempts, verifications.maxAttempts),
          ),
        )
        .returning({ attempts: verifications.attempts })
        .get();
      return Promise.resolve(row?.attempts);
    },

    approvePending(id, now, channel) {
      const row = db
        .update(verifications)
        .set({ status: 'approved', approvedAt: now, approvedChannel: channel })
        .where(and(eq(verifications.id, id), eq(verifications.status, 'pending'), gt(verifications.expiresAt, now)))
        .returning({ id: verifications.id })
        .get();
      return Promise.resolve(row !== undefined);
    },

    lockIfExhausted(id) {
      db.update(verifications)
        .set({ status: 'locked' })
        .where(and(eq(verifications.id, id), eq(verifications.status, 'pending'), sql`${verifications.attempts} >= ${verifications.maxAttempts}`))
        .run();
      return Promise.resolve();
    },

    cancelPending(app, id, now) {
      const row = db
        .update(verifications)
        .set({ status: 'canceled', canceledAt: now })
        .where(and(eq(verifications.id, id), eq(verifications.app, app), eq(verifications.status, 'pending'), gt(verifications.expiresAt, now)))
        .returning({ id: verifications.id })
        .get();
      return Promise.resolve(row !== undefined);
    },

    reserveSend(id, now, cooldownMs) {
      const row = db
        .update(verifications)
        .set({ sends: sql`${verifications.sends} + 1`, lastSentAt: now })
        .where(
          and(
            eq(verifications.id, id),
            eq(verifications.status, 'pending'),
            gt(verifications.expiresAt, now),
            lt(verifications.sends, verifications.maxSends),
            or(isNull(verifications.lastSentAt), lte(verifications.lastSentAt, now - cooldownMs)),
          ),
        )
        .returning({ sends: verifications.sends })
        .get();
      if (row) return Promise.resolve<SendSlot>({ ok: true, sends: row.sends });
      const current = db.select().from(verifications).where(eq(verifications.id, id)).get();
      if (!current || current.status !== 'pending') return Promise.resolve<SendSlot>({ ok: false, why: 'not_pending' });
      if (current.expiresAt <= now) return Promise.resolve<SendSlot>({ ok: false, why: 'expired' });
      if (current.sends >= current.maxSends) return Promise.resolve<SendSlot>({ ok: false, why: 'max_sends' });
      return Promise.resolve<SendSlot>({ ok: false, why: 'cooldown', retryAt: (current.lastSentAt ?? now) + cooldownMs });
    },

    addDelivery(delivery) {
      db.insert(deliveries).values(delivery).run();
      return Promise.resolve();
    },

    completeDelivery(id, patch) {
      db.update(deliveries).set(patch).where(eq(deliveries.id, id)).run();
      return Promise.resolve();
    },
  };
}
