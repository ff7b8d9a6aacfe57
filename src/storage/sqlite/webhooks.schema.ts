import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** An app's webhook endpoint (docs/webhooks.md): where events go and the secrets that sign them. */
export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    url: text('url').notNull(),
    // Comma-separated event types, or `*`; the fan-out trigger matches `,<type>,` in `,<events>,`.
    events: text('events').notNull(),
    secretEnc: text('secret_enc').notNull(), // sealed with FACTOR_ENCRYPTION_KEYS (secret-box.ts)
    previousSecretEnc: text('previous_secret_enc'), // the secret before a rotation, signing too until:
    previousUntil: integer('previous_until'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('webhook_endpoints_app_idx').on(t.app)],
);

/**
 * One row per event and endpoint: the durable outbox. `status` moves pending → delivering (leased
 * by one worker until lease_until) → delivered | pending (retry at next_attempt_at) | failed.
 */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    endpointId: text('endpoint_id').notNull(),
    app: text('app').notNull(),
    eventId: text('event_id').notNull(), // the webhook-id, the same on every attempt
    eventType: text('event_type').notNull(),
    body: text('body').notNull(), // the exact bytes signed and sent
    status: text('status').notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    lastStatus: integer('last_status'),
    lastError: text('last_error'),
    lastResponse: text('last_response'), // at most 1 KB of the last response body
    leaseOwner: text('lease_owner'),
    leaseUntil: integer('lease_until'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    deliveredAt: integer('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt),
  ],
);
