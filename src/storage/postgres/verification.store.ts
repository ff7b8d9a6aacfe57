import { and, asc, desc, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { NumberProtector } from '../../events/number-protection.js';
import type { DeliveryRecord, SendSlot, TakenAttempt, VerificationRecord, VerificationStore } from '../../verification/verification.store.js';
import type { PostgresDb } from './db.js';
import { appendEventPerRow, eventParams, eventPlaceholders } from './events.store.js';
import { placeholdersOf, prefixed } from './prepared.js';
import { deliveries, deliveryColumns, events, verificationColumns, verifications } from './schema.js';

/**
 * PostgreSQL implementation. Each transition is one guarded `UPDATE … WHERE <guard> RETURNING`:
 * PostgreSQL locks the row, and a second writer re-evaluates the guard on the row the first one
 * committed (READ COMMITTED), so the contract holds across every instance sharing the database.
 *
 * A change that writes several rows (a verification, its first delivery, its event) is ONE
 * statement with data-modifying CTEs: a statement is atomic on its own, so this is all or nothing
 * like BEGIN … COMMIT, in one round trip and one commit (a transaction costs BEGIN and COMMIT as
 * round trips of their own, and an event written apart one more commit).
 */
export function createPostgresVerificationStore(db: PostgresDb, protector: NumberProtector): VerificationStore {
  const v = verifications;
  const p = sql.placeholder;
  // The statements of every start and check, prepared once (prepared.ts).
  const created = db.$with('created').as(db.insert(verifications).values(placeholdersOf(verifications, 'v_', ['rowid'])));
  const delivered = db.$with('delivered').as(db.insert(deliveries).values(placeholdersOf(deliveries, 'd_', ['rowid'])));
  const createWithEvent = db.with(created, delivered).insert(events).values(eventPlaceholders()).prepare('verification_create_with_event');
  const createAlone = db.with(created).insert(deliveries).values(placeholdersOf(deliveries, 'd_', ['rowid'])).prepare('verification_create');
  const byId = db
    .select(verificationColumns)
    .from(v)
    .where(and(eq(v.id, p('id')), eq(v.app, p('app'))))
    .prepare('verification_by_id');
  const withDeliveries = db
    .select({ verification: verificationColumns, delivery: deliveryColumns })
    .from(v)
    .leftJoin(deliveries, eq(deliveries.verificationId, v.id))
    .where(and(eq(v.id, p('id')), eq(v.app, p('app'))))
    .orderBy(asc(deliveries.createdAt), asc(deliveries.rowid))
    .prepare('verification_with_deliveries');
  const open = and(eq(v.id, p('id')), eq(v.status, 'pending'), gt(v.expiresAt, p('now')), lt(v.attempts, v.maxAttempts));
  const taken = { attempts: v.attempts, status: v.status };
  const approving = db
    .update(v)
    .set({ attempts: sql`${v.attempts} + 1`, status: 'approved', approvedAt: sql`${p('now')}::bigint`, approvedChannel: sql`${p('channel')}::text` })
    .where(open);
  const takeApproving = approving.returning(taken).prepare('verification_take_approving');
  // The approval and its event in one statement: the event is written iff this call approved.
  const approval = db.$with('taken').as(approving.returning(taken));
  const approvalEvent = db.$with('appended', {}).as(appendEventPerRow('taken'));
  const takeApprovingWithEvent = db.with(approval, approvalEvent).select({ attempts: approval.attempts, status: approval.status }).from(approval).prepare('verification_take_approving_with_event');
  const takeFailing = db
    .update(v)
    // SET reads the row as it was: its last attempt is the one that makes attempts + 1 reach the limit.
    .set({ attempts: sql`${v.attempts} + 1`, status: sql`case when ${v.attempts} + 1 >= ${v.maxAttempts} then 'locked' else ${v.status} end` })
    .where(open)
    .returning(taken)
    .prepare('verification_take_failing');
  const complete = db
    .update(deliveries)
    .set({
      status: sql`${p('status')}::text`,
      providerMessageId: sql`${p('providerMessageId')}::text`,
      errorCode: sql`${p('errorCode')}::text`,
      errorMessage: sql`${p('errorMessage')}::text`,
      updatedAt: sql`${p('updatedAt')}::bigint`,
    })
    .where(eq(deliveries.id, p('id')));
  const completeAlone = complete.prepare('delivery_complete');
  const completeWithEvent = db
    .with(db.$with('completed').as(complete))
    .insert(events)
    .values(eventPlaceholders())
    .prepare('delivery_complete_with_event');

  return {
    async create(verification, firstDelivery, started) {
      const values = { ...prefixed(verification, 'v_'), ...prefixed(firstDelivery, 'd_') };
      if (!started) await createAlone.execute(values);
      else await createWithEvent.execute({ ...values, ...eventParams(started, protector) });
    },

    async findById(app, id) {
      const [row] = await byId.execute({ id, app });
      return row as VerificationRecord | undefined;
    },

    async findWithDeliveries(app, id) {
      const rows = await withDeliveries.execute({ id, app });
      const [first] = rows;
      if (!first) return undefined;
      return {
        verification: first.verification as VerificationRecord,
        deliveries: rows.flatMap((row) => (row.delivery ? [row.delivery as DeliveryRecord] : [])),
      };
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

    async takeAttempt(id, now, approve) {
      if (!approve) return (await takeFailing.execute({ id, now }))[0] as TakenAttempt | undefined;
      const params = { id, now, channel: approve.channel };
      if (!approve.event) return (await takeApproving.execute(params))[0] as TakenAttempt | undefined;
      return (await takeApprovingWithEvent.execute({ ...params, ...eventParams(approve.event, protector) }))[0] as TakenAttempt | undefined;
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

    async completeDelivery(id, patch, event) {
      const params = {
        id,
        status: patch.status,
        providerMessageId: patch.providerMessageId,
        errorCode: patch.errorCode,
        errorMessage: patch.errorMessage,
        updatedAt: patch.updatedAt,
      };
      if (!event) await completeAlone.execute(params);
      else await completeWithEvent.execute({ ...params, ...eventParams(event, protector) });
    },
  };
}
