import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlockStatusReader, BlockTarget } from '../../src/reports/block-status.js';
import { createTestApp, startVerification, type TestApp } from '../helpers/test-app.js';
import { ATTACKER_IP, FR_PREFIX, GB_PREFIX, seedScenario } from './seed.js';

interface Row {
  kind: string;
  value: string;
  numberHash: string | null;
  failures: number;
  started: number;
  sent: number;
  approved: number;
  conversionRate: number | null;
  wastedSends: number;
  estimatedCost: number | null;
  rules: { rule: string; reason: string; count: number }[];
  block: { status: string; entryId: string | null };
  eventsUrl: string;
}

interface AbuseReport {
  prefixes: Row[];
  ips: Row[];
  numbers: Row[];
  rules: { rule: string; reason: string; count: number }[];
  totals: {
    started: number;
    sent: number;
    approved: number;
    wastedSends: number;
    estimatedCost: number | null;
  };
}

describe('GET /v1/reports/abuse', () => {
  let t: TestApp;
  const asked: BlockTarget[] = [];
  const blocklist: BlockStatusReader = {
    statusOf(targets) {
      asked.push(...targets);
      return Promise.resolve(
        targets.map((target) =>
          target.kind === 'prefix' && target.value === FR_PREFIX
            ? { status: 'blocked' as const, entryId: 'blk_1', expiresAt: null }
            : { status: 'none' as const, entryId: null, expiresAt: null },
        ),
      );
    },
  };

  beforeEach(async () => {
    asked.length = 0;
    t = await createTestApp({ blockStatus: blocklist, env: { REPORTS_SMS_COST: '0.05' } });
    await seedScenario(t);
  });
  afterEach(() => t.close());

  const abuse = async (): Promise<AbuseReport> => {
    const response = await t.call('GET', '/v1/reports/abuse');
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as AbuseReport;
  };

  it('ranks prefixes, IPs and numbers by failures, with conversion, rules, wasted sends and cost', async () => {
    const report = await abuse();
    expect(
      report.prefixes.map((r) => [
        r.value,
        r.failures,
        r.started,
        r.sent,
        r.approved,
        r.wastedSends,
        r.estimatedCost,
      ]),
    ).toEqual([
      [FR_PREFIX, 7, 3, 3, 1, 2, 0.1],
      [GB_PREFIX, 2, 2, 0, 0, 0, 0],
    ]);
    expect(report.prefixes[0]).toMatchObject({
      conversionRate: 0.3333,
      rules: [{ rule: 'limit:prefix:1h', reason: 'rate_limited', count: 3 }],
    });
    expect(report.ips.map((r) => [r.value, r.failures])).toEqual([
      [ATTACKER_IP, 7],
      ['192.0.2.99', 3],
      ['192.0.2.1', 2],
    ]);
    expect(report.ips[1]?.rules).toEqual([
      { rule: 'invalid_key', reason: 'unauthorized', count: 3 },
    ]);
    // Ties are ordered by the keyed hash: compare the tail as a set.
    const numbers = report.numbers.map((r) => [r.value, r.failures, r.started, r.approved]);
    expect(numbers.slice(0, 2)).toEqual([
      ['+33 6 •• •• •• 78', 4, 3, 1],
      ['+44 7••• ••••23', 2, 2, 0],
    ]);
    expect(numbers.slice(2).sort()).toEqual([
      ['+33 6 •• •• •• 01', 1, 0, 0],
      ['+33 6 •• •• •• 02', 1, 0, 0],
      ['+33 6 •• •• •• 03', 1, 0, 0],
    ]);
    expect(report.numbers.every((r) => /^[0-9a-f]{32}$/.test(r.numberHash ?? ''))).toBe(true);
    expect(report.rules).toHaveLength(2);
    expect(report.rules).toContainEqual({ rule: 'invalid_key', reason: 'unauthorized', count: 3 });
    expect(report.rules).toContainEqual({
      rule: 'limit:prefix:1h',
      reason: 'rate_limited',
      count: 3,
    });
    expect(report.totals).toEqual({
      started: 7,
      sent: 5,
      approved: 3,
      wastedSends: 2,
      estimatedCost: 0.1,
    });
  });

  it('shows the current block status from the blocklist, asking about full numbers server-side only', async () => {
    const report = await abuse();
    expect(report.prefixes[0]?.block).toEqual({
      status: 'blocked',
      entryId: 'blk_1',
      expiresAt: null,
    });
    expect(report.prefixes[1]?.block.status).toBe('none');
    expect(asked).toContainEqual({ kind: 'number', value: '+33612345678' });
    expect(asked).toContainEqual({ kind: 'ip', value: ATTACKER_IP });
    expect(JSON.stringify(report)).not.toContain('33612345678');
  });

  it('links every row to its events', async () => {
    const report = await abuse();
    for (const row of [report.prefixes[0]!, report.ips[0]!, report.numbers[0]!]) {
      const response = await t.call('GET', row.eventsUrl);
      expect(response.status).toBe(200);
      const { events } = (await response.json()) as { events: { reason: string; kind: string }[] };
      expect(events.filter((e) => e.kind === 'failure')).toHaveLength(row.failures);
    }
  });

  it('shows the real blocklist: a prefix blocked through /v1/blocklist is reported blocked, others none', async () => {
    const plain = await createTestApp();
    try {
      await seedScenario(plain);
      const before = (await (await plain.call('GET', '/v1/reports/abuse')).json()) as AbuseReport;
      const top = before.prefixes[0]!;
      expect(top.block.status).toBe('none');
      const created = await plain.call('POST', '/v1/blocklist', {
        body: { kind: 'prefix', value: top.value, reason: 'pumping seen in the abuse report' },
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const after = (await (await plain.call('GET', '/v1/reports/abuse')).json()) as AbuseReport;
      expect(after.prefixes.find((row) => row.value === top.value)?.block).toMatchObject({
        status: 'blocked',
        entryId: id,
      });
      expect(after.totals.estimatedCost).toBeNull();
    } finally {
      plain.close();
    }
  });
});

/**
 * A back end calls for its users: it starts with `signals.ip` (the user's address) and checks from
 * its own address without signals, as most integrations do. Counting the approvals under the check
 * request's address and the starts under the user's put conversion rates of several hundred percent
 * in the IP rows: a verification's approval belongs to the address that started it.
 */
describe('GET /v1/reports/abuse: per-IP conversion', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('counts a verification approved from the back end under the end user address that started it, never above 100%', async () => {
    t = await createTestApp();
    const backEnd = '198.51.100.10';
    const user = '203.0.113.77';
    const numbers = ['+14155550131', '+14155550132', '+14155550133'];
    for (const to of numbers) {
      const v = await startVerification(t, { to, signals: { ip: user } });
      // One wrong guess from the back end, then the right code: the failure is the back end's request.
      expect(
        (
          await t.call('POST', `/v1/verifications/${v.id}/check`, {
            body: { code: t.codeFor(v.id) === '000000' ? '111111' : '000000' },
            clientIp: backEnd,
          })
        ).status,
      ).toBe(422);
      expect(
        (
          await t.call('POST', `/v1/verifications/${v.id}/check`, {
            body: { code: t.codeFor(v.id) },
            clientIp: backEnd,
          })
        ).status,
      ).toBe(200);
    }
    // The user's own wrong guess (signals.ip) puts the user's address among the failing IPs as well.
    const own = await startVerification(t, { to: '+14155550134', signals: { ip: user } });
    expect(
      (
        await t.call('POST', `/v1/verifications/${own.id}/check`, {
          body: {
            code: t.codeFor(own.id) === '000000' ? '111111' : '000000',
            signals: { ip: user },
          },
        })
      ).status,
    ).toBe(422);

    const response = await t.call('GET', '/v1/reports/abuse');
    expect(response.status).toBe(200);
    const { ips } = (await response.json()) as AbuseReport;
    const byIp = Object.fromEntries(ips.map((row) => [row.value, row]));
    expect(byIp[user]).toMatchObject({
      failures: 1,
      started: 4,
      sent: 4,
      approved: 3,
      conversionRate: 0.75,
    });
    expect(byIp[backEnd]).toMatchObject({ failures: 3, started: 0, approved: 0 });
    for (const row of ips) expect(row.approved, row.value).toBeLessThanOrEqual(row.started);
  });
});
