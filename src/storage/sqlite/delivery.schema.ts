import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * One row per verification that may fall back to a flash call. `state` moves
 * scheduled → claimed → done | void, each step one guarded UPDATE; a claim whose instance died
 * (claimed_at older than the lease) may be claimed again, so a crash never loses a fallback.
 */
export const fallbacks = sqliteTable(
  'fallbacks',
  {
    verificationId: text('verification_id').primaryKey(),
    state: text('state').notNull(), // scheduled | claimed | done | void
    dueAt: integer('due_at').notNull(),
    reason: text('reason'), // provider_failed | delivery_failed | no_check | requested
    claimedBy: text('claimed_by'),
    claimedAt: integer('claimed_at'),
    completedAt: integer('completed_at'),
    deliveryId: text('delivery_id'),
  },
  (t) => [index('fallbacks_state_due_idx').on(t.state, t.dueAt)],
);
