import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';

describe('resend', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('refuses a resend within 30 s with 429 resend_too_soon and a correct Retry-After', async () => {
    const v = await startVerification(t);
    t.clock.advance(10_000);
    const response = await t.call('POST', `/v1/verifications/${v.id}/resend`);
    const body = await expectProblem(response, 429, 'resend_too_soon');
    expect(response.headers.get('retry-after')).toBe('20');
    expect(body.retryAfterSeconds).toBe(20);
  });

  it('sends a new code after the cooldown; both codes stay valid and share one attempt budget', async () => {
    const v = await startVerification(t);
    const first = t.codeFor(v.id);
    t.clock.advance(30_000);
    const response = await t.call('POST', `/v1/verifications/${v.id}/resend`, {
      body: { channel: 'sms' },
    });
    expect(response.status).toBe(200);
    const resent = (await response.json()) as { sends: number; deliveries: unknown[] };
    expect(resent.sends).toBe(2);
    expect(resent.deliveries).toHaveLength(2);
    expect(t.outbox()).toHaveLength(2);
    const ok = await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: first } });
    expect(ok.status).toBe(200);
  });

  it('stops after 5 sends with 429 max_sends_exceeded (per-number rate limits raised so they do not fire first)', async () => {
    t.close();
    t = await createTestApp({ env: { LIMIT_NUMBER_STARTS_10M: '20' } });
    const v = await startVerification(t);
    for (let i = 0; i < 4; i++) {
      t.clock.advance(30_000);
      expect((await t.call('POST', `/v1/verifications/${v.id}/resend`)).status).toBe(200);
    }
    t.clock.advance(30_000);
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/resend`),
      429,
      'max_sends_exceeded',
    );
  });

  it('refuses a resend of an approved or expired verification', async () => {
    const v = await startVerification(t);
    expect(
      (await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: t.codeFor(v.id) } }))
        .status,
    ).toBe(200);
    t.clock.advance(30_000);
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/resend`),
      409,
      'already_used',
    );
    const w = await startVerification(t);
    t.clock.advance(600_000);
    await expectProblem(await t.call('POST', `/v1/verifications/${w.id}/resend`), 410, 'expired');
  });
});
