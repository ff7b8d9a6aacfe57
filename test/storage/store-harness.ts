import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe } from 'vitest';
import { createNumberProtector } from '../../src/events/number-protection.js';
import type { Database } from '../../src/storage/database.js';
import { openPostgres } from '../../src/storage/postgres/db.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createStores, type Stores } from '../../src/storage/index.js';
import { createFakeClock, type FakeClock } from '../helpers/fake-clock.js';
import { dropLeasedDatabases, leaseTestDatabase, POSTGRES_SKIP_REASON } from '../helpers/postgres.js';

/**
 * The store contract harness: one set of cases, run on every dialect. Each case gets a fresh
 * database (a temporary SQLite file; a new PostgreSQL database on DATABASE_URL's server) with
 * every store on it (a PostgreSQL database is emptied and reused between cases), a fake clock, and a way to open the same database as another instance would.
 *
 *   describeStoreContract('optin store', (ctx) => {
 *     it('…', async () => { const { stores, clock } = ctx(); … });
 *   });
 */
export type Dialect = 'sqlite' | 'postgres';

export interface StoreContext {
  dialect: Dialect;
  stores: Stores;
  database: Database;
  clock: FakeClock;
  /** The stores of another instance on the same database, with its own connection (or pool). Closed after the case. */
  openAnother: () => Promise<Stores>;
  /** Runs one SQL statement without parameters (same text on both dialects) and returns its rows. */
  query: <T = Record<string, unknown>>(text: string) => Promise<T[]>;
}

export const REPORTS_SECRET = Buffer.from('store-contract-reports-secret-0123456789', 'utf8');
export const protector = createNumberProtector(REPORTS_SECRET);

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];

if (POSTGRES_SKIP_REASON) console.warn(`store contract: ${POSTGRES_SKIP_REASON}`);

/** Registers `define`'s cases once per dialect; the PostgreSQL ones are skipped (with the reason in their title) without DATABASE_URL. */
export function describeStoreContract(title: string, define: (ctx: () => StoreContext) => void): void {
  for (const dialect of DIALECTS) {
    const skip = dialect === 'postgres' ? POSTGRES_SKIP_REASON : undefined;
    const body = (): void => {
      let current: StoreContext | undefined;
      const cleanups: (() => Promise<void> | void)[] = [];
      beforeEach(async () => {
        const clock = createFakeClock();
        const opened = await openFresh(dialect);
        cleanups.push(() => opened.cleanup());
        const database = opened.database;
        current = {
          dialect,
          database,
          clock,
          stores: createStores(database, { clock, protector }),
          openAnother: async () => {
            const other = await opened.reopen();
            cleanups.unshift(() => other.close());
            return createStores(other, { clock, protector });
          },
          query: (text) => runQuery(database, text),
        };
      });
      afterEach(async () => {
        current = undefined;
        for (const cleanup of cleanups.splice(0)) await cleanup();
      });
      afterAll(() => dropLeasedDatabases());
      define(() => {
        if (!current) throw new Error('the store context exists only inside a case');
        return current;
      });
    };
    if (skip) describe.skip(`${title} [${dialect}] (skipped: ${skip})`, body);
    else describe(`${title} [${dialect}]`, body);
  }
}

async function openFresh(dialect: Dialect): Promise<{ database: Database; reopen(): Promise<Database>; cleanup(): Promise<void> }> {
  if (dialect === 'sqlite') {
    // A file rather than :memory:, so another instance can open the same database.
    const dir = mkdtempSync(join(tmpdir(), 'otp-store-'));
    const path = join(dir, 'verify.db');
    const database = openSqlite(path);
    return {
      database,
      reopen: () => Promise.resolve(openSqlite(path)),
      cleanup: () => {
        database.close();
        rmSync(dir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }
  const lease = await leaseTestDatabase();
  const database = await openWarmPostgres(lease.url);
  return {
    database,
    reopen: () => openWarmPostgres(lease.url),
    cleanup: async () => {
      await database.close();
      await lease.release();
    },
  };
}

const POOL_SIZE = 8;

/** A pool whose connections are all open already, so concurrent calls of a case really overlap instead of queueing behind connection set-up. */
async function openWarmPostgres(url: string): Promise<Database> {
  const database = await openPostgres(url, { poolSize: POOL_SIZE });
  await Promise.all(Array.from({ length: POOL_SIZE }, () => database.pool.query('SELECT pg_sleep(0.02)')));
  return database;
}

async function runQuery<T>(database: Database, text: string): Promise<T[]> {
  if (database.kind === 'postgres') return (await database.pool.query(text)).rows as T[];
  const statement = database.raw.prepare(text);
  if (statement.reader) return statement.all() as T[];
  statement.run();
  return [];
}
