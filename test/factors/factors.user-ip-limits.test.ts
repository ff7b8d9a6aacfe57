/**
 * Threat: spreading TOTP guesses over many factors of one user (each factor has its own 5-attempt
 * lock), or alternating SMS and TOTP checks from one address, to get more guesses than any single
 * limit allows. Per-user and per-IP budgets cap both, on the same counters as verification checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appCode, enrollVerified, STEP_MS } from '../helpers/factors.js';
import {
  createTestApp,
  expectProblem,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';

const wrong = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('per-user and per-IP limits on authenticator codes', () => {
  let t: TestApp | undefined;
  afterEach(() => t?.close());

  it('caps checks per user across all their factors at FACTOR_USER_CHECKS_HOUR, whatever the IP', async () => {
    t = await createTestApp({ env: { FACTOR_USER_CHECKS_HOUR: '8', FACTORS_PER_USER: '5' } });
    const factors = [];
    for (let i = 0; i < 3; i++)
      factors.push(await enrollVerified(t, { user: 'alice', type: 'totp', label: `phone ${i}` }));
    t.clock.advance(STEP_MS);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const factor = factors[i % 3]!;
      const code = wrong(await appCode(factor.secret, t.clock.now()));
      const response = await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code, signals: { ip: `203.0.113.${i + 1}` } },
      });
      statuses.push(response.status);
      if (i === 8) {
        const body = await expectProblem(response, 429, 'rate_limited');
        expect(body.limit).toBe('factor-user-checks:hour');
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
      }
    }
    // The 3 activations spent 3 of the 8; then 5 wrong challenges, and the next one is refused.
    expect(statuses.slice(0, 5)).toEqual([422, 422, 422, 422, 422]);
    expect(statuses.slice(5)).toEqual([429, 429, 429, 429]);
    const refused = t.database.raw
      .prepare(
        "SELECT count(*) AS n FROM events WHERE reason = 'rate_limited' AND rule = 'limit:factor-user-checks:hour'",
      )
      .get();
    expect(refused).toEqual({ n: 4 });
  });

  it('shares one per-IP check budget between SMS codes and authenticator codes', async () => {
    t = await createTestApp({ env: { LIMIT_IP_CHECKS_HOUR: '4' } });
    const factor = await enrollVerified(t, { user: 'bob', type: 'totp' }); // activation from the default IP: not the attacker's
    const attacker = { ip: '198.51.100.77' };
    const v = await startVerification(t, { to: '+14155550123' });
    for (let i = 0; i < 2; i++) {
      await expectProblem(
        await t.call('POST', `/v1/verifications/${v.id}/check`, {
          body: { code: wrong(t.codeFor(v.id)), signals: attacker },
        }),
        422,
        'incorrect_code',
      );
    }
    t.clock.advance(STEP_MS);
    const code = wrong(await appCode(factor.secret, t.clock.now()));
    for (let i = 0; i < 2; i++) {
      await expectProblem(
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { code, signals: attacker },
        }),
        422,
        'incorrect_code',
      );
    }
    const refused = await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code, signals: attacker },
      }),
      429,
      'rate_limited',
    );
    expect(refused.limit).toBe('ip-checks:hour');
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, {
        body: { code: t.codeFor(v.id), signals: attacker },
      }),
      429,
      'rate_limited',
    );
  });
});
