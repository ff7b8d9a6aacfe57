/**
 * Threat: a TOTP code observed once (shoulder-surfed, phished in real time, logged by a proxy) is
 * replayed while it is still inside its 30-second window, or the same code is fired in parallel so
 * that a check-then-write race approves it several times. Either would let one code log in twice.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { appCode, enrollVerified, STEP_MS } from '../helpers/factors.js';

describe('TOTP replay protection', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('refuses a code accepted once for the rest of its window (409 already_used), and records the replay', async () => {
    const factor = await enrollVerified(t);
    t.clock.advance(STEP_MS);
    const code = await appCode(factor.secret, t.clock.now());
    expect(
      (await t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { code } })).status,
    ).toBe(200);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { code } }),
      409,
      'already_used',
    );
    t.clock.advance(STEP_MS - 1); // next step: the code is still within the ±1 window
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { code } }),
      409,
      'already_used',
    );
    // Once a later step is accepted, an older never-used code still inside the window is refused too.
    t.clock.advance(STEP_MS);
    expect(
      (
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { code: await appCode(factor.secret, t.clock.now()) },
        })
      ).status,
    ).toBe(200);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code: await appCode(factor.secret, t.clock.now() - STEP_MS) },
      }),
      409,
      'already_used',
    );
    const replays = await t.rows<{ rule: string; details: string }>(
      "SELECT rule, details FROM events WHERE reason = 'already_used'",
    );
    expect(replays).toHaveLength(3);
    expect(replays[0]).toMatchObject({ rule: 'totp:replay' });
    expect(JSON.parse(replays[0]!.details)).toMatchObject({ factorId: factor.id });
  });

  it('refuses the activation code as a challenge code (activation consumes its step)', async () => {
    const factor = await enrollVerified(t);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code: await appCode(factor.secret, t.clock.now()) },
      }),
      409,
      'already_used',
    );
  });

  it('approves exactly once when 20 requests with the same code arrive concurrently', async () => {
    const factor = await enrollVerified(t);
    t.clock.advance(STEP_MS);
    const code = await appCode(factor.secret, t.clock.now());
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { code } }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The others are replays (409) or, once the factor's attempts or the user's hourly checks are
    // spent, refused before any check (429).
    for (const response of responses.filter((r) => r.status !== 200)) {
      const body = (await response.json()) as { reason: string };
      expect(['already_used', 'max_attempts_exceeded', 'rate_limited']).toContain(body.reason);
    }
    const [approvals] = await t.rows<{ n: number }>(
      "SELECT count(*) AS n FROM events WHERE reason = 'approved' AND kind = 'success'",
    );
    expect(Number(approvals?.n)).toBe(1);
  });

  it('approves exactly once under 20 concurrent requests for an activation code too', async () => {
    const { enroll } = await import('../helpers/factors.js');
    const factor = await enroll(t);
    const code = await appCode(factor.secret, t.clock.now());
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.call('POST', `/v1/factors/${factor.id}/verify`, { body: { code } }),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    const [codes] = await t.rows<{ n: number }>(
      'SELECT count(*) AS n FROM factor_recovery_codes WHERE factor_id = ?',
      factor.id,
    );
    expect(Number(codes?.n)).toBe(10); // one activation's recovery codes, not several
  });
});
