import { getTableColumns, sql, type Placeholder } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';

/**
 * `{ column: sql.placeholder('column') }` for every column of a table, so an INSERT can be
 * prepared once (better-sqlite3 compiles a statement per prepare; preparing per request costs
 * more than running it) and then run with a plain record.
 */
export function allPlaceholders<T extends SQLiteTable>(
  table: T,
): Record<keyof T['_']['columns'], Placeholder> {
  return Object.fromEntries(
    Object.keys(getTableColumns(table)).map((key) => [key, sql.placeholder(key)]),
  ) as Record<keyof T['_']['columns'], Placeholder>;
}

/**
 * A synchronous statement's result as a promise, and its throw as a rejected promise (as the
 * PostgreSQL stores answer), never a synchronous throw out of an async-looking store method.
 */
export function answer<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
