import { bigint, index, pgTable, text } from 'drizzle-orm/pg-core';

/** Flash-call fallbacks; see storage/sqlite/delivery.schema.ts for the state machine. */
export const fallbacks = pgTable(
  'fallbacks',
  {
    verificationId: text('verification_id').primaryKey(),
    state: text('state').notNull(), // scheduled | claimed | done | void
    dueAt: bigint('due_at', { mode: 'number' }).notNull(),
    reason: text('reason'),
    claimedBy: text('claimed_by'),
    claimedAt: bigint('claimed_at', { mode: 'number' }),
    completedAt: bigint('completed_at', { mode: 'number' }),
    deliveryId: text('delivery_id'),
  },
  (t) => [index('fallbacks_state_due_idx').on(t.state, t.dueAt)],
);
