import { sqliteTable, text, integer, index, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Times are integer milliseconds since the epoch throughout. */

export const apps = sqliteTable(
  'apps',
  {
    name: text('name').primaryKey(),
    brand: text('brand'),
    codeLength: integer('code_length'),
    webOtpDomain: text('web_otp_domain'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    customCodes: integer('custom_codes', { mode: 'boolean' }).notNull().default(false),
    // `VA` + 32 hex, set when the row is inserted (rows older than the column got theirs in its migration).
    twilioServiceSid: text('twilio_service_sid'),
  },
  (t) => [uniqueIndex('apps_twilio_service_sid_idx').on(t.twilioServiceSid)],
);

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    scopes: text('scopes').notNull(), // space-separated
    secretHash: text('secret_hash').notNull(), // SHA-256 (hex) of the secret part: keys carry 256 bits of entropy
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('api_keys_app_idx').on(t.app)],
);

export const verifications = sqliteTable(
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
    lastSentAt: integer('last_sent_at'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    approvedAt: integer('approved_at'),
    approvedChannel: text('approved_channel'),
    canceledAt: integer('canceled_at'),
    clientIp: text('client_ip'),
    endUserIp: text('end_user_ip'),
    endUserAgent: text('end_user_agent'),
    endUserDeviceId: text('end_user_device_id'),
    // Canonical JSON of the approved transaction (amount, currency, payee) the codes are bound to, if any.
    transaction: text('transaction'),
  },
  (t) => [index('verifications_app_to_created_idx').on(t.app, t.to, t.createdAt)],
);

export const deliveries = sqliteTable(
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
    callerIdPrefix: text('caller_id_prefix'), // flash calls: the calling number without its code digits
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [
    index('deliveries_verification_idx').on(t.verificationId, t.createdAt),
    index('deliveries_provider_message_idx').on(t.provider, t.providerMessageId),
  ],
);

/** Every failure and notable success, for analysis. Append-only except for retention. */
export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    app: text('app'),
    kind: text('kind').notNull(), // failure | success
    reason: text('reason').notNull(),
    rule: text('rule'),
    details: text('details'), // JSON: figures of the rule that fired, safe metadata
    channel: text('channel'),
    provider: text('provider'),
    providerError: text('provider_error'),
    numberHash: text('number_hash'), // HMAC-SHA256 of the E.164 number, keyed from REPORTS_ENCRYPTION_KEY
    numberEnc: text('number_enc'), // AES-256-GCM of the E.164 number; readable only through the reports API
    prefix: text('prefix'), // the E.164 number minus its last 4 digits
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
    // One index per reports filter, each ending in `at` so a time range stays an index range.
    index('events_kind_at_idx').on(t.kind, t.at),
    index('events_number_hash_at_idx').on(t.numberHash, t.at),
    index('events_prefix_at_idx').on(t.prefix, t.at),
    index('events_ip_at_idx').on(t.ip, t.at),
    index('events_country_at_idx').on(t.country, t.at),
  ],
);

export const signingKeys = sqliteTable('signing_keys', {
  kid: text('kid').primaryKey(),
  alg: text('alg').notNull(),
  privateJwk: text('private_jwk').notNull(),
  publicJwk: text('public_jwk').notNull(),
  createdAt: integer('created_at').notNull(),
  retiredAt: integer('retired_at'),
});
export * from './limits.schema.js';
export * from './factors.schema.js';

export * from './delivery.schema.js';
export * from './optin.schema.js';
export * from './webhooks.schema.js';
