import { bigint, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';

/** Authenticator-app (TOTP) factors; see storage/sqlite/factors.schema.ts. */
export const factors = pgTable(
  'factors',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    user: text('user').notNull(),
    type: text('type').notNull(), // totp
    status: text('status').notNull(), // unverified | verified
    label: text('label').notNull(),
    issuer: text('issuer').notNull(),
    secretSealed: text('secret_sealed').notNull(), // AES-256-GCM sealed; never the secret in clear
    lastStep: bigint('last_step', { mode: 'number' }), // the last RFC 6238 time step accepted
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    lockedUntil: bigint('locked_until', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    verifiedAt: bigint('verified_at', { mode: 'number' }),
    lastUsedAt: bigint('last_used_at', { mode: 'number' }),
  },
  (t) => [index('factors_app_user_idx').on(t.app, t.user, t.createdAt)],
);

/** Single-use recovery codes of a factor, stored as HMAC-SHA256(pepper, factor id, code). */
export const factorRecoveryCodes = pgTable(
  'factor_recovery_codes',
  {
    id: text('id').primaryKey(),
    factorId: text('factor_id')
      .notNull()
      .references(() => factors.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    usedAt: bigint('used_at', { mode: 'number' }),
  },
  (t) => [uniqueIndex('factor_recovery_codes_factor_hash_idx').on(t.factorId, t.codeHash)],
);
