/**
 * Threat: guessing a 6-digit TOTP code. With ±1 step accepted, each guess has a 3-in-a-million
 * chance; unlimited (or racing) guesses would find a code within hours. The per-factor limit must
 * hold under concurrency, lock the factor for a while, and record every failure with its figures.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { appCode, enrollVerified, STEP_MS } from '../helpers/factors.js';

const wrong = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

describe('TOTP attempt limits', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(); // MAX_CHECK_ATTEMPTS 5, FACTOR_LOCKOUT_SECONDS 900
  });
  afterEach(() => t.close());

  it('locks after 5 wrong codes, even for the right code, until the lockout ends', async () => {
    const factor = await enrollVerified(t);
    t.clock.advance(STEP_MS);
    const right = await appCode(factor.secret, t.clock.now());
    for (let i = 1; i <= 5; i++) {
      const body = await expectProblem(
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { code: wrong(right) },
        }),
        422,
        'incorrect_code',
      );
      expect(body.attemptsRemaining).toBe(5 - i);
    }
    const locked = await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
      body: { code: right },
    });
    const body = await expectProblem(locked, 429, 'max_attempts_exceeded');
    expect(Number(locked.headers.get('retry-after'))).toBe(900);
    expect(body.retryAfterSeconds).toBe(900);

    t.clock.advance(900_000);
    const later = await appCode(factor.secret, t.clock.now());
    expect(
      (await t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { code: later } }))
        .status,
    ).toBe(200);
  });

  it('a success restarts the count of consecutive failures', async () => {
    const factor = await enrollVerified(t);
    for (let round = 1; round <= 3; round++) {
      t.clock.advance(STEP_MS);
      const right = await appCode(factor.secret, t.clock.now());
      for (let i = 0; i < 4; i++)
        await expectProblem(
          await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
            body: { code: wrong(right) },
          }),
          422,
          'incorrect_code',
        );
      expect(
        (await t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { code: right } }))
          .status,
      ).toBe(200);
    }
  });

  it('counts at most 5 guesses when 30 arrive at once', async () => {
    const factor = await enrollVerified(t);
    t.clock.advance(STEP_MS);
    const right = await appCode(factor.secret, t.clock.now());
    const guesses = Array.from({ length: 30 }, (_, i) =>
      String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0'),
    );
    const responses = await Promise.all(
      guesses.map((code) =>
        t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { code } }),
      ),
    );
    expect(responses.filter((r) => r.status === 422)).toHaveLength(5);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(25);
  });

  it('limits activation attempts the same way', async () => {
    const { enroll } = await import('../helpers/factors.js');
    const factor = await enroll(t);
    const right = await appCode(factor.secret, t.clock.now());
    for (let i = 0; i < 5; i++)
      await expectProblem(
        await t.call('POST', `/v1/factors/${factor.id}/verify`, { body: { code: wrong(right) } }),
        422,
        'incorrect_code',
      );
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/verify`, { body: { code: right } }),
      429,
      'max_attempts_exceeded',
    );
  });

  it('records every failure with its reason, rule and figures (never the code)', async () => {
    const factor = await enrollVerified(t);
    t.clock.advance(STEP_MS);
    const right = await appCode(factor.secret, t.clock.now());
    for (let i = 0; i < 6; i++)
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code: wrong(right) },
        clientIp: '203.0.113.9',
      });
    const rows = t.database.raw
      .prepare(
        "SELECT reason, rule, details, ip, channel FROM events WHERE kind = 'failure' ORDER BY id",
      )
      .all() as Record<string, string>[];
    expect(rows.map((r) => r.reason)).toEqual([
      ...Array(5).fill('incorrect_code'),
      'max_attempts_exceeded',
    ]);
    expect(rows[0]).toMatchObject({ rule: 'totp', ip: '203.0.113.9', channel: 'totp' });
    expect(JSON.parse(rows[4]!.details!)).toMatchObject({
      factorId: factor.id,
      user: 'user_1',
      attempts: 5,
      maxAttempts: 5,
      attemptsRemaining: 0,
    });
    expect(rows[5]).toMatchObject({ rule: 'factor:locked' });
    expect(JSON.stringify(rows)).not.toContain(wrong(right));
  });
});
