import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { ATTACKER_IP, FR_PREFIX, GB_PREFIX, parseCsv, seedScenario } from './seed.js';

interface FailureReport {
  from: number;
  to: number;
  total: number;
  groups: { key: string | null; stack?: string | null; count: number }[];
}

const asMap = (report: FailureReport): Record<string, number> =>
  Object.fromEntries(report.groups.map((g) => [String(g.key), g.count]));

describe('GET /v1/reports/failures', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
    await seedScenario(t);
  });
  afterEach(() => t.close());

  const report = async (query: string, key?: string): Promise<FailureReport> => {
    const response = await t.call('GET', `/v1/reports/failures?${query}`, { key });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as FailureReport;
  };

  it('counts failures per reason over the last 7 days, largest first, without successes or older records', async () => {
    const r = await report('groupBy=reason');
    expect(r.total).toBe(12);
    expect(r.groups).toEqual([
      { key: 'incorrect_code', count: 4 },
      expect.objectContaining({ count: 3 }),
      expect.objectContaining({ count: 3 }),
      { key: 'delivery_failed', count: 2 },
    ]);
    expect(asMap(r)).toEqual({
      incorrect_code: 4,
      rate_limited: 3,
      unauthorized: 3,
      delivery_failed: 2,
    });
    // [from, to): the default window ends just after now, so an event of this millisecond counts.
    expect(r.to).toBe(Date.UTC(2026, 0, 8) + 1);
    expect(r.from).toBe(Date.UTC(2026, 0, 1) + 1);
  });

  it('groups by country, prefix, ip, app, rule and channel', async () => {
    expect(asMap(await report('groupBy=country'))).toEqual({ FR: 7, null: 3, GB: 2 });
    expect(asMap(await report('groupBy=prefix'))).toEqual({
      [FR_PREFIX]: 7,
      null: 3,
      [GB_PREFIX]: 2,
    });
    expect(asMap(await report('groupBy=ip'))).toEqual({
      [ATTACKER_IP]: 7,
      '192.0.2.99': 3,
      '192.0.2.1': 2,
    });
    expect(asMap(await report('groupBy=app'))).toEqual({ acme: 7, null: 3, beta: 2 });
    expect(asMap(await report('groupBy=rule'))).toEqual({
      null: 6,
      'limit:prefix:1h': 3,
      invalid_key: 3,
    });
    expect(asMap(await report('groupBy=channel'))).toEqual({ sms: 9, null: 3 });
  });

  it('buckets by hour and by day in time order, and stacks by reason', async () => {
    const hourly = await report('groupBy=hour');
    expect(hourly.groups).toEqual([
      { key: '2026-01-07T10:00:00.000Z', count: 4 },
      { key: '2026-01-07T11:00:00.000Z', count: 3 },
      { key: '2026-01-07T13:00:00.000Z', count: 2 },
      { key: '2026-01-07T14:00:00.000Z', count: 3 },
    ]);
    expect((await report('groupBy=day&days=60')).groups).toEqual([
      { key: '2025-12-01T00:00:00.000Z', count: 1 },
      { key: '2026-01-07T00:00:00.000Z', count: 12 },
    ]);
    const stacked = await report('groupBy=hour&stackBy=reason');
    expect(stacked.groups).toEqual([
      { key: '2026-01-07T10:00:00.000Z', stack: 'incorrect_code', count: 4 },
      { key: '2026-01-07T11:00:00.000Z', stack: 'rate_limited', count: 3 },
      { key: '2026-01-07T13:00:00.000Z', stack: 'delivery_failed', count: 2 },
      { key: '2026-01-07T14:00:00.000Z', stack: 'unauthorized', count: 3 },
    ]);
  });

  it('answers "why are French users failing since 11:00?" with a window and a country filter', async () => {
    const r = await report(
      'groupBy=reason&country=FR&from=2026-01-07T11:00:00Z&to=2026-01-07T12:00:00Z',
    );
    expect(r.groups).toEqual([{ key: 'rate_limited', count: 3 }]);
  });

  it('shows a key of another app only that app’s records', async () => {
    const key = await t.createKey('acme', ['reports']);
    const r = await report('groupBy=reason', key);
    expect(asMap(r)).toEqual({ incorrect_code: 4, rate_limited: 3 });
  });

  it('gives the same report as CSV, by Accept header or by .csv, and it parses back', async () => {
    const json = await report('groupBy=hour&stackBy=reason');
    for (const [path, headers] of [
      ['/v1/reports/failures?groupBy=hour&stackBy=reason', { accept: 'text/csv' }],
      ['/v1/reports/failures.csv?groupBy=hour&stackBy=reason', {}],
    ] as const) {
      const response = await t.call('GET', path, { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const rows = parseCsv(await response.text());
      expect(rows[0]).toEqual(['hour', 'reason', 'count']);
      expect(rows.slice(1)).toEqual(json.groups.map((g) => [g.key, g.stack, String(g.count)]));
    }
    const byPrefix = parseCsv(
      await (await t.call('GET', '/v1/reports/failures.csv?groupBy=prefix')).text(),
    );
    expect(byPrefix).toContainEqual([FR_PREFIX, '7']);
    expect(byPrefix).toContainEqual(['', '3']);
  });

  it('refuses a reversed or too long window, an hourly window over 31 days, and an unknown grouping', async () => {
    await expectProblem(
      await t.call('GET', '/v1/reports/failures?from=2026-01-05T00:00:00Z&to=2026-01-04T00:00:00Z'),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('GET', '/v1/reports/failures?from=2024-01-01T00:00:00Z&to=2026-01-04T00:00:00Z'),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('GET', '/v1/reports/failures?groupBy=hour&days=32'),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('GET', '/v1/reports/failures?groupBy=number'),
      400,
      'invalid_request',
    );
  });

  it('requires a key with the reports scope, and records the refusal', async () => {
    await expectProblem(
      await t.call('GET', '/v1/reports/failures', { key: null }),
      401,
      'unauthorized',
    );
    const verifyKey = await t.createKey('acme', ['verify']);
    const body = await expectProblem(
      await t.call('GET', '/v1/reports/failures', { key: verifyKey }),
      403,
      'forbidden',
    );
    expect(body.requiredScope).toBe('reports');
    t.clock.advance(1000);
    const refused = asMap(await report('groupBy=rule'));
    expect(refused['scope:reports']).toBe(1);
  });
});
