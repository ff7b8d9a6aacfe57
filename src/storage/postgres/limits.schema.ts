import { bigint, index, integer, pgTable, text } from 'drizzle-orm/pg-core';

/** Fixed-window counters of the rate limits (used unless REDIS_URL is set); see storage/sqlite/limits.schema.ts. */
export const rateCounters = pgTable(
  'rate_counters',
  {
    key: text('key').primaryKey(),
    points: integer('points').notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('rate_counters_expires_idx').on(t.expiresAt)],
);

/** The security team's block/allow entries, and automatic prefix blocks (created_by = 'auto'). */
export const blocklist = pgTable(
  'blocklist',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(), // number | prefix | ip | cidr | country
    value: text('value').notNull(),
    action: text('action').notNull(), // block | allow
    reason: text('reason').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }),
  },
  (t) => [index('blocklist_kind_value_idx').on(t.kind, t.value)],
);

/** Per-app overrides of the limits and abuse rules, as JSON text. */
export const appLimits = pgTable('app_limits', {
  app: text('app').primaryKey(),
  overrides: text('overrides').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});
