// Exploitable without these rules: a 6-digit code falls to guessing if an attacker can reset the
// 5-guesses-per-verification cap by starting a new verification every 5 guesses. Guesses must be
// bounded per number across verifications (NIST SP 800-63B §5.2.2), and repeated lock-outs must
// hold the number for an escalating time.
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { setLimits, spreadNumber, start } from './limits-helpers.js';

const VICTIM = '+33612345678';
const HOUR = 3_600_000;

async function wrongGuess(t: TestApp, key: string, id: string, ip: string): Promise<Response> {
  const code = t.codeFor(id);
  const guess = code === '000000' ? '000001' : '000000';
  return t.call('POST', `/v1/verifications/${id}/check`, {
    key,
    body: { code: guess, signals: { ip } },
  });
}

describe('brute force across verifications of one number', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('never lets more than the daily guess budget (LIMIT_NUMBER_CHECKS_DAY=20) reach the code in any 24 hours', async () => {
    t = await createTestApp();
    const key = await t.createKey('acme', ['verify']);
    const startedAt = t.clock.now();
    const guessTimes: number[] = [];
    let requests = 0;
    let ipCounter = 0;
    // The attacker rotates end-user IPs so no per-IP limit helps; only the per-number rules can stop it.
    const nextIp = () => `198.51.${100 + Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;
    while (t.clock.now() - startedAt < 72 * HOUR) {
      const started = await start(t, key, VICTIM, { ip: nextIp() });
      requests++;
      if (started.status !== 201) {
        const retryAfter = Number(started.headers.get('retry-after') ?? '60');
        t.clock.advance(Math.max(1, retryAfter) * 1000);
        continue;
      }
      const { id } = (await started.json()) as { id: string };
      for (;;) {
        const response = await wrongGuess(t, key, id, nextIp());
        requests++;
        const body = (await response.json()) as { reason: string };
        if (body.reason === 'incorrect_code') guessTimes.push(t.clock.now());
        else break;
        t.clock.advance(1_000);
      }
      t.clock.advance(1_000);
    }
    let worst = 0;
    for (const from of guessTimes)
      worst = Math.max(
        worst,
        guessTimes.filter((at) => at >= from && at < from + 24 * HOUR).length,
      );
    console.log(
      `[brute-force] 72 simulated hours, ${requests} requests, ${guessTimes.length} guesses reached the code; most in any 24 h: ${worst} (budget 20)`,
    );
    expect(worst).toBeLessThanOrEqual(20);
    expect(guessTimes.length).toBeLessThanOrEqual(60);
  });

  it('counts checks per number atomically: 30 concurrent guesses, at most the budget reach the code', async () => {
    t = await createTestApp({ env: { LIMIT_NUMBER_CHECKS_DAY: '3' } });
    const key = await t.createKey('acme', ['verify']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          (await (await start(t, key, VICTIM, { ip: `203.0.113.${i + 1}` })).json()) as {
            id: string;
          }
        ).id,
      );
    }
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => wrongGuess(t, key, ids[i % 5]!, `192.0.2.${i + 1}`)),
    );
    const reasons = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { reason: string }).reason),
    );
    expect(reasons.filter((r) => r === 'incorrect_code')).toHaveLength(3);
    expect(reasons.filter((r) => r === 'rate_limited')).toHaveLength(27);
  });

  it('holds the number for an escalating time after repeated lock-outs', async () => {
    t = await createTestApp({ env: { LIMIT_NUMBER_CHECKS_DAY: '1000' } });
    const key = await t.createKey('acme', ['verify']);
    const lockOut = async (): Promise<void> => {
      const { id } = (await (await start(t, key, VICTIM, { ip: '203.0.113.1' })).json()) as {
        id: string;
      };
      for (let i = 0; i < 5; i++)
        expect((await wrongGuess(t, key, id, '203.0.113.1')).status).toBe(422);
    };
    await lockOut();
    // One lock-out is a typo-prone person: a new verification may start.
    await lockOut();
    const held = await start(t, key, VICTIM, { ip: '203.0.113.1' });
    expect((await expectProblem(held, 429, 'rate_limited')).limit).toBe('number:hold');
    expect(held.headers.get('retry-after')).toBe('900');

    t.clock.advance(900_000);
    await lockOut();
    const longer = await start(t, key, VICTIM, { ip: '203.0.113.1' });
    expect(longer.headers.get('retry-after')).toBe('1800');
    t.clock.advance(1_800_000);
    expect((await start(t, key, VICTIM, { ip: '203.0.113.1' })).status).toBe(201);
    // Other numbers are not affected.
    expect((await start(t, key, spreadNumber(1), { ip: '203.0.113.2' })).status).toBe(201);
  });

  it('limits checks per end-user IP across numbers', async () => {
    t = await createTestApp();
    const key = await t.createKey('acme', ['verify']);
    await setLimits(t, 'acme', { rates: { 'ip-checks:hour': 3 } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        (
          (await (await start(t, key, spreadNumber(i), { ip: `203.0.113.${i + 1}` })).json()) as {
            id: string;
          }
        ).id,
      );
    for (let i = 0; i < 3; i++)
      expect((await wrongGuess(t, key, ids[i]!, '192.0.2.66')).status).toBe(422);
    const refused = await wrongGuess(t, key, ids[3]!, '192.0.2.66');
    expect((await expectProblem(refused, 429, 'rate_limited')).limit).toBe('ip-checks:hour');
    expect(refused.headers.get('ratelimit-limit')).toBe('3');
    // The refused check did not consume the verification's attempts.
    const view = (await (await t.call('GET', `/v1/verifications/${ids[3]}`, { key })).json()) as {
      attempts: number;
    };
    expect(view.attempts).toBe(0);
  });
});
