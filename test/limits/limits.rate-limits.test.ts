// Exploitable without these limits: SMS bombing of one victim (unbounded starts to a number), one
// client or subnet draining the SMS budget, a country or an app's spend running away, and a busy
// back end being mistaken for one abusive user when it forwards its end users' IPs.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { failures, setLimits, spreadNumber, start } from './limits-helpers.js';

describe('rate limits on starts', () => {
  let t: TestApp;
  let key: string;
  beforeEach(async () => {
    t = await createTestApp();
    key = await t.createKey('acme', ['verify']);
  });
  afterEach(() => t.close());

  it('allows 5 starts per number per 10 minutes, then 429 naming the limit with Retry-After and RateLimit-* headers', async () => {
    for (let i = 0; i < 5; i++) {
      const ok = await start(t, key, '+33612345678', { ip: `203.0.113.${i + 1}` });
      expect(ok.status).toBe(201);
      expect(ok.headers.get('ratelimit-limit')).toBe('5');
      expect(ok.headers.get('ratelimit-remaining')).toBe(String(4 - i));
    }
    t.clock.advance(60_000);
    const refused = await start(t, key, '+33612345678', { ip: '203.0.113.99' });
    const body = await expectProblem(refused, 429, 'rate_limited');
    expect(body.limit).toBe('number:10m');
    expect(refused.headers.get('retry-after')).toBe('540');
    expect(body.retryAfterSeconds).toBe(540);
    expect(refused.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused.headers.get('ratelimit-policy')).toContain('5;w=600');
    expect(t.outbox()).toHaveLength(5);
    expect(failures(t).at(-1)).toMatchObject({
      reason: 'rate_limited',
      rule: 'limit:number:10m',
      details: { count: 6, limit: 5, windowSeconds: 600 },
    });

    t.clock.advance(540_000);
    expect((await start(t, key, '+33612345678', { ip: '203.0.113.1' })).status).toBe(201);
  });

  it('allows 10 starts per number per day across 10-minute windows', async () => {
    let sent = 0;
    for (let window = 0; window < 3; window++) {
      for (let i = 0; i < 5; i++)
        if (
          (await start(t, key, '+33612345678', { ip: `203.0.113.${window * 5 + i + 1}` }))
            .status === 201
        )
          sent++;
      t.clock.advance(600_000);
    }
    expect(sent).toBe(10);
    const body = await expectProblem(
      await start(t, key, '+33612345678', { ip: '203.0.113.200' }),
      429,
      'rate_limited',
    );
    expect(body.limit).toBe('number:day');
  });

  it('limits starts per end-user IP, per /24 and per IPv6 /64', async () => {
    await setLimits(t, 'acme', { rates: { 'ip:10m': 3, 'subnet:10m': 5 } });
    for (let i = 0; i < 3; i++)
      expect((await start(t, key, spreadNumber(i), { ip: '203.0.113.7' })).status).toBe(201);
    expect(
      (
        await expectProblem(
          await start(t, key, spreadNumber(3), { ip: '203.0.113.7' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('ip:10m');
    // Same /24: 3 counted so far (a start refused by an earlier rule is not counted by later ones).
    expect((await start(t, key, spreadNumber(4), { ip: '203.0.113.8' })).status).toBe(201);
    expect((await start(t, key, spreadNumber(5), { ip: '203.0.113.9' })).status).toBe(201);
    expect(
      (
        await expectProblem(
          await start(t, key, spreadNumber(7), { ip: '203.0.113.10' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('subnet:10m');
    expect((await start(t, key, spreadNumber(6), { ip: '198.51.100.9' })).status).toBe(201);

    for (let i = 0; i < 5; i++)
      expect(
        (await start(t, key, spreadNumber(10 + i), { ip: `2001:db8:1:2::${i + 1}` })).status,
      ).toBe(201);
    expect(
      (
        await expectProblem(
          await start(t, key, spreadNumber(20), { ip: '2001:db8:1:2:ffff::1' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('subnet:10m');
    expect((await start(t, key, spreadNumber(21), { ip: '2001:db8:1:3::1' })).status).toBe(201);
  });

  it('counts one IPv6 address as one, however it is written', async () => {
    await setLimits(t, 'acme', { rates: { 'ip:10m': 2 } });
    expect((await start(t, key, spreadNumber(1), { ip: '2001:db8::7' })).status).toBe(201);
    expect((await start(t, key, spreadNumber(2), { ip: '2001:0DB8:0:0:0:0:0:7' })).status).toBe(
      201,
    );
    expect(
      (
        await expectProblem(
          await start(t, key, spreadNumber(3), { ip: '2001:db8:0::0:7' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('ip:10m');
    expect((await start(t, key, spreadNumber(4), { ip: '::ffff:203.0.113.5' })).status).toBe(201);
    expect((await start(t, key, spreadNumber(5), { ip: '203.0.113.5' })).status).toBe(201);
    expect(
      (
        await expectProblem(
          await start(t, key, spreadNumber(6), { ip: '::ffff:cb00:7105' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('ip:10m');
  });

  it('limits starts per country calling code and per app, per app', async () => {
    await setLimits(t, 'acme', { rates: { 'country:hour': 2 } });
    expect((await start(t, key, spreadNumber(1), { ip: '203.0.113.1' })).status).toBe(201);
    expect((await start(t, key, spreadNumber(2), { ip: '198.51.100.1' })).status).toBe(201);
    expect(
      (
        await expectProblem(
          await start(t, key, spreadNumber(3), { ip: '192.0.2.1' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('country:hour');
    expect((await start(t, key, '+14155550123', { ip: '192.0.2.2' })).status).toBe(201);

    const other = await t.createKey('globex', ['verify']);
    await setLimits(t, 'globex', { rates: { 'app:hour': 1 } });
    expect((await start(t, other, spreadNumber(4), { ip: '192.0.2.3' })).status).toBe(201);
    expect(
      (
        await expectProblem(
          await start(t, other, spreadNumber(5), { ip: '192.0.2.4' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('app:hour');
    // acme's country budget and globex's app budget are their own.
    expect((await start(t, key, '+14155550124', { ip: '192.0.2.5' })).status).toBe(201);
  });

  it("never limits a busy back end by its own address when it forwards its end users' IPs", async () => {
    for (let i = 0; i < 40; i++) {
      const response = await start(t, key, spreadNumber(i), {
        clientIp: '10.1.2.3',
        ip: `198.51.${100 + Math.floor(i / 200)}.${(i % 200) + 1}`,
      });
      expect(response.status, await response.clone().text()).toBe(201);
    }
    // Without signals.ip the connection's address is the end user: its own per-IP limit applies.
    for (let i = 0; i < 20; i++)
      expect((await start(t, key, spreadNumber(100 + i), { clientIp: '192.0.2.50' })).status).toBe(
        201,
      );
    expect(
      (
        await expectProblem(
          await start(t, key, spreadNumber(200), { clientIp: '192.0.2.50' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('ip:10m');
  });

  it('counts resends against the number limits', async () => {
    const first = (await (await start(t, key, '+33612345678', { ip: '203.0.113.1' })).json()) as {
      id: string;
    };
    for (let i = 0; i < 4; i++) {
      t.clock.advance(30_000);
      expect(
        (await t.call('POST', `/v1/verifications/${first.id}/resend`, { key, body: {} })).status,
      ).toBe(200);
    }
    t.clock.advance(30_000);
    const body = await expectProblem(
      await t.call('POST', `/v1/verifications/${first.id}/resend`, { key, body: {} }),
      429,
      'rate_limited',
    );
    expect(body.limit).toBe('number:10m');
  });
});

describe('per-app limits API', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ env: { LIMIT_NUMBER_STARTS_10M: '7' } });
  });
  afterEach(() => t.close());

  it('shows defaults from the environment, stores overrides and validates them', async () => {
    const before = (await (await t.call('GET', '/v1/admin/apps/acme/limits')).json()) as {
      effective: { rates: Record<string, number> };
      updatedAt: unknown;
    };
    expect(before.effective.rates['number:10m']).toBe(7);
    expect(before.updatedAt).toBeNull();

    const put = await t.call('PUT', '/v1/admin/apps/acme/limits', {
      body: { rates: { 'number:10m': 2 }, blockVoip: true, allowCountries: ['FR'] },
    });
    expect(put.status).toBe(200);
    const after = (await put.json()) as {
      overrides: unknown;
      effective: { rates: Record<string, number>; blockVoip: boolean; allowCountries: string[] };
    };
    expect(after.overrides).toEqual({
      rates: { 'number:10m': 2 },
      blockVoip: true,
      allowCountries: ['FR'],
    });
    expect(after.effective).toMatchObject({
      blockVoip: true,
      allowCountries: ['FR'],
      rates: { 'number:10m': 2, 'number:day': 10 },
    });

    await expectProblem(
      await t.call('PUT', '/v1/admin/apps/acme/limits', {
        body: { rates: { 'number:minute': 2 } },
      }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('PUT', '/v1/admin/apps/acme/limits', { body: { rates: { 'number:10m': 0 } } }),
      400,
      'invalid_request',
    );
    const verifyKey = await t.createKey('acme', ['verify']);
    await expectProblem(
      await t.call('PUT', '/v1/admin/apps/acme/limits', { key: verifyKey, body: {} }),
      403,
      'forbidden',
    );
  });
});
