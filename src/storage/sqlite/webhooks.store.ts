import { asc, count, eq, min, sql } from 'drizzle-orm';
import type { WebhookStore } from '../../webhooks/webhooks.store.js';
import * as rules from '../shared/webhooks.js';
import type { SqliteDb } from './db.js';
import { webhookDeliveries as d, webhookEndpoints as e } from './schema.js';

/** SQLite implementation of the rules in shared/webhooks.ts; SQLite's write lock serialises claims. */
export function createSqliteWebhookStore(db: SqliteDb): WebhookStore {
  const removeBoth = db.$client.transaction((app: string, id: string) => {
    const removed = db
      .delete(e)
      .where(rules.ofEndpoint(e, app, id))
      .returning({ id: e.id })
      .all();
    if (removed.length > 0) db.delete(d).where(eq(d.endpointId, id)).run();
    return removed.length > 0;
  });
  // better-sqlite3 answers synchronously: each method runs its statement now and resolves with it.
  const done = <T>(value: T): Promise<T> => Promise.resolve(value);
  return {
    createEndpoint(endpoint) {
      db.insert(e).values(endpoint).run();
      return done(undefined);
    },
    listEndpoints(app) {
      return done(db.select().from(e).where(eq(e.app, app)).orderBy(asc(e.createdAt)).all());
    },
    findEndpoint(app, id) {
      return done(
        db
          .select()
          .from(e)
          .where(rules.ofEndpoint(e, app, id))
          .get(),
      );
    },
    endpointById(id) {
      return done(db.select().from(e).where(eq(e.id, id)).get());
    },
    deleteEndpoint(app, id) {
      return done(removeBoth(app, id));
    },
    rotateSecret(app, id, secretEnc, previousSecretEnc, previousUntil, now) {
      const changed = db
        .update(e)
        .set({ secretEnc, previousSecretEnc, previousUntil, updatedAt: now })
        .where(rules.ofEndpoint(e, app, id))
        .run().changes;
      return done(changed > 0);
    },
    subscriptions() {
      return done(db.select({ app: e.app, events: e.events }).from(e).all());
    },
    claimDue(owner, now, leaseUntil, limit, skipEndpoints) {
      // One statement: the write lock hands each due row to exactly one claimer.
      const due = db
        .select({ id: d.id })
        .from(d)
        .where(rules.claimable(d, now, skipEndpoints))
        .orderBy(asc(d.nextAttemptAt))
        .limit(limit);
      const claimed = db
        .update(d)
        .set(rules.leaseSet(owner, now, leaseUntil))
        .where(sql`${d.id} in ${due}`)
        .returning()
        .all();
      return done(claimed.map(rules.deliveryOf));
    },
    release(id, owner) {
      db.update(d)
        .set(rules.releasedSet())
        .where(rules.heldBy(d, id, owner))
        .run();
      return done(undefined);
    },
    completeAttempt(id, owner, outcome) {
      const r = db
        .update(d)
        .set(rules.outcomeSet(outcome))
        .where(rules.heldBy(d, id, owner))
        .run();
      return done(r.changes > 0);
    },
    listDeliveries(app, endpointId, limit, status) {
      const found = db
        .select()
        .from(d)
        .where(rules.deliveriesOf(d, app, endpointId, status))
        .orderBy(...rules.newestFirst(d))
        .limit(limit)
        .all();
      return done(found.map(rules.deliveryOf));
    },
    retryDelivery(app, endpointId, id, now) {
      const r = db
        .update(d)
        .set(rules.retrySet(now))
        .where(rules.retryable(d, app, endpointId, id));
      return done(r.run().changes > 0);
    },
    queueStats() {
      const stats = db
        .select({ depth: count(), oldest: min(d.createdAt) })
        .from(d)
        .where(rules.inQueue(d))
        .get();
      return done({ depth: stats?.depth ?? 0, oldestCreatedAt: stats?.oldest ?? null });
    },
    failingEndpoints(limit) {
      const rows = db.all<rules.FailingRow>(rules.failingEndpointsQuery(e, d, limit));
      return done(rows.map(rules.failingOf));
    },
  };
}
