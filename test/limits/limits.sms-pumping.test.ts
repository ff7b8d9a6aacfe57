// Exploitable without these rules: SMS pumping / toll fraud. An attacker who is paid per message
// terminated in a number range triggers hundreds of starts to that range from a few IPs; every
// message sent is money lost. The burst must be stopped after a bounded number of sends, the
// automatic prefix block must be visible and reversible, and each signal must be explainable.
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { blockNumber, failures, spreadNumber, start } from './limits-helpers.js';

const BLOCK = '+33612345';

describe('SMS pumping', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('stops a burst of 500 starts to one prefix from 3 IPs after a bounded number of sends, and blocks the prefix visibly', async () => {
    t = await createTestApp();
    const key = await t.createKey('acme', ['verify']);
    const ips = ['203.0.113.10', '198.51.100.20', '192.0.2.30'];
    const statuses = new Map<string, number>();
    for (let i = 0; i < 500; i++) {
      const response = await start(t, key, blockNumber(BLOCK, i), { ip: ips[i % ips.length] });
      const reason =
        response.status === 201 ? 'sent' : ((await response.json()) as { reason: string }).reason;
      statuses.set(reason, (statuses.get(reason) ?? 0) + 1);
      t.clock.advance(2_000);
    }
    const sent = t.outbox().length;
    console.log(
      `[sms-pumping] 500 starts to ${BLOCK}xxx from 3 IPs over ${Math.round((500 * 2) / 60)} simulated minutes: ${sent} messages still went out; answers ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    expect(sent).toBeLessThanOrEqual(19);
    expect(statuses.get('sent')).toBe(sent);

    const list = (await (await t.call('GET', '/v1/blocklist?kind=prefix')).json()) as {
      entries: {
        id: string;
        value: string;
        createdBy: string;
        action: string;
        expiresAt: string;
        reason: string;
      }[];
    };
    expect(list.entries).toEqual([
      expect.objectContaining({
        value: BLOCK,
        createdBy: 'auto',
        action: 'block',
        expiresAt: '2026-01-02T00:00:38.000Z',
      }),
    ]);
    expect(list.entries[0]!.reason).toMatch(/conversion collapse: 0 of 20 starts approved/);
    expect(failures(t).find((f) => f.rule === 'auto:conversion_collapse')).toMatchObject({
      reason: 'blocked',
      details: { prefix: BLOCK, startsPerHour: 20, approvedPerHour: 0, minPercent: 20 },
    });

    // Reversible: the security team removes it and the range works again (the rule does not re-fire for the block's period).
    expect((await t.call('DELETE', `/v1/blocklist/${list.entries[0]!.id}`)).status).toBe(204);
    t.clock.advance(3_600_000);
    expect((await start(t, key, blockNumber(BLOCK, 900), { ip: '203.0.113.99' })).status).toBe(201);
  });

  it('leaves a busy prefix alone while its codes are approved', async () => {
    t = await createTestApp();
    const key = await t.createKey('acme', ['verify']);
    for (let i = 0; i < 40; i++) {
      const response = await start(t, key, blockNumber(BLOCK, i), { ip: `198.51.100.${i + 1}` });
      expect(response.status, await response.clone().text()).toBe(201);
      const { id } = (await response.json()) as { id: string };
      expect(
        (
          await t.call('POST', `/v1/verifications/${id}/check`, {
            key,
            body: { code: t.codeFor(id) },
          })
        ).status,
      ).toBe(200);
      t.clock.advance(70_000);
    }
  });

  it('refuses when prefix velocity and one IP fanning out to many numbers add up to the block score', async () => {
    t = await createTestApp({ env: { ABUSE_CONVERSION_MIN_STARTS: '1000' } });
    const key = await t.createKey('acme', ['verify']);
    for (let i = 0; i < 10; i++)
      expect((await start(t, key, blockNumber(BLOCK, i), { ip: '203.0.113.5' })).status).toBe(201);
    // 11th start: prefix velocity (11 > 10 in 10 min, score 60) + fan-out (11 > 10 numbers, score 60) = 120 ≥ 100.
    const refused = await start(t, key, blockNumber(BLOCK, 10), { ip: '203.0.113.5' });
    const body = await expectProblem(refused, 403, 'abuse_suspected');
    expect(Object.keys(body).sort()).toEqual(['reason', 'requestId', 'status', 'title', 'type']);
    const record = failures(t).at(-1)!;
    expect(record).toMatchObject({
      reason: 'abuse_suspected',
      rule: 'abuse:score',
      details: { score: 120, blockScore: 100 },
    });
    expect((record.details!.signals as { signal: string }[]).map((s) => s.signal)).toEqual([
      'prefix_velocity',
      'ip_fanout',
    ]);
    // The same prefix from another IP scores only 60: allowed.
    expect((await start(t, key, blockNumber(BLOCK, 11), { ip: '198.51.100.5' })).status).toBe(201);
  });

  it('scores a country whose starts are rarely approved, and not one whose codes are used', async () => {
    t = await createTestApp({
      env: {
        ABUSE_COUNTRY_CONVERSION_MIN_STARTS: '5',
        ABUSE_BLOCK_SCORE: '50',
        ABUSE_CONVERSION_MIN_STARTS: '1000',
      },
    });
    const key = await t.createKey('acme', ['verify']);
    for (let i = 0; i < 4; i++)
      expect((await start(t, key, spreadNumber(i), { ip: `198.51.100.${i + 1}` })).status).toBe(
        201,
      );
    await expectProblem(
      await start(t, key, spreadNumber(4), { ip: '198.51.100.9' }),
      403,
      'abuse_suspected',
    );
    expect(failures(t).at(-1)!.details!.signals).toEqual([
      expect.objectContaining({
        signal: 'country_conversion',
        country: 'FR',
        startsPerHour: 5,
        approvedPerHour: 0,
      }),
    ]);

    for (let i = 0; i < 8; i++) {
      const response = await start(t, key, `+4474001${String(i * 7).padStart(5, '0')}`, {
        ip: `203.0.113.${i + 1}`,
      });
      expect(response.status, await response.clone().text()).toBe(201);
      const { id } = (await response.json()) as { id: string };
      expect(
        (
          await t.call('POST', `/v1/verifications/${id}/check`, {
            key,
            body: { code: t.codeFor(id) },
          })
        ).status,
      ).toBe(200);
    }
  });

  it('scores sequential numbers', async () => {
    t = await createTestApp({
      env: { ABUSE_CONVERSION_MIN_STARTS: '1000', ABUSE_PREFIX_STARTS_10M: '2' },
    });
    const key = await t.createKey('acme', ['verify']);
    // +33612345600, 601, 602, 603 from different IPs: the 3rd start is velocity 60; at 603 the third sequential start adds 50.
    for (let i = 0; i < 3; i++)
      expect(
        (await start(t, key, `${BLOCK}${600 + i}`, { ip: `198.51.100.${i + 1}` })).status,
      ).toBe(201);
    const refused = await start(t, key, `${BLOCK}603`, { ip: '198.51.100.9' });
    await expectProblem(refused, 403, 'abuse_suspected');
    const record = failures(t).at(-1)!;
    expect((record.details!.signals as { signal: string }[]).map((s) => s.signal)).toEqual([
      'prefix_velocity',
      'sequential',
    ]);
    // A number far from the others in another block is fine.
    expect((await start(t, key, spreadNumber(3), { ip: '198.51.100.10' })).status).toBe(201);
  });

  it('counts a start as sequential when a number within 2 of it, above or below, was started in the last hour', async () => {
    t = await createTestApp({
      env: {
        ABUSE_CONVERSION_MIN_STARTS: '1000',
        ABUSE_SEQUENTIAL_HOUR: '1',
        ABUSE_BLOCK_SCORE: '50',
      },
    });
    const key = await t.createKey('acme', ['verify']);
    expect((await start(t, key, `${BLOCK}500`, { ip: '198.51.100.1' })).status).toBe(201);
    t.clock.advance(59 * 60_000);
    // 498 is 2 below 500, started 59 minutes ago: sequential (score 50 reaches the block score).
    await expectProblem(
      await start(t, key, `${BLOCK}498`, { ip: '198.51.100.2' }),
      403,
      'abuse_suspected',
    );
    expect(
      (failures(t).at(-1)!.details!.signals as { signal: string }[]).map((s) => s.signal),
    ).toEqual(['sequential']);
    t.clock.advance(2 * 60_000);
    // 502 is 2 above 500, now started 61 minutes ago, and 4 from 498: not sequential.
    expect((await start(t, key, `${BLOCK}502`, { ip: '198.51.100.3' })).status).toBe(201);
    // 501 is 1 below 502, started just now: sequential.
    await expectProblem(
      await start(t, key, `${BLOCK}501`, { ip: '198.51.100.4' }),
      403,
      'abuse_suspected',
    );
  });
});
