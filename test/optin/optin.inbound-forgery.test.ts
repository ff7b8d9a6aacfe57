/**
 * Threat: the inbound-message webhooks take no API key. A forged "YES" would manufacture consent
 * for a number that never gave it (a TCPA violation in the brand's name); a forged "STOP" would
 * silently unsubscribe real customers; a forged "HELP" would make the service text any number.
 * Every inbound message must carry the provider's valid signature, checked before the body is read;
 * the unsigned development route exists only with the log provider (refused in production).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, RELAXED_LIMITS, type TestApp } from '../helpers/test-app.js';
import { ACCOUNT_SID, AUTH_TOKEN } from '../delivery/fake-twilio.js';
import { scriptedSms } from '../delivery/helpers.js';
import { createList, ledgerRows, NUMBER, SENDER, subscribe } from './helpers.js';
import { signWebhook, twilioSignature } from '../../src/delivery/signatures.js';

const SECRET = 'http-gateway-secret-0123456789';
const PUBLIC = 'https://verify.example.com';

describe('forged inbound messages are refused and change nothing', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const status = async (listId: string) =>
    (
      (await (
        await t.call('GET', `/v1/lists/${listId}/subscribers/${encodeURIComponent(NUMBER)}/consent`)
      ).json()) as { subscriber: { status: string } }
    ).subscriber.status;

  it('http: refuses a missing, wrong-secret, stale or tampered signature; accepts the gateway-signed YES', async () => {
    const sms = scriptedSms('http', () => ({ status: 'sent', providerMessageId: 'gw-1' }));
    t = await createTestApp({
      env: {
        ...RELAXED_LIMITS,
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: 'http://127.0.0.1:9/',
        SMS_HTTP_SECRET: SECRET,
      },
      sms,
    });
    const list = await createList(t);
    expect((await subscribe(t, list.id)).status).toBe(202);
    expect(sms.sent[0]).toMatchObject({ to: NUMBER, from: SENDER });
    const before = ledgerRows(t).length;

    const raw = JSON.stringify({ from: NUMBER, to: SENDER, body: 'YES', messageId: 'in-1' });
    const post = (body: string, headers: Record<string, string>) =>
      t.call('POST', '/v1/webhooks/http/inbound', { key: null, body, headers });
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
        'x-otp-signature': signWebhook(SECRET, now, raw.replace('YES', 'STOP')),
      },
    ];
    for (const headers of forged)
      await expectProblem(await post(raw, headers), 401, 'invalid_signature');
    await expectProblem(await post('{not json', {}), 401, 'invalid_signature');
    expect(await status(list.id)).toBe('pending');
    expect(ledgerRows(t)).toHaveLength(before);
    const refusals = t.database.raw
      .prepare("SELECT rule, provider FROM events WHERE reason = 'invalid_signature'")
      .all();
    expect(refusals).toHaveLength(6);
    expect(refusals[0]).toEqual({ rule: 'webhook:http:inbound', provider: 'http' });

    const ok = await post(raw, {
      'x-otp-timestamp': String(now),
      'x-otp-signature': signWebhook(SECRET, now, raw),
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ result: 'confirmed' });
    expect(await status(list.id)).toBe('confirmed');
  });

  it('twilio: refuses another token, another URL or a tampered parameter; accepts a signed STOP and answers TwiML', async () => {
    const sms = scriptedSms('twilio', () => ({ status: 'sent', providerMessageId: 'SM0123' }));
    t = await createTestApp({
      env: {
        ...RELAXED_LIMITS,
        SMS_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_FROM: SENDER,
        TWILIO_BASE_URL: 'http://127.0.0.1:9',
        PUBLIC_BASE_URL: PUBLIC,
      },
      sms,
    });
    const list = await createList(t);
    await subscribe(t, list.id);
    const url = `${PUBLIC}/v1/webhooks/twilio/inbound`;
    const params = {
      AccountSid: ACCOUNT_SID,
      MessageSid: 'SMin1',
      From: NUMBER,
      To: SENDER,
      Body: 'STOP',
    };
    const form = new URLSearchParams(params).toString();
    const post = (body: string, signature: string | undefined) =>
      t.call('POST', '/v1/webhooks/twilio/inbound', {
        key: null,
        body,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
        },
      });

    await expectProblem(await post(form, undefined), 401, 'invalid_signature');
    await expectProblem(
      await post(form, twilioSignature('another-token-0123456789abcdef', url, params)),
      401,
      'invalid_signature',
    );
    await expectProblem(
      await post(form, twilioSignature(AUTH_TOKEN, `${PUBLIC}/v1/webhooks/twilio/status`, params)),
      401,
      'invalid_signature',
    );
    await expectProblem(
      await post(
        new URLSearchParams({ ...params, From: '+14155550124' }).toString(),
        twilioSignature(AUTH_TOKEN, url, params),
      ),
      401,
      'invalid_signature',
    );
    expect(await status(list.id)).toBe('pending');
    expect(sms.sent).toHaveLength(1);

    const ok = await post(form, twilioSignature(AUTH_TOKEN, url, params));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/xml/);
    expect(await ok.text()).toContain('<Response/>');
    expect(await status(list.id)).toBe('unsubscribed');
    expect(sms.sent).toHaveLength(2);
    expect(sms.sent[1]).toMatchObject({
      to: NUMBER,
      from: SENDER,
      body: expect.stringContaining('unsubscribed'),
    });
  });

  it('refuses every http inbound message when no http gateway (so no secret) is configured', async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
    const raw = JSON.stringify({ from: NUMBER, to: SENDER, body: 'YES' });
    const now = Math.floor(t.clock.now() / 1000);
    await expectProblem(
      await t.call('POST', '/v1/webhooks/http/inbound', {
        key: null,
        body: raw,
        headers: { 'x-otp-timestamp': String(now), 'x-otp-signature': signWebhook('', now, raw) },
      }),
      401,
      'invalid_signature',
    );
  });

  it('serves the unsigned log route only with the log provider', async () => {
    t = await createTestApp({
      env: {
        ...RELAXED_LIMITS,
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: 'http://127.0.0.1:9/',
        SMS_HTTP_SECRET: SECRET,
      },
      sms: scriptedSms('http', () => ({ status: 'sent' })),
    });
    const list = await createList(t);
    await subscribe(t, list.id);
    await expectProblem(
      await t.call('POST', '/v1/webhooks/log/inbound', {
        key: null,
        body: { from: NUMBER, to: SENDER, body: 'YES' },
      }),
      404,
      'not_found',
    );
    expect(await status(list.id)).toBe('pending');
  });
});
