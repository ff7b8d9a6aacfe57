import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FLASH_CALL_TWIML } from '../../src/delivery/twilio.provider.js';
import { createTestApp, startVerification, type TestApp } from '../helpers/test-app.js';
import { ACCOUNT_SID, AUTH_TOKEN, startFakeTwilio } from './fake-twilio.js';
import { eventsOf, getVerification, RANGES } from './helpers.js';
import { twilioSignature } from '../../src/delivery/signatures.js';

const PUBLIC = 'https://verify.example.com';

describe('Twilio gateway against a fake of its REST API', () => {
  let twilio: Awaited<ReturnType<typeof startFakeTwilio>>;
  let t: TestApp | undefined;
  beforeAll(async () => {
    twilio = await startFakeTwilio();
  });
  afterAll(() => twilio.close());
  afterEach(() => {
    t?.close();
    twilio.created.length = 0;
  });

  const env = () => ({
    SMS_PROVIDER: 'twilio',
    VOICE_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: ACCOUNT_SID,
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_BASE_URL: twilio.url,
    TWILIO_FROM: '+15005550006',
    PUBLIC_BASE_URL: PUBLIC,
    FLASHCALL_RANGES: RANGES,
    PROVIDER_RETRY_BASE_MS: '1',
  });

  const postCallback = (cb: { body: string; signature: string }) =>
    t!.call('POST', '/v1/webhooks/twilio/status', {
      key: null,
      body: cb.body,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': cb.signature,
      },
    });

  it('signs like Twilio documents (published validateRequest vector)', () => {
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    };
    expect(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', params)).toBe(
      'RSOYDt4T1cUTdK1PDd93/VVr8B8=',
    );
  });

  it('sends the SMS through Messages.json and applies the signed delivered callback', async () => {
    t = await createTestApp({ env: env() });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(started.deliveries).toEqual([
      expect.objectContaining({ channel: 'sms', provider: 'twilio', status: 'sent' }),
    ]);
    expect(twilio.created).toHaveLength(1);
    const message = twilio.created[0]!;
    expect(message.resource).toBe('Messages');
    expect(message.params).toMatchObject({
      To: '+33612345678',
      From: '+15005550006',
      StatusCallback: `${PUBLIC}/v1/webhooks/twilio/status`,
    });
    expect(message.params.Body).toMatch(/your verification code is \d{6}/);

    // "sent" is what the send already recorded; "delivered" moves it on.
    expect(await (await postCallback(twilio.statusCallback(message.sid, 'sent'))).json()).toEqual({
      result: 'unchanged',
    });
    expect(
      await (await postCallback(twilio.statusCallback(message.sid, 'delivered'))).json(),
    ).toEqual({ result: 'applied' });
    // A late or replayed "sent" after "delivered" changes nothing.
    expect(await (await postCallback(twilio.statusCallback(message.sid, 'sent'))).json()).toEqual({
      result: 'unchanged',
    });
    expect((await getVerification(t, started.id)).deliveries).toEqual([
      expect.objectContaining({ status: 'delivered' }),
    ]);

    // The receipt is a `delivered` event of the verification's app and country, so delivery rates can be computed.
    const report = await t.call('GET', '/v1/reports/conversion?groupBy=country');
    const { groups } = (await report.json()) as {
      groups: {
        key: string;
        started: number;
        sent: number;
        delivered: number;
        deliveryRate: number | null;
      }[];
    };
    expect(groups).toEqual([
      expect.objectContaining({ key: 'FR', started: 1, sent: 1, delivered: 1, deliveryRate: 1 }),
    ]);
  });

  it('falls back to a flash call through Calls.json when Twilio refuses the SMS (400 21612), without retrying', async () => {
    t = await createTestApp({ env: env() });
    twilio.failNext(400, 21612, "The 'To' phone number is not currently reachable via SMS.");
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(started.channel).toBe('flashcall');
    expect(started.deliveries).toEqual([
      expect.objectContaining({
        channel: 'sms',
        status: 'failed',
        error: {
          code: 'twilio_21612',
          message: "The 'To' phone number is not currently reachable via SMS.",
        },
      }),
      expect.objectContaining({ channel: 'flashcall', provider: 'twilio', status: 'sent' }),
    ]);
    expect(twilio.created).toHaveLength(1); // the refused SMS was not retried; only the call was created
    const call = twilio.created[0]!;
    expect(call.resource).toBe('Calls');
    expect(call.params).toMatchObject({
      To: '+33612345678',
      Twiml: FLASH_CALL_TWIML,
      Timeout: '10',
      StatusCallback: `${PUBLIC}/v1/webhooks/twilio/status`,
    });
    expect(call.params.From).toMatch(/^\+(33187|442079)\d{6}$/);
    // Twilio reports `completed` only unless asked: the flash call asks for ringing and answered too.
    expect(new URLSearchParams(call.request.body).getAll('StatusCallbackEvent')).toEqual([
      'ringing',
      'answered',
      'completed',
    ]);
    expect((await eventsOf(t, 'delivery_failed'))[0]).toMatchObject({
      provider: 'twilio',
      provider_error: "twilio_21612: The 'To' phone number is not currently reachable via SMS.",
    });

    const check = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: call.params.From },
    });
    expect(check.status).toBe(200);

    // The call rang and nobody answered: that is a delivered flash call.
    expect(await (await postCallback(twilio.statusCallback(call.sid, 'no-answer'))).json()).toEqual(
      { result: 'applied' },
    );
    expect((await getVerification(t, started.id)).deliveries[1]).toMatchObject({
      status: 'delivered',
    });
  });

  it('retries a Twilio 5xx, then falls back; a bad Auth Token (401 20003) is not retried', async () => {
    t = await createTestApp({ env: { ...env(), PROVIDER_RETRIES: '2' } });
    twilio.failNext(500, 20500, 'Internal Server Error', 3);
    const before = twilio.requests.length;
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(twilio.requests.length - before).toBe(4); // 3 SMS tries + 1 call
    expect(started.deliveries[0]).toMatchObject({
      status: 'failed',
      error: { code: 'twilio_20500', message: 'Internal Server Error' },
    });
    expect(started.channel).toBe('flashcall');
    t.close();

    t = await createTestApp({
      env: { ...env(), TWILIO_AUTH_TOKEN: 'not-the-token-0123456789', FLASHCALL_RANGES: '' },
    });
    const beforeRefused = twilio.requests.length;
    const refused = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(twilio.requests.length - beforeRefused).toBe(1);
    expect(refused.deliveries).toEqual([
      expect.objectContaining({
        status: 'failed',
        error: { code: 'twilio_20003', message: 'Authenticate' },
      }),
    ]);
  });

  it("keeps the calling number (the code) out of a failed call's error, in the API and the event record", async () => {
    t = await createTestApp({ env: { ...env(), PROVIDER_RETRIES: '0' } });
    twilio.failNext(
      400,
      21210,
      (p) => `The source phone number provided, ${p.From}, is not yet verified for your account.`,
    );
    const started = await startVerification(t, { to: '+33612345678', channel: 'flashcall' });
    expect(started.deliveries[0]).toMatchObject({
      status: 'failed',
      error: { code: 'twilio_21210', message: expect.stringContaining('[code]') },
    });
    const from = new URLSearchParams(twilio.requests.at(-1)!.body).get('From')!;
    expect(JSON.stringify(await getVerification(t, started.id))).not.toContain(from.slice(-6));
    expect(JSON.stringify(await t.rows('SELECT * FROM events'))).not.toContain(from.slice(-6));
  });

  it('falls back when Twilio reports the SMS undelivered in a status callback, naming its error code and what it means', async () => {
    t = await createTestApp({ env: env() });
    const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    const sms = twilio.created[0]!;
    // Twilio's message status callbacks carry ErrorCode and no message.
    const response = await postCallback(
      twilio.statusCallback(sms.sid, 'undelivered', { ErrorCode: '30005' }),
    );
    expect(response.status).toBe(200);
    expect(twilio.created.map((c) => c.resource)).toEqual(['Messages', 'Calls']);
    const view = await getVerification(t, started.id);
    expect(view.fallback).toMatchObject({ state: 'done', reason: 'delivery_failed' });
    expect(view.deliveries[0]).toMatchObject({
      status: 'undelivered',
      error: { code: 'twilio_30005', message: 'Unknown destination handset' },
    });
    expect((await eventsOf(t, 'delivery_failed'))[0]).toMatchObject({
      provider: 'twilio',
      provider_error: 'twilio_30005: Unknown destination handset',
    });

    // A code missing from the table still says where Twilio explains it; a message Twilio sends is kept.
    const call = twilio.created[1]!;
    await postCallback(twilio.statusCallback(call.sid, 'failed', { ErrorCode: '32999' }));
    expect((await getVerification(t, started.id)).deliveries[1]).toMatchObject({
      status: 'failed',
      error: {
        code: 'twilio_32999',
        message: 'Twilio error 32999 (https://www.twilio.com/docs/api/errors/32999)',
      },
    });
  });

  it('a refusal with a Twilio code and no message carries what the code means', async () => {
    t = await createTestApp({ env: { ...env(), FLASHCALL_RANGES: '' } });
    twilio.failNext(400, 21610, '');
    const started = await startVerification(t, { to: '+33612345678' });
    expect(started.deliveries[0]).toMatchObject({
      status: 'failed',
      error: { code: 'twilio_21610', message: 'Attempt to send to unsubscribed recipient' },
    });
  });
});
