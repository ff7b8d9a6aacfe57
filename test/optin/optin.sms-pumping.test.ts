/**
 * Threat: a public sign-up form that texts any number it is given is a favourite SMS-pumping
 * target (International Revenue Share Fraud): bots submit premium or sequential numbers and the
 * brand pays for every confirmation request. And a web confirmation code that can be guessed
 * lets anyone subscribe a stranger. Sign-ups therefore pass the same limits, blocklist, number-type
 * and abuse rules as verification starts, refusals are recorded with rule and figures, and code
 * guesses are capped per sign-up and counted atomically.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  RELAXED_LIMITS,
  revealNumber,
  type TestApp,
} from '../helpers/test-app.js';
import { createList, NUMBER, optinCode, subscribe } from './helpers.js';

function refusals(
  t: TestApp,
): { reason: string; rule: string | null; number: string | null; details: string | null }[] {
  const rows = t.database.raw
    .prepare(
      "SELECT reason, rule, number_enc AS numberEnc, details FROM events WHERE kind = 'failure' ORDER BY id",
    )
    .all() as {
    reason: string;
    rule: string | null;
    numberEnc: string | null;
    details: string | null;
  }[];
  return rows.map(({ numberEnc, ...row }) => ({ ...row, number: revealNumber(numberEnc) }));
}

describe('sign-ups are limited and abuse-checked like verification starts', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('refuses the 6th sign-up of a number within 10 minutes with Retry-After, recorded, and sends nothing for it', async () => {
    t = await createTestApp();
    const list = await createList(t);
    for (let i = 0; i < 5; i++) expect((await subscribe(t, list.id)).status).toBe(202);
    const refused = await subscribe(t, list.id);
    const body = await expectProblem(refused, 429, 'rate_limited');
    expect(body.limit).toBe('number:10m');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit-policy')).toBe('5;w=600;name="number:10m"');
    expect(t.outbox()).toHaveLength(5);
    expect(refusals(t)).toEqual([
      expect.objectContaining({
        reason: 'rate_limited',
        rule: 'limit:number:10m',
        number: NUMBER,
        details: expect.stringContaining('"count":6'),
      }),
    ]);
  });

  it('shares the per-number budget with verifications: a form cannot add to what the OTP flow allows', async () => {
    t = await createTestApp();
    const list = await createList(t);
    for (let i = 0; i < 5; i++)
      expect((await t.call('POST', '/v1/verifications', { body: { to: NUMBER } })).status).toBe(
        201,
      );
    await expectProblem(await subscribe(t, list.id), 429, 'rate_limited');
  });

  it('refuses premium-rate numbers and blocklisted prefixes before sending anything', async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
    const list = await createList(t);
    // +1 900: US premium rate.
    await expectProblem(
      await subscribe(t, list.id, { to: '+19005550123' }),
      422,
      'unsupported_number_type',
    );
    const blocked = await t.call('POST', '/v1/blocklist', {
      body: { kind: 'prefix', value: '+1415555', reason: 'pumping' },
    });
    expect(blocked.status).toBe(201);
    await expectProblem(await subscribe(t, list.id), 403, 'blocked');
    expect(t.outbox()).toHaveLength(0);
    expect(refusals(t).map((r) => [r.reason, r.rule])).toEqual([
      ['unsupported_number_type', 'number_type'],
      ['blocked', 'blocklist:prefix'],
    ]);
  });

  it('refuses a burst of sequential numbers from one address as abuse', async () => {
    t = await createTestApp({ env: { ABUSE_SEQUENTIAL_HOUR: '3', ABUSE_BLOCK_SCORE: '1' } });
    const list = await createList(t);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (await subscribe(t, list.id, { to: `+1415555${String(1230 + i).padStart(4, '0')}` }))
          .status,
      );
    // The third sequential start reaches ABUSE_SEQUENTIAL_HOUR=3 (counted from the second), then every further one is refused.
    expect(statuses).toEqual([202, 202, 202, 403, 403, 403]);
    expect(t.outbox()).toHaveLength(3);
    expect(
      refusals(t).some((r) => r.reason === 'abuse_suspected' && r.rule === 'abuse:score'),
    ).toBe(true);
  });

  it('locks a sign-up after 5 wrong codes, even for the right code', async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
    const list = await createList(t);
    await subscribe(t, list.id);
    const code = optinCode(t);
    const wrong = code === '000000' ? '111111' : '000000';
    const confirm = (c: string) =>
      t.call('POST', `/v1/lists/${list.id}/subscribers/confirm`, { body: { to: NUMBER, code: c } });
    for (let i = 4; i >= 0; i--)
      expect(
        (await expectProblem(await confirm(wrong), 422, 'incorrect_code')).attemptsRemaining,
      ).toBe(i);
    await expectProblem(await confirm(code), 429, 'max_attempts_exceeded');
  });

  it('confirms exactly once when 20 confirmations with the right code race', async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
    const list = await createList(t);
    await subscribe(t, list.id);
    const code = optinCode(t);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.call('POST', `/v1/lists/${list.id}/subscribers/confirm`, { body: { to: NUMBER, code } }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 409 || s === 429)).toBe(true);
    const confirmed = t.database.raw
      .prepare("SELECT COUNT(*) AS n FROM optin_consent_ledger WHERE type = 'confirmed'")
      .get();
    expect(confirmed).toEqual({ n: 1 });
  });
});
