import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Fixed-window counters of the rate limits and abuse signals (used unless REDIS_URL is set).
 * One row per key; `expires_at` ends the current window. Persisted so a restart resets nothing.
 */
export const rateCounters = sqliteTable(
  'rate_counters',
  {
    key: text('key').primaryKey(),
    points: integer('points').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('rate_counters_expires_idx').on(t.expiresAt)],
);

/** The security team's block/allow entries, and automatic prefix blocks (created_by = 'auto'). */
export const blocklist = sqliteTable(
  'blocklist',
  {
    id: text('id').primaryKey(),
    kind: text('kind').notNull(), // number | prefix | ip | cidr | country
    value: text('value').notNull(),
    action: text('action').notNull(), // block | allow
    reason: text('reason').notNull(),
    createdBy: text('created_by').notNull(), // API key id, 'admin', or 'auto'
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at'),
  },
  (t) => [index('blocklist_kind_value_idx').on(t.kind, t.value)],
);

/** Per-app overrides of the limits and abuse rules, as JSON (limits/limits.store.ts AppLimitOverrides). */
export const appLimits = sqliteTable('app_limits', {
  app: text('app').primaryKey(),
  overrides: text('overrides').notNull(),
  updatedAt: integer('updated_at').notNull(),
});
