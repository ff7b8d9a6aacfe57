import { getTableColumns, sql, type Placeholder } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * Prepared statements for the queries every request makes. drizzle builds a query's SQL again on
 * every call unless it is prepared, and on PostgreSQL that building was the largest single cost of
 * a start (profiled: 18 % of the server's CPU, most of it drizzle's `is()` type checks); a named
 * prepared statement is built once per process and parsed once per pooled connection.
 *
 * Several tables' values often go into one statement (data-modifying CTEs), so each table's
 * placeholders carry a prefix of their own: `placeholdersOf(t, 'v_')` pairs with `prefixed(row, 'v_')`.
 */
export function placeholdersOf<T extends PgTable, O extends keyof T['_']['columns'] = never>(
  table: T,
  prefix: string,
  omit: readonly O[] = [],
): Record<Exclude<keyof T['_']['columns'], O>, Placeholder> {
  return Object.fromEntries(
    Object.keys(getTableColumns(table))
      .filter((key) => !(omit as readonly string[]).includes(key))
      .map((key) => [key, sql.placeholder(`${prefix}${key}`)]),
  ) as Record<Exclude<keyof T['_']['columns'], O>, Placeholder>;
}

/** A record's fields renamed `<prefix><field>`: the values of the placeholders of `placeholdersOf(table, prefix)`. */
export function prefixed(record: object, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[`${prefix}${key}`] = value;
  return out;
}
