import { getTableColumns } from 'drizzle-orm';
import { bigint, boolean, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';

/**
 * The PostgreSQL mirror of storage/sqlite/schema.ts: the same tables, columns and indexes under the
 * same names, so raw SQL (a bench seeder, a report query) reads the same on both dialects.
 * Times are epoch milliseconds in `bigint` read back as JS numbers (exact up to 2^53);
 * JSON stays in `text` columns, as in SQLite, so both dialects store and parse it the same way.
 */

const ms = (name: string) => bigint(name, { mode: 'number' });

/**
 * SQLite's implicit rowid, made explicit: insertion order, the tie-break when two rows share a
 * millisecond (two deliveries of one verification, two starts for one number). PostgreSQL has no
 * such order of its own, and with the same name `ORDER BY created_at, rowid` reads the same on both.
 * Not part of the records: stores select `…Columns` below, without it.
 */
const rowid = () => bigint('rowid', { mode: 'number' }).notNull().generatedByDefaultAsIdentity();

export const apps = pgTable(
  'apps',
  {
    name: text('name').primaryKey(),
    brand: text('brand'),
    codeLength: integer('code_length'),
    webOtpDomain: text('web_otp_domain'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
    customCodes: boolean('custom_codes').notNull().default(false),
    // `VA` + 32 hex, set when the row is inserted (rows older than the column got theirs in its migration).
    twilioServiceSid: text('twilio_service_sid'),
  },
  (t) => [uniqueIndex('apps_twilio_service_sid_idx').on(t.twilioServiceSid)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    scopes: text('scopes').notNull(), // space-separated
    secretHash: text('secret_hash').notNull(), // SHA-256 (hex) of the secret part
    createdAt: ms('created_at').notNull(),
    revokedAt: ms('revoked_at'),
  },
  (t) => [index('api_keys_app_idx').on(t.app)],
);

export const verifications = pgTable(
  'verifications',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    to: text('to').notNull(),
    country: text('country'),
    requestedChannel: text('requested_channel').notNull(),
    channel: text('channel').notNull(),
    status: text('status').notNull(), // pending | approved | canceled | locked
    purpose: text('purpose'),
    locale: text('locale').notNull(),
    codeLength: integer('code_length').notNull(),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    sends: integer('sends').notNull().default(0),
    maxSends: integer('max_sends').notNull(),
    lastSentAt: ms('last_sent_at'),
    createdAt: ms('created_at').notNull(),
    expiresAt: ms('expires_at').notNull(),
    approvedAt: ms('approved_at'),
    approvedChannel: text('approved_channel'),
    canceledAt: ms('canceled_at'),
    clientIp: text('client_ip'),
    endUserIp: text('end_user_ip'),
    endUserAgent: text('end_user_agent'),
    endUserDeviceId: text('end_user_device_id'),
    transaction: text('transaction'), // canonical JSON of the bound transaction, if any
    rowid: rowid(),
  },
  (t) => [index('verifications_app_to_created_idx').on(t.app, t.to, t.createdAt, t.rowid)],
);

const { rowid: _verificationRowid, ...verificationColumnsWithoutRowid } =
  getTableColumns(verifications);
/** Every column of a verification record (rowid excluded). */
export const verificationColumns = verificationColumnsWithoutRowid;

export const deliveries = pgTable(
  'deliveries',
  {
    id: text('id').primaryKey(),
    verificationId: text('verification_id').notNull(),
    channel: text('channel').notNull(),
    provider: text('provider').notNull(),
    status: text('status').notNull(), // queued | sent | delivered | failed | undelivered
    codeHash: text('code_hash').notNull(), // HMAC-SHA256(pepper, verification id, code); never the code
    providerMessageId: text('provider_message_id'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    callerIdPrefix: text('caller_id_prefix'),
    createdAt: ms('created_at').notNull(),
    updatedAt: ms('updated_at').notNull(),
    rowid: rowid(),
  },
  (t) => [
    index('deliveries_verification_idx').on(t.verificationId, t.createdAt, t.rowid),
    index('deliveries_provider_message_idx').on(t.provider, t.providerMessageId),
  ],
);

/** Every failure and notable success, for analysis. Append-only except for retention. */
export const events = pgTable(
  'events',
  {
    // By default, not always: a seeder may insert its own ids (it then owes the sequence a setval).
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    at: ms('at').notNull(),
    app: text('app'),
    kind: text('kind').notNull(), // failure | success
    reason: text('reason').notNull(),
    rule: text('rule'),
    details: text('details'), // JSON
    channel: text('channel'),
    provider: text('provider'),
    providerError: text('provider_error'),
    numberHash: text('number_hash'),
    numberEnc: text('number_enc'),
    prefix: text('prefix'),
    country: text('country'),
    numberType: text('number_type'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    verificationId: text('verification_id'),
    // The outbox entry of a webhook event (JSON); a trigger turns it into webhook_deliveries rows
    // in the same statement and clears it (migrations/sqlite/0002_webhooks.sql, migrations/postgres/0003_webhooks.sql, docs/webhooks.md).
    webhook: text('webhook'),
  },
  (t) => [
    index('events_at_idx').on(t.at),
    index('events_reason_at_idx').on(t.reason, t.at),
    index('events_app_at_idx').on(t.app, t.at),
    index('events_verification_idx').on(t.verificationId),
    index('events_kind_at_idx').on(t.kind, t.at),
    index('events_number_hash_at_idx').on(t.numberHash, t.at),
    index('events_prefix_at_idx').on(t.prefix, t.at),
    index('events_ip_at_idx').on(t.ip, t.at),
    index('events_country_at_idx').on(t.country, t.at),
  ],
);

const { rowid: _deliveryRowid, ...deliveryColumnsWithoutRowid } = getTableColumns(deliveries);
/** Every column of a delivery record (rowid excluded). */
export const deliveryColumns = deliveryColumnsWithoutRowid;

export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  privateJwk: text('private_jwk').notNull(),
  publicJwk: text('public_jwk').notNull(),
  createdAt: ms('created_at').notNull(),
  retiredAt: ms('retired_at'),
});
export * from './limits.schema.js';
export * from './factors.schema.js';
export * from './delivery.schema.js';
export * from './optin.schema.js';
export * from './webhooks.schema.js';
