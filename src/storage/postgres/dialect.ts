import { sql } from 'drizzle-orm';
import type { SqlDialect } from '../shared/sql.js';

/** PostgreSQL's spelling of what the shared builders leave to the dialect (shared/sql.ts). */
export const postgresDialect: SqlDialect = {
  typed: (value, type) => sql`${value}::${sql.raw(type)}`,
  least: (a, b) => sql`least(${a}, ${b})`,
  // COLLATE "C": bytes, whatever the database's locale; NULLS FIRST as SQLite.
  ascText: (value) => sql`${value} collate "C" asc nulls first`,
  maxText: (value) => sql<string | null>`max(${value} collate "C")`,
};
