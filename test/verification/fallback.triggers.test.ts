import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
import {
  callFor,
  eventsOf,
  flashCallsIn,
  getVerification,
  RANGES,
  scriptedSms,
} from '../delivery/helpers.js';
import { signWebhook } from '../../src/delivery/signatures.js';

const SECRET = 'http-gateway-secret-0123456789';
const HTTP_ENV = {
  FLASHCALL_RANGES: RANGES,
  SMS_PROVIDER: 'http',
  SMS_HTTP_URL: 'http://127.0.0.1:9/sms',
  SMS_HTTP_SECRET: SECRET,
  PROVIDER_RETRY_BASE_MS: '1',
};

async function postStatus(t: TestApp, body: Record<string, unknown>): Promise<Response> {
  const raw = JSON.stringify(body);
  const ts = Math.floor(t.clock.now() / 1000);
  return t.call('POST', '/v1/webhooks/http/status', {
    key: null,
    body: raw,
    headers: { 'x-otp-timestamp': String(ts), 'x-otp-signature': signWebhook(SECRET, ts, raw) },
  });
}

describe('fallback from SMS to a flash call under auto, once', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('(a) falls back at once when the SMS provider rejects, and records the provider error and the fallback', async () => {
    const sms = scriptedSms('http', () => ({
      status: 'failed',
      errorCode: 'http_400',
      errorMessage: 'unknown destination',
    }));
    t = await createTestApp({ env: HTTP_ENV, sms });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(started.channel).toBe('flashcall');
    expect(started.deliveries).toEqual([
      expect.objectContaining({
        channel: 'sms',
        provider: 'http',
        status: 'failed',
        error: { code: 'http_400', message: 'unknown destination' },
      }),
      expect.objectContaining({
        channel: 'flashcall',
        provider: 'log',
        status: 'sent',
        error: null,
      }),
    ]);
    expect((started as unknown as { fallback: unknown }).fallback).toMatchObject({
      state: 'done',
      reason: 'provider_failed',
    });
    expect(sms.sent).toHaveLength(1); // a 4xx is never retried
    const { from } = callFor(t, started.id);
    expect(await eventsOf(t, 'delivery_failed')).toEqual([
      expect.objectContaining({
        kind: 'failure',
        provider: 'http',
        provider_error: 'http_400: unknown destination',
      }),
    ]);
    expect(await eventsOf(t, 'fallback')).toEqual([
      expect.objectContaining({
        kind: 'success',
        rule: 'fallback:provider_failed',
        verification_id: started.id,
      }),
    ]);

    // The timed fallback was consumed: nothing more is placed when it would have been due.
    t.clock.advance(60_000);
    expect(await t.deps.delivery.flashCalls!.runDue()).toBe(0);
    expect(flashCallsIn(t, started.id)).toBe(1);

    const check = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: from.slice(-6) },
    });
    expect(check.status).toBe(200);
  });

  it('(a) retries a timeout or 5xx before falling back', async () => {
    let calls = 0;
    const sms = scriptedSms('http', () => {
      calls += 1;
      return { status: 'failed', errorCode: 'http_503', errorMessage: 'busy', transient: true };
    });
    t = await createTestApp({ env: { ...HTTP_ENV, PROVIDER_RETRIES: '2' }, sms });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(calls).toBe(3);
    expect(started.channel).toBe('flashcall');
  });

  it('(b) falls back when a signed status callback says the SMS failed; a replay changes nothing', async () => {
    const sms = scriptedSms('http', () => ({ status: 'sent', providerMessageId: 'gw-msg-1' }));
    t = await createTestApp({ env: HTTP_ENV, sms });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(started.channel).toBe('sms');
    expect(flashCallsIn(t)).toBe(0);

    const callback = {
      messageId: 'gw-msg-1',
      status: 'undelivered',
      errorCode: '30003',
      errorMessage: 'Unreachable handset',
    };
    const response = await postStatus(t, callback);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ result: 'applied' });
    expect(flashCallsIn(t, started.id)).toBe(1);

    const replay = await postStatus(t, callback);
    expect(await replay.json()).toEqual({ result: 'unchanged' });
    expect(flashCallsIn(t, started.id)).toBe(1);

    const view = await getVerification(t, started.id);
    expect(view.fallback).toMatchObject({ state: 'done', reason: 'delivery_failed' });
    expect(view.deliveries).toEqual([
      expect.objectContaining({
        channel: 'sms',
        status: 'undelivered',
        error: { code: '30003', message: 'Unreachable handset' },
      }),
      expect.objectContaining({ channel: 'flashcall', status: 'sent' }),
    ]);
    expect(await eventsOf(t, 'delivery_failed')).toEqual([
      expect.objectContaining({
        rule: 'status_callback',
        provider_error: '30003: Unreachable handset',
      }),
    ]);

    await expectProblem(
      await postStatus(t, { messageId: 'never-sent', status: 'failed' }),
      404,
      'not_found',
    );
  });

  it('(c) falls back when no check succeeded within FALLBACK_AFTER_SECONDS, not before', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect((started as unknown as { fallback: unknown }).fallback).toMatchObject({
      state: 'scheduled',
      reason: null,
      dueAt: '2026-01-01T00:00:45.000Z',
    });
    const flash = t.deps.delivery.flashCalls!;
    t.clock.advance(44_999);
    expect(await flash.runDue()).toBe(0);
    t.clock.advance(1);
    expect(await flash.runDue()).toBe(1);
    expect(await flash.runDue()).toBe(0);
    expect(flashCallsIn(t, started.id)).toBe(1);
    expect((await getVerification(t, started.id)).fallback).toMatchObject({
      state: 'done',
      reason: 'no_check',
    });
  });

  it('(c) FALLBACK_AFTER_SECONDS=0 keeps only the failure triggers: no timed call, ever', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES, FALLBACK_AFTER_SECONDS: '0' } });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    t.clock.advance(599_000);
    expect(await t.deps.delivery.flashCalls!.runDue()).toBe(0);
    t.clock.advance(1_000); // expired
    expect(await t.deps.delivery.flashCalls!.runDue()).toBe(0);
    expect(flashCallsIn(t)).toBe(0);
    expect((await getVerification(t, started.id)).fallback).toMatchObject({ state: 'void' });
  });

  it('(c) places no call for a verification approved (or canceled) before the fallback was due', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const approved = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    const canceled = await startVerification(t, { to: '+33612345679', channel: 'auto' });
    expect(
      (
        await t.call('POST', `/v1/verifications/${approved.id}/check`, {
          body: { code: t.codeFor(approved.id) },
        })
      ).status,
    ).toBe(200);
    expect((await t.call('POST', `/v1/verifications/${canceled.id}/cancel`)).status).toBe(200);
    t.clock.advance(60_000);
    expect(await t.deps.delivery.flashCalls!.runDue()).toBe(0);
    expect(flashCallsIn(t)).toBe(0);
    expect((await getVerification(t, approved.id)).fallback).toMatchObject({ state: 'void' });
  });

  it('keeps the late SMS code working after the fallback, with one attempt budget for both channels', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    const smsCode = t.codeFor(started.id);
    const wrong = smsCode === '000000' ? '000001' : '000000';
    await expectProblem(
      await t.call('POST', `/v1/verifications/${started.id}/check`, { body: { code: wrong } }),
      422,
      'incorrect_code',
    );
    t.clock.advance(45_000);
    await t.deps.delivery.flashCalls!.runDue();
    const view = await getVerification(t, started.id);
    expect(view).toMatchObject({
      channel: 'flashcall',
      attempts: 1,
      attemptsRemaining: 4,
      codeLength: 6,
    });
    const response = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: smsCode },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { channel: string }).channel).toBe('sms');
  });

  it('places the flash call when the client asks for it, once; a second call waits for the cooldown', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    const asked = await t.call('POST', `/v1/verifications/${started.id}/resend`, {
      body: { channel: 'flashcall' },
    });
    expect(asked.status).toBe(200);
    expect(await asked.json()).toMatchObject({
      channel: 'flashcall',
      fallback: { state: 'done', reason: 'requested' },
    });
    expect(flashCallsIn(t, started.id)).toBe(1);
    await expectProblem(
      await t.call('POST', `/v1/verifications/${started.id}/resend`, {
        body: { channel: 'flashcall' },
      }),
      429,
      'resend_too_soon',
    );
    t.clock.advance(30_000);
    expect(
      (
        await t.call('POST', `/v1/verifications/${started.id}/resend`, {
          body: { channel: 'flashcall' },
        })
      ).status,
    ).toBe(200);
    expect(flashCallsIn(t, started.id)).toBe(2);
    // Either call's number checks; the first one's is still valid.
    const first = t.outbox().filter((l) => l.channel === 'flashcall')[0]!.from!;
    expect(
      (await t.call('POST', `/v1/verifications/${started.id}/check`, { body: { code: first } }))
        .status,
    ).toBe(200);
  });

  it('never falls back for an explicit sms channel', async () => {
    const sms = scriptedSms('http', () => ({
      status: 'failed',
      errorCode: 'http_400',
      errorMessage: 'no',
    }));
    t = await createTestApp({ env: HTTP_ENV, sms });
    const started = await startVerification(t, { to: '+33612345678', channel: 'sms' });
    expect(started.channel).toBe('sms');
    t.clock.advance(60_000);
    expect(await t.deps.delivery.flashCalls!.runDue()).toBe(0);
    expect(flashCallsIn(t)).toBe(0);
  });
});
