import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { DatabaseHandle } from '../shared/handle.js';
import * as schema from './schema.js';

export type PostgresDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

/** A pool of connections; every statement commits on its own, so `settled()` resolves at once: what has run is durable. */
export interface PostgresHandle extends DatabaseHandle<'postgres'> {
  db: PostgresDb;
  pool: pg.Pool;
  /** Ends every connection of the pool; waits for queries in flight. */
  close(): Promise<void>;
}

export interface PostgresOptions {
  /** Connections this instance keeps at most (DATABASE_POOL_SIZE). */
  poolSize?: number;
  /** How long a query waits for a free connection, or for a new one to open, before failing. */
  connectionTimeoutMs?: number;
  /** Applies pending migrations before returning (the default); false for a pool that only queries. */
  migrate?: boolean;
  /** Told of errors of idle connections (the server restarted, the network dropped); the pool replaces them. */
  onIdleError?: (error: Error) => void;
}

export const POSTGRES_MIGRATIONS = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../migrations/postgres',
);

export const DEFAULT_POOL_SIZE = 10;

/**
 * Any 64-bit number works as long as every instance uses the same one: it names the lock that
 * serialises migrations ("otp-verify" in ASCII, truncated).
 */
const MIGRATION_LOCK_KEY = 0x6f74702d7665n;

/**
 * Opens a pool on a PostgreSQL database and applies pending migrations under a session-level
 * `pg_advisory_lock`, so instances starting at once migrate one after the other: the first
 * applies, the others wait on the lock and then find nothing left to do.
 */
export async function openPostgres(
  url: string,
  options: PostgresOptions = {},
): Promise<PostgresHandle> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    application_name: 'otp-verify',
  });
  // Without a listener, an idle connection the server drops would crash the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  const db = drizzle(pool, { schema });
  try {
    if (options.migrate ?? true) await migratePostgres(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return { kind: 'postgres', db, pool, settled: () => Promise.resolve(), close: () => pool.end() };
}

/** Applies pending migrations on one connection held under the migration advisory lock. */
export async function migratePostgres(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    try {
      await migrate(drizzle(client, { schema }), { migrationsFolder: POSTGRES_MIGRATIONS });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY.toString()]);
    }
  } catch (error) {
    broken = true;
    throw error;
  } finally {
    // A connection whose unlock may not have run is destroyed, never handed back holding the lock.
    client.release(broken);
  }
}
