import { asc, desc, eq, sql } from 'drizzle-orm';
import type { NumberProtector } from '../../events/number-protection.js';
import type {
  TakenAttempt,
  VerificationRecord,
  VerificationStore,
} from '../../verification/verification.store.js';
import * as rules from '../shared/verification.js';
import type { PostgresDb } from './db.js';
import { postgresDialect } from './dialect.js';
import { appendEventPerRow, eventParams, eventPlaceholders } from './events.store.js';
import { placeholdersOf, prefixed } from './prepared.js';
import {
  deliveries,
  deliveryColumns,
  events,
  verificationColumns,
  verifications,
} from './schema.js';
import type { DeliveryRecord } from '../../delivery/delivery.store.js';

/**
 * PostgreSQL implementation of the rules in shared/verification.ts. Each transition is one guarded `UPDATE … WHERE <guard> RETURNING`:
 * PostgreSQL locks the row, and a second writer re-evaluates the guard on the row the first one
 * committed (READ COMMITTED), so the contract holds across every instance sharing the database.
 *
 * A change that writes several rows (a verification, its first delivery, its event) is ONE
 * statement with data-modifying CTEs: a statement is atomic on its own, so this is all or nothing
 * like BEGIN … COMMIT, in one round trip and one commit (a transaction costs BEGIN and COMMIT as
 * round trips of their own, and an event written apart one more commit).
 */
export function createPostgresVerificationStore(
  db: PostgresDb,
  protector: NumberProtector,
): VerificationStore {
  const v = verifications;
  const p = sql.placeholder;
  // The statements of every start and check, prepared once (prepared.ts).
  const created = db
    .$with('created')
    .as(db.insert(verifications).values(placeholdersOf(verifications, 'v_', ['rowid'])));
  const delivered = db
    .$with('delivered')
    .as(db.insert(deliveries).values(placeholdersOf(deliveries, 'd_', ['rowid'])));
  const createWithEvent = db
    .with(created, delivered)
    .insert(events)
    .values(eventPlaceholders())
    .prepare('verification_create_with_event');
  const createAlone = db
    .with(created)
    .insert(deliveries)
    .values(placeholdersOf(deliveries, 'd_', ['rowid']))
    .prepare('verification_create');
  const byId = db
    .select(verificationColumns)
    .from(v)
    .where(rules.ofApp(v, p('id'), p('app')))
    .prepare('verification_by_id');
  const withDeliveries = db
    .select({ verification: verificationColumns, delivery: deliveryColumns })
    .from(v)
    .leftJoin(deliveries, eq(deliveries.verificationId, v.id))
    .where(rules.ofApp(v, p('id'), p('app')))
    .orderBy(asc(deliveries.createdAt), asc(deliveries.rowid))
    .prepare('verification_with_deliveries');
  const taken = rules.takenColumns(v);
  const approving = db
    .update(v)
    .set(rules.approvingSet(v, postgresDialect))
    .where(rules.attemptOpen(v));
  const takeApproving = approving.returning(taken).prepare('verification_take_approving');
  // The approval and its event in one statement: the event is written iff this call approved.
  const approval = db.$with('taken').as(approving.returning(taken));
  const approvalEvent = db.$with('appended', {}).as(appendEventPerRow('taken'));
  const takeApprovingWithEvent = db
    .with(approval, approvalEvent)
    .select({ attempts: approval.attempts, status: approval.status })
    .from(approval)
    .prepare('verification_take_approving_with_event');
  const takeFailing = db
    .update(v)
    .set(rules.failingSet(v))
    .where(rules.attemptOpen(v))
    .returning(taken)
    .prepare('verification_take_failing');
  const complete = db
    .update(deliveries)
    .set(rules.completionSet(postgresDialect))
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
        .where(rules.pendingFor(v, app, to, now))
        .orderBy(desc(v.createdAt), desc(v.rowid))
        .limit(1);
      return row as VerificationRecord | undefined;
    },

    async listDeliveries(verificationId) {
      return (await db
        .select(deliveryColumns)
        .from(deliveries)
        .where(eq(deliveries.verificationId, verificationId))
        .orderBy(asc(deliveries.createdAt), asc(deliveries.rowid))) as DeliveryRecord[];
    },

    async takeAttempt(id, now, approve) {
      if (!approve) return (await takeFailing.execute({ id, now }))[0] as TakenAttempt | undefined;
      const params = { id, now, channel: approve.channel };
      if (!approve.event)
        return (await takeApproving.execute(params))[0] as TakenAttempt | undefined;
      return (
        await takeApprovingWithEvent.execute({
          ...params,
          ...eventParams(approve.event, protector),
        })
      )[0] as TakenAttempt | undefined;
    },

    async cancelPending(app, id, now, event) {
      const canceling = db
        .update(v)
        .set(rules.canceledSet(now))
        .where(rules.cancelable(v, id, app, now))
        .returning({ id: v.id });
      if (!event) return (await canceling).length === 1;
      // The cancel and its event in one statement: the event is written iff this call canceled.
      const canceled = db.$with('canceled').as(canceling);
      const appended = db.$with('appended', {}).as(appendEventPerRow('canceled'));
      const rows = await db
        .with(canceled, appended)
        .select({ id: canceled.id })
        .from(canceled)
        .execute(eventParams(event, protector));
      return rows.length === 1;
    },

    async reserveSend(id, now, cooldownMs) {
      const [row] = await db
        .update(v)
        .set(rules.sentSet(v, now))
        .where(rules.sendable(v, id, now, now - cooldownMs))
        .returning({ sends: v.sends });
      if (row) return { ok: true, sends: row.sends };
      const [current] = await db.select().from(v).where(eq(v.id, id));
      return rules.refusedSend(current, now, cooldownMs);
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
