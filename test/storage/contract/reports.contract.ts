import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RecordScope } from '../../../src/reports/reports.store.js';
import { POSTGRES_URL } from '../../helpers/postgres.js';
import { openStores, type OpenedStores, type StoreContext } from './backends.js';
import { DAY } from './fixtures.js';
import {
  EVENTS_DAYS,
  EVENTS_FROM,
  expectedEvents,
  makeEvents,
  reportCases,
  SCOPES,
  walk,
} from './reports.reference.js';

/**
 * The report queries, on each dialect, against the reference computation (reports.reference.ts).
 * Broken, reports would rank or count differently depending on the database: an abuse triage that
 * blocks the wrong prefix, a conversion rate that reads better than it is.
 */
export function reportsContract(ctx: () => StoreContext): void {
  const rows = makeEvents(3000, 7);

  it('answers every report query exactly as the reference computation does (groups, counts, buckets, order, ties)', async () => {
    const { stores, insertEvents } = ctx();
    await insertEvents(rows);
    const cases = reportCases(rows);
    expect(cases.length).toBeGreaterThan(800);
    let nonEmpty = 0;
    for (const c of cases) {
      const actual = await c.run(stores.reports);
      expect(actual, c.name).toStrictEqual(c.expected);
      if (Array.isArray(actual) && actual.length > 0) nonEmpty += 1;
    }
    // The data exercise the queries: most answers have rows.
    expect(nonEmpty).toBeGreaterThan(cases.length / 2);
  });

  it('pages through every record of a window with the (at, id) cursor, newest first, none twice', async () => {
    const { stores, insertEvents } = ctx();
    await insertEvents(rows);
    const scope: RecordScope = {
      from: EVENTS_FROM,
      to: EVENTS_FROM + EVENTS_DAYS * DAY,
      app: undefined,
    };
    const expected = expectedEvents(rows, scope, Infinity).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(2500);
    expect(await walk(stores.reports, scope, 97)).toEqual(expected);
  });

  it('returns numbers, not strings, for ids, times and counts', async () => {
    const { stores, insertEvents } = ctx();
    await insertEvents(rows);
    const scope = SCOPES[0]!;
    const [event] = await stores.reports.listEvents(scope, 1);
    expect(typeof event!.id).toBe('number');
    expect(typeof event!.at).toBe('number');
    const [offender] = await stores.reports.topOffenders(scope, 'number', 1);
    for (const value of [
      offender!.failures,
      offender!.started,
      offender!.firstAt,
      offender!.lastAt,
    ])
      expect(typeof value).toBe('number');
    const [conversion] = await stores.reports.conversion(scope, 'country');
    for (const value of [
      conversion!.started,
      conversion!.sent,
      conversion!.delivered,
      conversion!.deliveryFailed,
      conversion!.approved,
    ])
      expect(typeof value).toBe('number');
  });
}

/**
 * The same records in SQLite and PostgreSQL give deep-equal reports. Run twice on PostgreSQL: on
 * the default database and on one whose default collation is ICU en-US, where 'a' < 'B' and `_`
 * sorts before `:` (as on many production servers), so a tie broken by locale order would show.
 * Registered once, on both dialects at once (contract.test.ts), when DATABASE_URL is set.
 */
export function reportsParityContract(): void {
  const rows = makeEvents(4000, 20260108);
  let sqlite: OpenedStores;
  const postgres: { name: string; opened: OpenedStores | undefined; skip?: string }[] = [];
  const drops: (() => Promise<void>)[] = [];

  async function createIcuDatabase(): Promise<string> {
    const name = `otp_test_${Math.floor(Date.now() / 1000)}_${randomBytes(6).toString('hex')}`;
    const admin = async (statement: string): Promise<void> => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await admin(
      `CREATE DATABASE "${name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`,
    );
    drops.push(() => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    const url = new URL(POSTGRES_URL!);
    url.pathname = `/${name}`;
    return url.toString();
  }

  beforeAll(async () => {
    sqlite = await openStores('sqlite');
    await sqlite.context.insertEvents(rows);
    const standard = await openStores('postgres');
    await standard.context.insertEvents(rows);
    postgres.push({ name: 'default collation', opened: standard });
    try {
      const icu = await openStores('postgres', { url: await createIcuDatabase() });
      await icu.context.insertEvents(rows);
      postgres.push({ name: 'ICU en-US collation', opened: icu });
    } catch (error) {
      postgres.push({
        name: 'ICU en-US collation',
        opened: undefined,
        skip: `cannot create an ICU database on this server: ${(error as Error).message}`,
      });
    }
  });

  afterAll(async () => {
    await sqlite?.close();
    for (const { opened } of postgres) await opened?.close();
    for (const drop of drops) await drop();
  });

  it('every report query returns deep-equal results on both dialects, on both collations', async () => {
    const cases = reportCases(rows);
    const left = sqlite.context.stores.reports;
    for (const target of postgres) {
      if (!target.opened) {
        console.warn(`ReportsStore on ${target.name} skipped: ${target.skip}`);
        continue;
      }
      const { stores, queryNumber } = target.opened.context;
      if (target.name.startsWith('ICU')) {
        // The database really orders text by locale: without COLLATE "C" ties would come out differently.
        expect(
          await queryNumber(
            `SELECT CASE WHEN 'a' < 'B' AND 'limit_number' < 'limit:ip' THEN 1 ELSE 0 END`,
          ),
        ).toBe(1);
      }
      let differences = 0;
      for (const c of cases) {
        const [expected, actual] = await Promise.all([c.run(left), c.run(stores.reports)]);
        expect(actual, `${target.name}: ${c.name}`).toStrictEqual(expected);
        if (JSON.stringify(expected) !== JSON.stringify(actual)) differences += 1;
      }
      expect(differences).toBe(0);
      expect(await walk(stores.reports, SCOPES[0]!, 250)).toEqual(
        await walk(left, SCOPES[0]!, 250),
      );
    }
    expect(postgres[0]!.opened).toBeDefined();
  });
}
