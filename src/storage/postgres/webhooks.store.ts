import { asc, count, eq, min, sql } from 'drizzle-orm';
import type { WebhookStore } from '../../webhooks/webhooks.store.js';
import * as rules from '../shared/webhooks.js';
import type { PostgresDb } from './db.js';
import { webhookDeliveries as d, webhookEndpoints as e } from './schema.js';

/** PostgreSQL implementation of the rules in shared/webhooks.ts; a claim skips rows another instance is claiming (FOR UPDATE SKIP LOCKED). */
export function createPostgresWebhookStore(db: PostgresDb): WebhookStore {
  return {
    async createEndpoint(endpoint) {
      await db.insert(e).values(endpoint);
    },
    async listEndpoints(app) {
      return (await db.select().from(e).where(eq(e.app, app)).orderBy(asc(e.createdAt))).map(
        (row) => row,
      );
    },
    async findEndpoint(app, id) {
      const [row] = await db
        .select()
        .from(e)
        .where(rules.ofEndpoint(e, app, id));
      return row;
    },
    async endpointById(id) {
      const [row] = await db.select().from(e).where(eq(e.id, id));
      return row;
    },
    deleteEndpoint(app, id) {
      return db.transaction(async (tx) => {
        const removed = await tx
          .delete(e)
          .where(rules.ofEndpoint(e, app, id))
          .returning({ id: e.id });
        if (removed.length > 0) await tx.delete(d).where(eq(d.endpointId, id));
        return removed.length > 0;
      });
    },
    async rotateSecret(app, id, secretEnc, previousSecretEnc, previousUntil, now) {
      const rows = await db
        .update(e)
        .set({ secretEnc, previousSecretEnc, previousUntil, updatedAt: now })
        .where(rules.ofEndpoint(e, app, id))
        .returning({ id: e.id });
      return rows.length > 0;
    },
    async subscriptions() {
      return db.select({ app: e.app, events: e.events }).from(e);
    },
    async claimDue(owner, now, leaseUntil, limit, skipEndpoints) {
      const due = db
        .select({ id: d.id })
        .from(d)
        .where(rules.claimable(d, now, skipEndpoints))
        .orderBy(asc(d.nextAttemptAt))
        .limit(limit)
        .for('update', { skipLocked: true });
      const rows = await db
        .update(d)
        .set(rules.leaseSet(owner, now, leaseUntil))
        .where(sql`${d.id} in ${due}`)
        .returning();
      return rows.map(rules.deliveryOf);
    },
    async release(id, owner) {
      await db
        .update(d)
        .set(rules.releasedSet())
        .where(rules.heldBy(d, id, owner));
    },
    async completeAttempt(id, owner, outcome) {
      const rows = await db
        .update(d)
        .set(rules.outcomeSet(outcome))
        .where(rules.heldBy(d, id, owner))
        .returning({ id: d.id });
      return rows.length > 0;
    },
    async listDeliveries(app, endpointId, limit, status) {
      const rows = await db
        .select()
        .from(d)
        .where(rules.deliveriesOf(d, app, endpointId, status))
        .orderBy(...rules.newestFirst(d))
        .limit(limit);
      return rows.map(rules.deliveryOf);
    },
    async retryDelivery(app, endpointId, id, now) {
      const rows = await db
        .update(d)
        .set(rules.retrySet(now))
        .where(rules.retryable(d, app, endpointId, id))
        .returning({ id: d.id });
      return rows.length > 0;
    },
    async queueStats() {
      const [row] = await db
        .select({ depth: count(), oldest: min(d.createdAt) })
        .from(d)
        .where(rules.inQueue(d));
      return { depth: row?.depth ?? 0, oldestCreatedAt: row?.oldest ?? null };
    },
    async failingEndpoints(limit) {
      const result = await db.execute<rules.FailingRow>(rules.failingEndpointsQuery(e, d, limit));
      return result.rows.map(rules.failingOf);
    },
  };
}
