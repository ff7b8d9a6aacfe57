import { sqliteTable, text, integer, index, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Marketing lists with double opt-in. Times are integer milliseconds since the epoch. */
export const optinLists = sqliteTable(
  'optin_lists',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    name: text('name').notNull(),
    brand: text('brand').notNull(),
    // The number (or alphanumeric ID) messages go from; inbound replies are matched on it.
    sender: text('sender').notNull(),
    windowSeconds: integer('window_seconds').notNull(),
    templates: text('templates').notNull(), // JSON: { [locale]: { confirmation?, stopped?, help? } }
    helpContact: text('help_contact'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    index('optin_lists_app_idx').on(t.app, t.createdAt),
    index('optin_lists_sender_idx').on(t.sender, t.createdAt),
  ],
);

/** One row per (list, number): its current state. Its history is in the consent ledger. */
export const optinSubscribers = sqliteTable(
  'optin_subscribers',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    listId: text('list_id')
      .notNull()
      .references(() => optinLists.id),
    number: text('number').notNull(),
    status: text('status').notNull(), // pending | confirmed | unsubscribed | expired
    // Each sign-up is a new generation: its code is bound to it, so an earlier code never confirms a later sign-up.
    signupId: text('signup_id').notNull(),
    codeHash: text('code_hash'), // HMAC-SHA256(pepper, signup id, code); null once the sign-up is settled
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    locale: text('locale').notNull(),
    requestedAt: integer('requested_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    confirmedAt: integer('confirmed_at'),
    unsubscribedAt: integer('unsubscribed_at'),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('optin_subscribers_list_number_idx').on(t.listId, t.number),
    index('optin_subscribers_list_status_idx').on(t.listId, t.status, t.id),
    index('optin_subscribers_status_expires_idx').on(t.status, t.expiresAt),
  ],
);

/**
 * The consent ledger: append-only evidence of every request, message, reply, confirmation, expiry
 * and unsubscribe. Written only by INSERT; triggers (installed by the store) refuse UPDATE, and
 * DELETE outside the retention purge.
 */
export const optinConsentLedger = sqliteTable(
  'optin_consent_ledger',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    app: text('app').notNull(),
    listId: text('list_id').notNull(),
    number: text('number').notNull(),
    signupId: text('signup_id'),
    // requested | message_sent | message_failed | reply_received | confirmed | expired | unsubscribed | help_sent
    type: text('type').notNull(),
    channel: text('channel').notNull(), // api | sms | web | system
    ip: text('ip'),
    userAgent: text('user_agent'),
    source: text('source'),
    consentText: text('consent_text'),
    consentTextVersion: text('consent_text_version'),
    text: text('text'), // the message sent or received, as sent or received (codes masked, see docs/optin.md)
    textSha256: text('text_sha256'), // SHA-256 of the exact text, code included
    details: text('details'), // JSON
  },
  (t) => [
    index('optin_consent_ledger_list_number_idx').on(t.listId, t.number, t.id),
    index('optin_consent_ledger_at_idx').on(t.at),
  ],
);

/**
 * One row, id 1: rows of the ledger older than `purge_before` may be deleted, and only while the
 * retention purge sets it (it resets it to 0 in the same transaction).
 */
export const optinLedgerRetention = sqliteTable('optin_ledger_retention', {
  id: integer('id').primaryKey(),
  purgeBefore: integer('purge_before').notNull().default(0),
});
