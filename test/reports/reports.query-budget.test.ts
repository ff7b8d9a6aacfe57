import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * A year of records (1,000,000) in a SQLite file, seeded with one prepared statement in one
 * transaction. Each report is timed through the HTTP surface (best of 3). Budgets are relative to
 * a full scan of the table measured in the same run, so they hold on a slow or busy machine and still
 * fail when a query stops using its index: a 7-day window (the dashboard's default) costs at most
 * four scans, 30 days at most 10 scans, a whole year (grouping ~800,000 rows) at most 30 scans; a page
 * of events, whatever the filter, at most half a scan (or 50 ms).
 */
const RECORDS = 1_000_000;
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 1);
const START = NOW - 365 * DAY;

const REASONS: [string, 'success' | 'failure', number][] = [
  ['started', 'success', 30],
  ['sent', 'success', 28],
  ['approved', 'success', 20],
  ['incorrect_code', 'failure', 10],
  ['rate_limited', 'failure', 5],
  ['delivery_failed', 'failure', 3],
  ['unauthorized', 'failure', 2],
  ['expired', 'failure', 2],
];
const COUNTRIES = [
  'FR',
  'US',
  'GB',
  'DE',
  'ES',
  'IT',
  'NL',
  'BE',
  'CH',
  'PL',
  'PT',
  'SE',
  'NO',
  'DK',
  'FI',
  'IE',
  'AT',
  'CZ',
  'RO',
  'UA',
];

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.skipIf(process.env.SKIP_QUERY_BUDGET === '1')(
  'reports on a year of data (1,000,000 records) answer within budget',
  () => {
    let t: TestApp;
    let dir: string;
    const figures: Record<string, number> = {};
    let scanMs = 0;
    let sampleHash = '';
    let samplePrefix = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'otp-budget-'));
      t = await createTestApp({ sqlitePath: join(dir, 'budget.db'), clock: createFakeClock(NOW) });
      const raw = t.database.raw;

      // Protected numbers made by the real recorder (hash, ciphertext, prefix), then reused across rows.
      const pool: { hash: string; enc: string; prefix: string }[] = [];
      for (let i = 0; i < 2000; i += 1)
        await t.deps.events.record({
          at: 0,
          kind: 'success',
          reason: 'pool',
          number: `+336${String(10_000_000 + i * 37).padStart(8, '0')}`,
        });
      for (const row of raw
        .prepare(
          "select number_hash as hash, number_enc as enc, prefix from events where reason = 'pool'",
        )
        .all() as typeof pool)
        pool.push(row);
      raw.prepare("delete from events where reason = 'pool'").run();
      // The writes above are in the turn's open transaction (group commit); pragmas need it committed.
      await t.database.settled();

      const weights = REASONS.flatMap(([reason, kind, weight]) =>
        Array.from({ length: weight }, () => ({ reason, kind })),
      );
      const insert = raw.prepare(
        'insert into events (at, app, kind, reason, rule, channel, provider, number_hash, number_enc, prefix, country, ip, verification_id) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const random = prng(42);
      const started = performance.now();
      // Bulk load as one would restore a year of data: indexes dropped, rows inserted, indexes rebuilt.
      // Seeding only: no journal (a crash would only lose the test file), restored to WAL before measuring.
      raw.pragma('journal_mode = OFF');
      raw.pragma('synchronous = OFF');
      const indexes = raw
        .prepare(
          "select name, sql from sqlite_master where type = 'index' and tbl_name = 'events' and sql is not null",
        )
        .all() as { name: string; sql: string }[];
      raw.transaction(() => {
        for (const index of indexes) raw.exec(`drop index ${index.name}`);
        for (let i = 0; i < RECORDS; i += 1) {
          const at = START + Math.floor((i / RECORDS) * 365 * DAY);
          const { reason, kind } = weights[Math.floor(random() * weights.length)]!;
          const n = pool[Math.floor(random() * random() * pool.length)]!;
          const auth = reason === 'unauthorized';
          insert.run(
            at,
            auth ? null : ['acme', 'beta', 'gamma'][i % 3],
            kind,
            reason,
            reason === 'rate_limited' ? 'limit:prefix:1h' : auth ? 'invalid_key' : null,
            auth ? null : 'sms',
            auth ? null : 'log',
            auth ? null : n.hash,
            auth ? null : n.enc,
            auth ? null : n.prefix,
            auth ? null : COUNTRIES[Math.floor(random() * random() * COUNTRIES.length)],
            `198.51.${Math.floor(random() * random() * 40)}.${Math.floor(random() * 250)}`,
            auth ? null : `ver_${Math.floor(i / 4)}`,
          );
        }
        for (const index of indexes) raw.exec(index.sql);
      })();
      figures[
        `seed ${RECORDS.toLocaleString('en')} records and rebuild ${indexes.length} indexes (ms)`
      ] = Math.round(performance.now() - started);
      raw.pragma('journal_mode = WAL');
      raw.pragma('synchronous = NORMAL');
      raw.exec('analyze');
      sampleHash = pool[3]!.hash;
      samplePrefix = pool[3]!.prefix;

      // The yardstick: one full read of every row of the table, measured now on this machine.
      const scans: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        const s = performance.now();
        raw.prepare('select count(*), sum(length(ip)), sum(length(reason)) from events').get();
        scans.push(performance.now() - s);
      }
      scanMs = Math.min(...scans);
      figures['full table scan (ms)'] = Math.round(scanMs);
    }, 120_000);

    afterAll(() => {
      console.log(
        `\nreport query figures on ${RECORDS.toLocaleString('en')} records (best of 3, through HTTP):`,
      );
      for (const [name, ms] of Object.entries(figures))
        console.log(`  ${name.padEnd(58)} ${String(ms).padStart(7)}`);
      t.close();
      if (process.env.KEEP_BUDGET_DB) console.log('kept', dir);
      else rmSync(dir, { recursive: true, force: true });
    });

    async function time(name: string, path: string): Promise<number> {
      let best = Infinity;
      for (let i = 0; i < 3; i += 1) {
        const s = performance.now();
        const response = await t.call('GET', path);
        const text = await response.text();
        best = Math.min(best, performance.now() - s);
        expect(response.status, text).toBe(200);
      }
      figures[`${name} (ms)`] = Math.round(best * 10) / 10;
      return best;
    }

    const YEAR = `from=${new Date(START).toISOString()}&to=${new Date(NOW).toISOString()}`;

    it('a week costs at most four full scans, a month at most ten (loose enough for a shared 2-core machine)', async () => {
      const week = [
        await time('failures by reason, 7 days', '/v1/reports/failures?groupBy=reason&days=7'),
        await time(
          'failures by hour stacked by reason, 7 days',
          '/v1/reports/failures?groupBy=hour&stackBy=reason&days=7',
        ),
        await time('failures by prefix, 7 days', '/v1/reports/failures?groupBy=prefix&days=7'),
        await time(
          'conversion by country, 7 days',
          '/v1/reports/conversion?groupBy=country&days=7',
        ),
        await time('abuse report, 7 days', '/v1/reports/abuse?days=7'),
      ];
      const month = [
        await time('failures by country, 30 days', '/v1/reports/failures?groupBy=country&days=30'),
        await time(
          'conversion by country, 30 days',
          '/v1/reports/conversion?groupBy=country&days=30',
        ),
        await time('abuse report, 30 days', '/v1/reports/abuse?days=30'),
      ];
      for (const ms of week) expect(ms).toBeLessThan(Math.max(200, scanMs * 4));
      for (const ms of month) expect(ms).toBeLessThan(Math.max(1000, scanMs * 10));
    }, 60_000);

    it('a whole year costs at most 30 full scans', async () => {
      const yearly = [
        await time('failures by reason, 365 days', `/v1/reports/failures?groupBy=reason&${YEAR}`),
        await time(
          'failures by day stacked by reason, 365 days',
          `/v1/reports/failures?groupBy=day&stackBy=reason&${YEAR}`,
        ),
        await time(
          'conversion by country, 365 days',
          `/v1/reports/conversion?groupBy=country&${YEAR}`,
        ),
      ];
      for (const ms of yearly) expect(ms).toBeLessThan(Math.max(2000, scanMs * 30));
    }, 60_000);

    it('event pages answer from an index, whatever the filter', async () => {
      const pages = [
        await time('events, newest 50', `/v1/events?${YEAR}`),
        await time(
          'events by number hash, 365 days',
          `/v1/events?numberHash=${sampleHash}&${YEAR}`,
        ),
        await time(
          'events by prefix, 365 days',
          `/v1/events?prefix=${encodeURIComponent(samplePrefix)}&${YEAR}`,
        ),
        await time('events by ip, 365 days', `/v1/events?ip=198.51.1.7&${YEAR}`),
        await time('events by reason, 365 days', `/v1/events?reason=expired&${YEAR}`),
        await time('events by verification id', `/v1/events?verificationId=ver_1234&${YEAR}`),
      ];
      for (const ms of pages) expect(ms).toBeLessThan(Math.max(50, scanMs / 2));
    }, 60_000);
  },
);
