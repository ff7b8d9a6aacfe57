import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, startVerification, type TestApp } from '../helpers/test-app.js';
import { FR_PREFIX, parseCsv, seedScenario } from './seed.js';

interface ConversionGroup {
  key: string | null;
  started: number;
  sent: number;
  delivered: number;
  deliveryFailed: number;
  approved: number;
  sendRate: number | null;
  deliveryRate: number | null;
  conversionRate: number | null;
}

const byKey = (groups: ConversionGroup[]): Record<string, ConversionGroup> =>
  Object.fromEntries(groups.map((g) => [String(g.key), g]));

describe('GET /v1/reports/conversion', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('counts starts, sends, failed deliveries and approvals per country, with rates', async () => {
    t = await createTestApp();
    await seedScenario(t);
    const response = await t.call('GET', '/v1/reports/conversion?groupBy=country');
    expect(response.status).toBe(200);
    const { groups } = (await response.json()) as { groups: ConversionGroup[] };
    expect(byKey(groups)).toEqual({
      FR: {
        key: 'FR',
        started: 3,
        sent: 3,
        delivered: 0,
        deliveryFailed: 0,
        approved: 1,
        sendRate: 1,
        deliveryRate: null,
        conversionRate: 0.3333,
      },
      US: {
        key: 'US',
        started: 2,
        sent: 2,
        delivered: 0,
        deliveryFailed: 0,
        approved: 2,
        sendRate: 1,
        deliveryRate: null,
        conversionRate: 1,
      },
      GB: {
        key: 'GB',
        started: 2,
        sent: 0,
        delivered: 0,
        deliveryFailed: 2,
        approved: 0,
        sendRate: 0,
        deliveryRate: null,
        conversionRate: 0,
      },
    });
    expect(groups[0]?.key).toBe('FR');

    const prefixes = byKey(
      (
        (await (await t.call('GET', '/v1/reports/conversion?groupBy=prefix')).json()) as {
          groups: ConversionGroup[];
        }
      ).groups,
    );
    expect(prefixes[FR_PREFIX]).toMatchObject({ started: 3, approved: 1 });
    expect(prefixes['+1415555']).toMatchObject({ started: 2, sent: 2, approved: 2 });
  });

  it('gives the same groups as CSV', async () => {
    t = await createTestApp();
    await seedScenario(t);
    const rows = parseCsv(
      await (await t.call('GET', '/v1/reports/conversion.csv?groupBy=country')).text(),
    );
    expect(rows[0]).toEqual([
      'country',
      'started',
      'sent',
      'delivered',
      'deliveryFailed',
      'approved',
      'sendRate',
      'deliveryRate',
      'conversionRate',
    ]);
    expect(rows).toContainEqual(['GB', '2', '0', '0', '2', '0', '0', '', '0']);
    expect(rows).toContainEqual(['FR', '3', '3', '0', '0', '1', '1', '', '0.3333']);
  });

  it('reflects real verifications: the service records started, sent and approved', async () => {
    t = await createTestApp();
    const key = await t.createKey('acme', ['verify']);
    const approved = await startVerification(t, { to: '+33 6 12 34 56 78' }, key);
    await startVerification(t, { to: '+33 6 98 76 54 32' }, key);
    const wrong = t.codeFor(approved.id) === '000000' ? '111111' : '000000';
    expect(
      (
        await t.call('POST', `/v1/verifications/${approved.id}/check`, {
          body: { code: wrong },
          key,
        })
      ).status,
    ).toBe(422);
    const check = await t.call('POST', `/v1/verifications/${approved.id}/check`, {
      body: { code: t.codeFor(approved.id) },
      key,
    });
    expect(check.status).toBe(200);
    t.clock.advance(1000);

    const { groups } = (await (
      await t.call('GET', '/v1/reports/conversion?groupBy=channel')
    ).json()) as { groups: ConversionGroup[] };
    expect(groups).toEqual([
      expect.objectContaining({
        key: 'sms',
        started: 2,
        sent: 2,
        approved: 1,
        conversionRate: 0.5,
      }),
    ]);
    const failures = (await (
      await t.call('GET', '/v1/reports/failures?groupBy=prefix&stackBy=reason')
    ).json()) as { groups: unknown[] };
    expect(failures.groups).toEqual([{ key: '+3361234', stack: 'incorrect_code', count: 1 }]);
    const { events } = (await (await t.call('GET', '/v1/events?reason=incorrect_code')).json()) as {
      events: { number: string; verificationId: string; app: string }[];
    };
    expect(events).toEqual([
      expect.objectContaining({
        number: '+33 6 •• •• •• 78',
        verificationId: approved.id,
        app: 'acme',
      }),
    ]);
  });
});
