import { sqliteTable, text, integer, index, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Authenticator-app (TOTP) factors. Times are integer milliseconds since the epoch. */
export const factors = sqliteTable(
  'factors',
  {
    id: text('id').primaryKey(),
    app: text('app').notNull(),
    user: text('user').notNull(),
    type: text('type').notNull(), // totp
    status: text('status').notNull(), // unverified | verified
    label: text('label').notNull(),
    issuer: text('issuer').notNull(),
    // AES-256-GCM sealed secret (`v1.<kid>.<iv>.<ciphertext>.<tag>`, AAD = factor id); never the secret in clear.
    secretSealed: text('secret_sealed').notNull(),
    // The last RFC 6238 time step accepted: a code of this step or earlier is refused (replay protection).
    lastStep: integer('last_step'),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull(),
    lockedUntil: integer('locked_until'),
    createdAt: integer('created_at').notNull(),
    verifiedAt: integer('verified_at'),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [index('factors_app_user_idx').on(t.app, t.user, t.createdAt)],
);

/** Single-use recovery codes of a factor, stored as HMAC-SHA256(pepper, factor id, code). */
export const factorRecoveryCodes = sqliteTable(
  'factor_recovery_codes',
  {
    id: text('id').primaryKey(),
    factorId: text('factor_id')
      .notNull()
      .references(() => factors.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    usedAt: integer('used_at'),
  },
  (t) => [uniqueIndex('factor_recovery_codes_factor_hash_idx').on(t.factorId, t.codeHash)],
);
