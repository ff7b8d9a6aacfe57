import type { DatabaseConfig } from '../config.js';
import { openPostgres, type PostgresHandle, type PostgresOptions } from './postgres/db.js';
import { openSqlite, type SqliteHandle } from './sqlite/db.js';

/**
 * The database the service keeps its state in: one SQLite file (a single instance) or a
 * PostgreSQL database every instance shares. `kind` tells which; deps.ts picks the stores from it.
 * `close()` returns a promise on PostgreSQL (the pool drains) and nothing on SQLite: await it.
 */
export type Database = SqliteHandle | PostgresHandle;

/** Opens the configured database and applies its pending migrations. */
export async function openDatabase(
  config: DatabaseConfig,
  options: Pick<PostgresOptions, 'onIdleError'> = {},
): Promise<Database> {
  if (config.kind === 'sqlite') return openSqlite(config.path);
  try {
    return await openPostgres(config.url, {
      poolSize: config.poolSize,
      onIdleError: options.onIdleError,
    });
  } catch (error) {
    // Said with the address (password hidden) so an operator knows which database did not answer.
    throw new Error(
      `PostgreSQL at ${describeDatabase(config)}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
}

/** Where the database is, for logs: the SQLite path, or the PostgreSQL URL without its password. */
export function describeDatabase(config: DatabaseConfig): string {
  if (config.kind === 'sqlite') return config.path;
  try {
    const url = new URL(config.url);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}
