import { asc, sql } from 'drizzle-orm';
import type { SqlDialect } from '../shared/sql.js';

/** SQLite's spelling of what the shared builders leave to the dialect (shared/sql.ts). */
export const sqliteDialect: SqlDialect = {
  // Values carry their own type in SQLite: no cast.
  typed: (value) => sql`${value}`,
  least: (a, b) => sql`min(${a}, ${b})`,
  // SQLite compares text as bytes (BINARY), NULL first, by default.
  ascText: (value) => asc(value),
  maxText: (value) => sql<string | null>`max(${value})`,
};
