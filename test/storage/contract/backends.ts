import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe } from 'vitest';
import { createNumberProtector } from '../../../src/events/number-protection.js';
import type { CounterStore } from '../../../src/limits/limits.store.js';
import { isDurableKey } from '../../../src/limits/limits.counters.js';
import { createWriteBehindCounters } from '../../../src/storage/memory/counters.js';
import type { StoredEvent } from '../../../src/reports/reports.store.js';
import type { Database } from '../../../src/storage/database.js';
import { createStores, type Stores } from '../../../src/storage/index.js';
import { openPostgres } from '../../../src/storage/postgres/db.js';
import { events as postgresEvents } from '../../../src/storage/postgres/schema.js';
import { createRedisCounterStore } from '../../../src/storage/redis/limits.store.js';
import { openSqlite } from '../../../src/storage/sqlite/db.js';
import { events as sqliteEvents } from '../../../src/storage/sqlite/schema.js';
import { createFakeClock, type FakeClock } from '../../helpers/fake-clock.js';
import {
  dropLeasedDatabases,
  leaseTestDatabase,
  POSTGRES_SKIP_REASON,
} from '../../helpers/postgres.js';

/**
 * The backends of the store contract suite (contract.test.ts): one set of cases per contract
 * (`*.contract.ts`), run on every backend that implements it. Every store runs on SQLite always and
 * on PostgreSQL when DATABASE_URL is set; the counter store on Redis too when REDIS_URL is set. A
 * backend that cannot run is skipped with the reason in the suite's title and printed once.
 *
 * Each case gets a fresh database (a temporary SQLite file; a PostgreSQL database of DATABASE_URL's
 * server, emptied and reused between cases) with every store on it, a fake clock, and a way to open
 * the same database as another instance would.
 */
export type Dialect = 'sqlite' | 'postgres';
/** `sqlite-memory`: SQLite's counters kept in memory and written behind (storage/memory/counters.ts). */
export type CounterBackend = Dialect | 'sqlite-memory' | 'redis';

export const DIALECTS: readonly Dialect[] = ['sqlite', 'postgres'];
export const COUNTER_BACKENDS: readonly CounterBackend[] = [
  'sqlite',
  'sqlite-memory',
  'postgres',
  'redis',
];

const REDIS_URL = process.env.REDIS_URL || undefined;

/** Why a backend's cases are skipped, or undefined when they run. */
export const SKIP_REASONS: Record<CounterBackend, string | undefined> = {
  sqlite: undefined,
  'sqlite-memory': undefined,
  postgres: POSTGRES_SKIP_REASON,
  redis: REDIS_URL
    ? undefined
    : 'REDIS_URL is not set: Redis cases skipped (e.g. REDIS_URL=redis://127.0.0.1:6379 npm test)',
};
for (const reason of Object.values(SKIP_REASONS))
  if (reason) console.warn(`store contract: ${reason}`);

/** Connections of each PostgreSQL pool, all open before a case starts. */
const POOL_SIZE = 10;
/** Concurrent callers of each guarded transition: the PostgreSQL pool's size, so all truly run at once. */
export const RACERS = POOL_SIZE;

export const REPORTS_SECRET = Buffer.from('store-contract-reports-secret-0123456789', 'utf8');
export const protector = createNumberProtector(REPORTS_SECRET);

export interface StoreContext {
  dialect: Dialect;
  stores: Stores;
  database: Database;
  clock: FakeClock;
  /** The stores of another instance on the same database, with its own connection (or pool). Closed after the case. */
  openAnother: () => Promise<Stores>;
  /** Runs one SQL statement without parameters (the same text on both dialects), as an operator or an attacker with database access would, and returns its rows. */
  query: <T = Record<string, unknown>>(text: string) => Promise<T[]>;
  /** The number in the first column of the first row of `text`. */
  queryNumber: (text: string) => Promise<number>;
  /** Inserts event rows as they are (ids included), in the given order. */
  insertEvents: (rows: readonly StoredEvent[]) => Promise<void>;
}

export interface CounterContext {
  backend: CounterBackend;
  counters: CounterStore;
}

/** An opened backend outside the per-case hooks (a suite comparing dialects opens its own). */
export interface OpenedStores {
  context: StoreContext;
  close(): Promise<void>;
}

/** Registers `define`'s cases once per dialect, each case on a fresh database. */
export function describeStores(title: string, define: (ctx: () => StoreContext) => void): void {
  for (const dialect of DIALECTS) {
    describeOn(`${title} [${dialect}]`, SKIP_REASONS[dialect], define, () => openStores(dialect));
  }
}

/** Registers `define`'s cases once per counter backend (SQLite, PostgreSQL, Redis), each case on fresh counters. */
export function describeCounters(title: string, define: (ctx: () => CounterContext) => void): void {
  for (const backend of COUNTER_BACKENDS) {
    describeOn(`${title} [${backend}]`, SKIP_REASONS[backend], define, () => openCounters(backend));
  }
}

function describeOn<C>(
  title: string,
  skip: string | undefined,
  define: (ctx: () => C) => void,
  open: () => Promise<{ context: C; close(): Promise<void> }>,
): void {
  const body = (): void => {
    let current: { context: C; close(): Promise<void> } | undefined;
    beforeEach(async () => {
      current = await open();
    });
    afterEach(async () => {
      const opened = current;
      current = undefined;
      await opened?.close();
    });
    afterAll(() => dropLeasedDatabases());
    define(() => {
      if (!current) throw new Error('the store context exists only inside a case');
      return current.context;
    });
  };
  if (skip) describe.skip(`${title} (skipped: ${skip})`, body);
  else describe(title, body);
}

/** Every store on a fresh database of `dialect`, or (with `url`) on that PostgreSQL database as it is. */
export async function openStores(
  dialect: Dialect,
  options: { url?: string } = {},
): Promise<OpenedStores> {
  const clock = createFakeClock();
  const opened = await openFresh(dialect, options.url);
  const cleanups: (() => Promise<void> | void)[] = [() => opened.cleanup()];
  const { database } = opened;
  const query = <T>(text: string) => runQuery<T>(database, text);
  const context: StoreContext = {
    dialect,
    database,
    clock,
    stores: createStores(database, { clock, protector }),
    openAnother: async () => {
      const other = await opened.reopen();
      cleanups.unshift(() => other.close());
      return createStores(other, { clock, protector });
    },
    query,
    queryNumber: async (text) =>
      Number(Object.values((await query<Record<string, unknown>>(text))[0] ?? {})[0]),
    insertEvents: (rows) => insertEvents(database, rows),
  };
  return {
    context,
    close: async () => {
      for (const cleanup of cleanups.splice(0)) await cleanup();
    },
  };
}

async function openCounters(
  backend: CounterBackend,
): Promise<{ context: CounterContext; close(): Promise<void> }> {
  if (backend === 'sqlite-memory') {
    const opened = await openStores('sqlite');
    const { stores, clock } = opened.context;
    const counters = createWriteBehindCounters({
      snapshot: stores.counterSnapshot!,
      clock,
      writeThrough: isDurableKey,
    });
    return {
      context: { backend, counters },
      close: async () => {
        await counters.close();
        await opened.close();
      },
    };
  }
  if (backend !== 'redis') {
    const opened = await openStores(backend);
    return {
      context: { backend, counters: opened.context.stores.counters },
      close: () => opened.close(),
    };
  }
  // A key prefix of its own: cases never see each other's counters, nor other runs sharing the Redis.
  const counters = await createRedisCounterStore({
    url: REDIS_URL ?? '',
    keyPrefix: `test-${randomUUID().slice(0, 8)}`,
    onFallback: () => undefined,
  });
  return { context: { backend, counters }, close: () => counters.close() };
}

async function openFresh(
  dialect: Dialect,
  url: string | undefined,
): Promise<{ database: Database; reopen(): Promise<Database>; cleanup(): Promise<void> }> {
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
  const lease = url ? { url, release: () => Promise.resolve() } : await leaseTestDatabase();
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

/** A pool whose connections are all open already, so concurrent calls of a case really overlap instead of queueing behind connection set-up. */
async function openWarmPostgres(url: string): Promise<Database> {
  const database = await openPostgres(url, { poolSize: POOL_SIZE });
  await Promise.all(
    Array.from({ length: POOL_SIZE }, () => database.pool.query('SELECT pg_sleep(0.02)')),
  );
  return database;
}

async function runQuery<T>(database: Database, text: string): Promise<T[]> {
  if (database.kind === 'postgres') return (await database.pool.query(text)).rows as T[];
  const statement = database.raw.prepare(text);
  if (statement.reader) return statement.all() as T[];
  statement.run();
  return [];
}

const INSERT_CHUNK = 500;

async function insertEvents(database: Database, rows: readonly StoredEvent[]): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK);
    if (database.kind === 'postgres') await database.db.insert(postgresEvents).values(chunk);
    else database.db.insert(sqliteEvents).values(chunk).run();
  }
}
