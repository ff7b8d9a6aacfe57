import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { getTableConfig } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNumberProtector } from '../../src/events/number-protection.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import {
  createInProcessApp,
  IN_PROCESS_SECRETS,
  type InProcessApp,
} from '../lib/in-process-app.js';
import { seed, seedCheckPool, type PoolEntry } from './seeder.js';
import { createPostgresSeedTarget, createSqliteSeedTarget, SEED_TABLES } from './targets.js';

/**
 * The growth benchmark is only as good as its seeded rows: they must be rows the service itself
 * could have written (its reports read them, its checks accept the pool's codes), spread the way
 * a month of traffic spreads, and exactly as many as asked for.
 */
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 1);
const clock = { now: () => NOW };
const protector = createNumberProtector(Buffer.from(IN_PROCESS_SECRETS.reportsKey, 'utf8'));
const pepper = Buffer.from(IN_PROCESS_SECRETS.pepper, 'utf8');

/** The SQLite connection of an app the seeder tests run on SQLite. */
function rawOf(t: InProcessApp): Database.Database {
  if (t.database.kind !== 'sqlite') throw new Error('expected a SQLite app');
  return t.database.raw;
}

describe('bench seeder on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'otp-seed-test-'));
  const path = join(dir, 'seeded.db');
  const now = NOW;
  let summary: Awaited<ReturnType<typeof seed>>;
  let pool: PoolEntry[];
  let t: InProcessApp;

  beforeAll(async () => {
    const handle = openSqlite(path);
    const target = createSqliteSeedTarget(handle.raw);
    summary = await seed(target, {
      verifications: 1000,
      failures: 1000,
      apps: ['shop', 'bank', 'social'],
      now,
      protector,
      seed: 42,
      chunk: 300,
    });
    pool = await seedCheckPool(target, { app: 'shop', count: 3, now, pepper });
    await target.close();
    handle.close();
    t = await createInProcessApp({ sqlitePath: path, clock });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const all = <T>(sql: string): T[] => rawOf(t).prepare(sql).all() as T[];
  const one = (sql: string): number => (rawOf(t).prepare(sql).pluck().get() as number) ?? 0;

  it('writes exactly the verifications and failures asked for, each verification with its deliveries', () => {
    expect(summary).toMatchObject({ verifications: 1000, failures: 1000 });
    expect(one('SELECT count(*) FROM verifications')).toBe(1000 + pool.length);
    expect(one('SELECT count(*) FROM deliveries')).toBe(summary.deliveries + pool.length);
    expect(summary.deliveries).toBeGreaterThanOrEqual(1000);
    expect(
      one(
        'SELECT count(*) FROM deliveries d LEFT JOIN verifications v ON v.id = d.verification_id WHERE v.id IS NULL',
      ),
    ).toBe(0);
    expect(one(`SELECT count(*) FROM events WHERE kind = 'failure'`)).toBe(1000);
  });

  it('spreads rows over the 30 days before now, across apps, countries and failure reasons', () => {
    expect(one('SELECT min(at) FROM events')).toBeGreaterThanOrEqual(now - 30 * DAY);
    expect(one('SELECT max(at) FROM events')).toBeLessThan(now);
    expect(one(`SELECT count(DISTINCT at / ${DAY}) FROM events`)).toBeGreaterThanOrEqual(30);
    expect(
      one(`SELECT count(DISTINCT created_at / ${DAY}) FROM verifications`),
    ).toBeGreaterThanOrEqual(30);
    expect(
      all<{ app: string }>('SELECT DISTINCT app FROM events WHERE app IS NOT NULL')
        .map((r) => r.app)
        .sort(),
    ).toEqual(['bank', 'shop', 'social']);
    expect(one('SELECT count(DISTINCT country) FROM events')).toBeGreaterThanOrEqual(8);
    expect(one('SELECT count(DISTINCT reason) FROM events')).toBeGreaterThanOrEqual(12);
    // The busiest reason and app dominate, as they do in real traffic.
    expect(
      all<{ reason: string }>(
        'SELECT reason FROM events GROUP BY reason ORDER BY count(*) DESC LIMIT 1',
      )[0]?.reason,
    ).toBe('incorrect_code');
    expect(
      all<{ app: string }>(
        'SELECT app FROM verifications GROUP BY app ORDER BY count(*) DESC LIMIT 1',
      )[0]?.app,
    ).toBe('shop');
    expect(one(`SELECT count(*) FROM verifications WHERE status = 'approved'`)).toBeGreaterThan(
      600,
    );
  });

  it('stores numbers of failures only protected: keyed hash, ciphertext the reports key opens, prefix', () => {
    const rows = all<{
      number_hash: string | null;
      number_enc: string | null;
      prefix: string | null;
      reason: string;
    }>('SELECT number_hash, number_enc, prefix, reason FROM events');
    const withNumber = rows.filter((r) => r.number_enc !== null);
    expect(withNumber.length).toBeGreaterThan(600);
    for (const row of withNumber) {
      const number = protector.reveal(row.number_enc!);
      expect(number).toMatch(/^\+[1-9]\d{6,14}$/);
      expect(row.number_hash).toBe(protector.hash(number!));
      expect(number!.startsWith(row.prefix!)).toBe(true);
    }
    // Unauthenticated and unparsable requests carry no number.
    expect(
      rows
        .filter((r) => r.reason === 'unauthorized' || r.reason === 'invalid_phone')
        .every((r) => r.number_hash === null),
    ).toBe(true);
    expect(one(`SELECT count(*) FROM events WHERE number_enc LIKE '%+%'`)).toBe(0);
  });

  it('leaves a database the service reads: the failure report counts every seeded failure', async () => {
    const response = await t.call('GET', '/v1/reports/failures?days=31&groupBy=reason');
    expect(response.status, await response.clone().text()).toBe(200);
    const report = (await response.json()) as {
      total: number;
      groups: { key: string; count: number }[];
    };
    expect(report.total).toBe(1000);
    const revealed = await t.call('GET', '/v1/events?kind=failure&reveal=true&limit=20');
    const page = (await revealed.json()) as { events: { number: string | null }[] };
    expect(page.events.filter((e) => e.number !== null).length).toBeGreaterThan(0);
    for (const e of page.events) if (e.number !== null) expect(e.number).toMatch(/^\+\d+$/);
  });

  it('takes checks on the pool with its codes, and still starts and approves new verifications', async () => {
    const key = await t.createKey('shop', ['verify']);
    const right = await t.call('POST', `/v1/verifications/${pool[0]!.id}/check`, {
      key,
      body: { code: pool[0]!.code },
    });
    expect(right.status, await right.clone().text()).toBe(200);
    expect(((await right.json()) as { status: string }).status).toBe('approved');
    const wrongCode = pool[1]!.code === '000000' ? '000001' : '000000';
    const wrong = await t.call('POST', `/v1/verifications/${pool[1]!.id}/check`, {
      key,
      body: { code: wrongCode },
    });
    expect(wrong.status).toBe(422);

    const start = await t.call('POST', '/v1/verifications', {
      key,
      body: { to: '+33612345678', channel: 'sms' },
    });
    expect(start.status, await start.clone().text()).toBe(201);
    const started = (await start.json()) as { id: string };
    const check = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      key,
      body: { code: t.codes().get(started.id) },
    });
    expect(check.status).toBe(200);
  });
});

describe('bench seeder with rebuilt indexes', () => {
  it('leaves every index the schema has, and the rows, as a row-by-row load would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-seed-test-'));
    const handle = openSqlite(join(dir, 'rebuilt.db'));
    const indexes = (): string[] =>
      handle.raw
        .prepare(
          `SELECT name || ': ' || coalesce(sql, '') AS d FROM sqlite_master WHERE type = 'index' ORDER BY name`,
        )
        .pluck()
        .all() as string[];
    const before = indexes();
    const target = createSqliteSeedTarget(handle.raw);
    const phases: string[] = [];
    await seed(target, {
      verifications: 500,
      failures: 500,
      apps: ['shop'],
      now: Date.now(),
      protector,
      rebuildIndexes: true,
      onIndexes: (phase, n) => phases.push(`${phase} ${n}`),
    });
    expect(indexes()).toEqual(before);
    // verifications 1, deliveries 2, events 9 secondary indexes; the primary keys' automatic ones stay.
    expect(phases).toEqual(['dropped 12', 'rebuilt 12']);
    expect(await target.count('events')).toBe(500);
    expect(
      handle.raw
        .prepare(
          `SELECT count(*) FROM events INDEXED BY events_number_hash_at_idx WHERE number_hash IS NOT NULL`,
        )
        .pluck()
        .get(),
    ).toBeGreaterThan(0);
    await target.close();
    handle.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('bench seeder with success events', () => {
  it('writes the events the service appends over each verification, which the conversion report counts, and leaves the other rows as they were', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-seed-test-'));
    const seeded = async (
      name: string,
      successEvents: boolean,
    ): Promise<{ path: string; summary: Awaited<ReturnType<typeof seed>> }> => {
      const path = join(dir, name);
      const handle = openSqlite(path);
      const target = createSqliteSeedTarget(handle.raw);
      const summary = await seed(target, {
        verifications: 500,
        failures: 300,
        apps: ['shop', 'bank'],
        now: NOW,
        protector,
        seed: 7,
        successEvents,
      });
      await target.close();
      handle.close();
      return { path, summary };
    };
    const plain = await seeded('plain.db', false);
    const withEvents = await seeded('events.db', true);
    const t = await createInProcessApp({ sqlitePath: withEvents.path, clock });
    try {
      const one = (sql: string): number => rawOf(t).prepare(sql).pluck().get() as number;
      expect(plain.summary.successEvents).toBe(0);
      expect(withEvents.summary.successEvents).toBe(
        one(`SELECT count(*) FROM events WHERE kind = 'success'`),
      );
      expect(one(`SELECT count(*) FROM events WHERE reason = 'started'`)).toBe(500);
      expect(one(`SELECT count(*) FROM events WHERE reason = 'approved'`)).toBe(
        one(`SELECT count(*) FROM verifications WHERE status = 'approved'`),
      );
      expect(one(`SELECT count(*) FROM events WHERE reason = 'sent'`)).toBe(
        one(`SELECT count(*) FROM deliveries WHERE status != 'failed'`),
      );
      expect(
        one(
          `SELECT count(*) FROM events e JOIN verifications v ON v.id = e.verification_id AND v.app = e.app WHERE e.kind = 'success'`,
        ),
      ).toBe(withEvents.summary.successEvents);

      const response = await t.call('GET', '/v1/reports/conversion?days=31&groupBy=channel');
      expect(response.status, await response.clone().text()).toBe(200);
      const { groups } = (await response.json()) as {
        groups: { key: string; started: number; approved: number }[];
      };
      expect(groups).toEqual([
        expect.objectContaining({
          key: 'sms',
          started: 500,
          approved: one(`SELECT count(*) FROM verifications WHERE status = 'approved'`),
        }),
      ]);

      // The success events take no random draw: the same seed gives the same verifications and failures.
      const shape = (path: string): unknown[] => {
        const handle = openSqlite(path);
        try {
          return handle.raw
            .prepare(
              `SELECT "to", status, created_at, (SELECT group_concat(reason) FROM events WHERE kind = 'failure') AS failures FROM verifications ORDER BY created_at`,
            )
            .all();
        } finally {
          handle.close();
        }
      };
      expect(shape(withEvents.path)).toEqual(shape(plain.path));
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** PostgreSQL: the same rows through the pg writer, into tables named and typed after the SQLite schema. */
const DATABASE_URL = process.env.DATABASE_URL;
const pgReason = DATABASE_URL?.startsWith('postgres')
  ? undefined
  : 'DATABASE_URL is not a postgres:// URL';
if (pgReason) console.warn(`bench/seed/seed.test.ts: PostgreSQL seeder tests skipped: ${pgReason}`);

describe.skipIf(pgReason !== undefined)('bench seeder on PostgreSQL', () => {
  const name = `otp_seed_test_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  let url = '';
  const admin = (): pg.Client => new pg.Client({ connectionString: DATABASE_URL });

  beforeAll(async () => {
    const client = admin();
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    const own = new URL(DATABASE_URL!);
    own.pathname = `/${name}`;
    url = own.toString();
    // Tables after the SQLite schema: the PostgreSQL schema uses the same names (integer ms → bigint).
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    for (const table of Object.values(SEED_TABLES)) {
      const config = getTableConfig(table);
      const columns = config.columns.map((c) => {
        const serial = c.primary && c.columnType === 'SQLiteInteger';
        const type = serial ? 'bigserial' : c.columnType === 'SQLiteInteger' ? 'bigint' : 'text';
        return `"${c.name}" ${type}${c.primary ? ' PRIMARY KEY' : ''}${c.notNull && !serial ? ' NOT NULL' : ''}${c.hasDefault && !serial ? ' DEFAULT 0' : ''}`;
      });
      await db.query(`CREATE TABLE "${config.name}" (${columns.join(', ')})`);
    }
    await db.query('CREATE INDEX events_at_idx ON "events" ("at")');
    await db.end();
  });
  afterAll(async () => {
    const client = admin();
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  });

  it('writes exactly the rows asked for, in batched transactions', async () => {
    const target = await createPostgresSeedTarget(url);
    try {
      const summary = await seed(target, {
        verifications: 1000,
        failures: 1000,
        apps: ['shop', 'bank'],
        now: Date.now(),
        protector,
        chunk: 400,
        rebuildIndexes: true,
      });
      const pool = await seedCheckPool(target, { app: 'shop', count: 5, now: Date.now(), pepper });
      expect(await target.count('verifications')).toBe(1000 + pool.length);
      expect(await target.count('deliveries')).toBe(summary.deliveries + pool.length);
      expect(await target.count('events')).toBe(1000);
      // The secondary index was dropped for the load and is back; primary keys were never touched.
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const { rows } = await db.query<{ indexname: string }>(
        `SELECT indexname FROM pg_indexes WHERE tablename IN ('events', 'verifications') ORDER BY 1`,
      );
      await db.end();
      expect(rows.map((r) => r.indexname)).toEqual([
        'events_at_idx',
        'events_pkey',
        'verifications_pkey',
      ]);
    } finally {
      await target.close();
    }
  });

  it('explains a database without the service tables', async () => {
    const client = admin();
    await client.connect();
    await client.query(`CREATE DATABASE ${name}_empty`);
    const empty = new URL(url);
    empty.pathname = `/${name}_empty`;
    const target = await createPostgresSeedTarget(empty.toString());
    try {
      await expect(target.count('verifications')).rejects.toThrow(/no otp-verify tables/);
    } finally {
      await target.close();
      await client.query(`DROP DATABASE IF EXISTS ${name}_empty WITH (FORCE)`);
      await client.end();
    }
  });
});
