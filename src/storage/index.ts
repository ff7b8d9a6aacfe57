import type { Database } from './database.js';
import { createPostgresStores } from './postgres/index.js';
import { createSqliteStores } from './sqlite/index.js';
import type { StoreOptions, Stores } from './stores.js';

export type { StoreOptions, Stores } from './stores.js';

/**
 * The stores of the database's dialect: the one place that picks SQLite or PostgreSQL. Nothing in
 * the dialect folders imports this module (they implement stores.ts), so the choice has no cycle.
 */
export function createStores(database: Database, options: StoreOptions): Stores {
  return database.kind === 'postgres'
    ? createPostgresStores(database, options)
    : createSqliteStores(database, options);
}
