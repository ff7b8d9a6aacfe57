/**
 * Threat: the status webhooks are reachable without an API key. If a forged callback were
 * accepted, anyone could mark deliveries failed to trigger flash calls to any pending number
 * (toll fraud, harassment) or mark them delivered to hide failures. Every callback must carry a
 * valid provider signature; a missing, wrong, stale or tampered one is refused with 401 before
 * anything changes, and recorded as a failure.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
import { ACCOUNT_SID, AUTH_TOKEN } from './fake-twilio.js';
import { eventsOf, flashCallsIn, getVerification, RANGES, scriptedSms } from './helpers.js';
import { signWebhook, twilioSignature } from '../../src/delivery/signatures.js';

const SECRET = 'http-gateway-secret-0123456789';
const PUBLIC = 'https://verify.example.com';

describe('forged delivery callbacks are refused and change nothing', () => {
  let t: TestApp;
  afterEach(() => t.close());

  async function httpSetup() {
    const sms = scriptedSms('http', () => ({ status: 'sent', providerMessageId: 'gw-1' }));
    t = await createTestApp({
      env: {
        FLASHCALL_RANGES: RANGES,
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: 'http://127.0.0.1:9/',
        SMS_HTTP_SECRET: SECRET,
      },
      sms,
    });
    return startVerification(t, { to: '+33612345678', channel: 'auto' });
  }

  const post = (raw: string, headers: Record<string, string>) =>
    t.call('POST', '/v1/webhooks/http/status', { key: null, body: raw, headers });

  it('refuses an http callback with a missing, wrong-secret, stale or tampered signature', async () => {
    const started = await httpSetup();
    const raw = JSON.stringify({ messageId: 'gw-1', status: 'failed' });
    const now = Math.floor(t.clock.now() / 1000);
    const forged: Record<string, string>[] = [
      {},
      { 'x-otp-timestamp': String(now) },
      {
        'x-otp-timestamp': String(now),
        'x-otp-signature': signWebhook('not-the-secret-000000', now, raw),
      },
      {
        'x-otp-timestamp': String(now - 301),
        'x-otp-signature': signWebhook(SECRET, now - 301, raw),
      },
      {
        'x-otp-timestamp': String(now),
        'x-otp-signature': signWebhook(SECRET, now, raw.replace('failed', 'delivered')),
      },
      { 'x-otp-timestamp': String(now + 1), 'x-otp-signature': signWebhook(SECRET, now, raw) },
    ];
    for (const headers of forged) {
      const body = await expectProblem(await post(raw, headers), 401, 'invalid_signature');
      expect(JSON.stringify(body)).not.toContain(SECRET);
    }
    // Not even a malformed body is looked at before the signature.
    await expectProblem(await post('{not json', {}), 401, 'invalid_signature');

    expect(flashCallsIn(t)).toBe(0);
    const view = await getVerification(t, started.id);
    expect(view.deliveries).toEqual([expect.objectContaining({ status: 'sent' })]);
    expect(view.fallback).toMatchObject({ state: 'scheduled' });
    expect(await eventsOf(t, 'invalid_signature')).toHaveLength(7);
    expect((await eventsOf(t, 'invalid_signature'))[0]).toMatchObject({
      kind: 'failure',
      rule: 'webhook:http',
      provider: 'http',
    });

    const ok = await post(raw, {
      'x-otp-timestamp': String(now),
      'x-otp-signature': signWebhook(SECRET, now, raw),
    });
    expect(ok.status).toBe(200);
    expect(flashCallsIn(t)).toBe(1);
  });

  it('refuses every http callback when no http gateway (so no secret) is configured', async () => {
    t = await createTestApp({ env: { FLASHCALL_RANGES: RANGES } });
    const raw = JSON.stringify({ messageId: 'log-1', status: 'failed' });
    const now = Math.floor(t.clock.now() / 1000);
    await expectProblem(
      await post(raw, {
        'x-otp-timestamp': String(now),
        'x-otp-signature': signWebhook('', now, raw),
      }),
      401,
      'invalid_signature',
    );
  });

  it('refuses a Twilio callback signed with another token, for another URL, or with a tampered parameter', async () => {
    t = await createTestApp({
      env: {
        FLASHCALL_RANGES: RANGES,
        VOICE_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_BASE_URL: 'http://127.0.0.1:9',
        PUBLIC_BASE_URL: PUBLIC,
        PROVIDER_RETRY_BASE_MS: '1',
      },
      sms: scriptedSms('twilio', () => ({ status: 'sent', providerMessageId: 'SM0123' })),
    });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    const url = `${PUBLIC}/v1/webhooks/twilio/status`;
    const params = {
      AccountSid: ACCOUNT_SID,
      MessageSid: 'SM0123',
      MessageStatus: 'failed',
      ErrorCode: '30008',
    };
    const send = (p: Record<string, string>, signature?: string) =>
      t.call('POST', '/v1/webhooks/twilio/status', {
        key: null,
        body: new URLSearchParams(p).toString(),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
        },
      });

    await expectProblem(await send(params), 401, 'invalid_signature');
    await expectProblem(
      await send(params, twilioSignature('another-token-0123456789', url, params)),
      401,
      'invalid_signature',
    );
    await expectProblem(
      await send(
        params,
        twilioSignature(AUTH_TOKEN, 'http://localhost/v1/webhooks/twilio/status', params),
      ),
      401,
      'invalid_signature',
    );
    await expectProblem(
      await send({ ...params, MessageSid: 'SM9999' }, twilioSignature(AUTH_TOKEN, url, params)),
      401,
      'invalid_signature',
    );
    expect(flashCallsIn(t)).toBe(0);
    expect((await getVerification(t, started.id)).deliveries).toEqual([
      expect.objectContaining({ status: 'sent' }),
    ]);
    expect((await eventsOf(t, 'invalid_signature')).every((e) => e.rule === 'webhook:twilio')).toBe(
      true,
    );

    expect((await send(params, twilioSignature(AUTH_TOKEN, url, params))).status).toBe(200);
    expect((await getVerification(t, started.id)).fallback).toMatchObject({
      state: 'done',
      reason: 'delivery_failed',
    });
  });
});
