import { bigint, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';

/** Marketing lists with double opt-in; see storage/sqlite/optin.schema.ts. */
export const optinLists = pgTable(
  'optin_lists',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    name: text('name').notNull(),
    brand: text('brand').notNull(),
    sender: text('sender').notNull(),
    windowSeconds: integer('window_seconds').notNull(),
    templates: text('templates').notNull(), // JSON
    helpContact: text('help_contact'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('optin_lists_app_idx').on(t.app, t.createdAt),
    index('optin_lists_sender_idx').on(t.sender, t.createdAt),
  ],
);

/** One row per (list, number): its current state. Its history is in the consent ledger. */
export const optinSubscribers = pgTable(
  'optin_subscribers',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    listId: text('list_id')
      .notNull()
      .references(() => optinLists.id),
    number: text('number').notNull(),
    status: text('status').notNull(), // pending | confirmed | unsubscribed | expired
    signupId: text('signup_id').notNull(),
    codeHash: text('code_hash'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    locale: text('locale').notNull(),
    requestedAt: bigint('requested_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    confirmedAt: bigint('confirmed_at', { mode: 'number' }),
    unsubscribedAt: bigint('unsubscribed_at', { mode: 'number' }),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('optin_subscribers_list_number_idx').on(t.listId, t.number),
    index('optin_subscribers_list_status_idx').on(t.listId, t.status, t.id),
    index('optin_subscribers_status_expires_idx').on(t.status, t.expiresAt),
  ],
);

/**
 * The consent ledger: append-only evidence. Written only by INSERT; triggers (hand-written at the
 * end of migrations/postgres/0000_init.sql) refuse UPDATE and TRUNCATE, and DELETE outside the
 * retention purge.
 */
export const optinConsentLedger = pgTable(
  'optin_consent_ledger',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    at: bigint('at', { mode: 'number' }).notNull(),
    app: text('app').notNull(),
    listId: text('list_id').notNull(),
    number: text('number').notNull(),
    signupId: text('signup_id'),
    type: text('type').notNull(),
    channel: text('channel').notNull(), // api | sms | web | system
    ip: text('ip'),
    userAgent: text('user_agent'),
    source: text('source'),
    consentText: text('consent_text'),
    consentTextVersion: text('consent_text_version'),
    text: text('text'),
    textSha256: text('text_sha256'),
    details: text('details'), // JSON
  },
  (t) => [
    index('optin_consent_ledger_list_number_idx').on(t.listId, t.number, t.id),
    index('optin_consent_ledger_at_idx').on(t.at),
  ],
);

/**
 * One row, id 1 (inserted by the migration): rows of the ledger older than `purge_before` may be
 * deleted, and only while the retention purge sets it (it resets it to 0 in the same transaction).
 */
export const optinLedgerRetention = pgTable('optin_ledger_retention', {
  id: integer('id').primaryKey(),
  purgeBefore: bigint('purge_before', { mode: 'number' }).notNull().default(0),
});
