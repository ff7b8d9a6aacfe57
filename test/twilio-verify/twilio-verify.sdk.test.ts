import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verificationIdOf } from '../../src/platform/twilio-sids.js';
import { callFor, RANGES } from '../delivery/helpers.js';
import { setLimits } from '../limits/limits-helpers.js';
import { ADMIN_KEY, createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import {
  createKeyWithSids,
  documentCheck,
  listen,
  rejection,
  sdk,
  type RunningServer,
  type SdkClient,
  type TwilioCredentials,
} from './sdk.js';

/**
 * Twilio Verify v2 as an existing integration calls it: through the official `twilio` npm package,
 * pointed at a real listening server by its `httpClient` hook, and nothing else changed. Every
 * answer is the SDK's own parse of ours: a resource instance, or the RestException it throws.
 */

const TO = '+14155550123';

interface Raw {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

/** One request as any HTTP client sends it (for what the SDK hides: headers, exact bodies). */
async function raw(
  base: string,
  method: string,
  path: string,
  options: {
    form?: Record<string, string>;
    auth?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<Raw> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.auth) headers.authorization = options.auth;
  let body: string | undefined;
  if (options.form) {
    body = new URLSearchParams(options.form).toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  }
  const response = await fetch(`${base}${path}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A code that is not the right one. */
const wrongCode = (right: string): string => (right === '000000' ? '111111' : '000000');

describe('Twilio Verify v2 through the official twilio SDK', () => {
  let t: TestApp;
  let server: RunningServer;
  let creds: TwilioCredentials;
  let twilio: SdkClient;
  let serviceSid: string;

  /** The code of the newest message of a verification, from the log provider's outbox. */
  const codeOf = (sid: string): string => t.codeFor(verificationIdOf(sid)!);
  const service = () => twilio.client.verify.v2.services(serviceSid);

  async function boot(env: Record<string, string> = {}): Promise<void> {
    t = await createTestApp({ env });
    server = await listen(t);
    creds = await createKeyWithSids(t, 'acme', ['verify', 'admin', 'reports']);
    twilio = sdk(server.url, creds.accountSid, creds.key);
    serviceSid = (await twilio.client.verify.v2.services.create({ friendlyName: 'Acme Shop' })).sid;
  }

  afterEach(async () => {
    await server.close();
    t.close();
    // Every answer the SDK got in the test, success or error, is what openapi.yaml declares.
    const { checked, failures } = await documentCheck();
    expect(checked).toBeGreaterThan(0);
    expect(failures).toEqual([]);
  });

  describe('Services are apps', () => {
    beforeEach(() => boot());

    it('creates a Service as a new app with a stable VA sid, shown in GET /v1/admin/apps/{name} as twilioServiceSid', async () => {
      const created = await twilio.client.verify.v2.services(serviceSid).fetch();
      expect(created).toMatchObject({
        sid: serviceSid,
        accountSid: creds.accountSid,
        friendlyName: 'Acme Shop',
        codeLength: 6,
        customCodeEnabled: false,
        lookupEnabled: false,
      });
      expect(serviceSid).toMatch(/^VA[0-9a-f]{32}$/);
      expect(created.dateCreated).toEqual(new Date(t.clock.now()));
      expect(created.url).toBe(`${server.url}/v2/Services/${serviceSid}`);
      expect(created.links).toEqual({
        verifications: `${created.url}/Verifications`,
        verification_checks: `${created.url}/VerificationCheck`,
      });

      const app = await t.call('GET', '/v1/admin/apps/acme-shop');
      expect(app.status).toBe(200);
      expect(await app.json()).toMatchObject({
        name: 'acme-shop',
        brand: 'Acme Shop',
        twilioServiceSid: serviceSid,
        customCodes: false,
      });

      // A second Service of the same name is another app.
      const again = await twilio.client.verify.v2.services.create({
        friendlyName: 'Acme Shop',
        codeLength: 8,
      });
      expect(again.sid).not.toBe(serviceSid);
      expect(again.codeLength).toBe(8);

      const updated = await service().update({
        friendlyName: 'Acme',
        codeLength: 4,
        customCodeEnabled: true,
      });
      expect(updated).toMatchObject({
        sid: serviceSid,
        friendlyName: 'Acme',
        codeLength: 4,
        customCodeEnabled: true,
      });
      expect(await (await t.call('GET', '/v1/admin/apps/acme-shop')).json()).toMatchObject({
        brand: 'Acme',
        codeLength: 4,
        customCodes: true,
        twilioServiceSid: serviceSid,
      });
    });

    it('the app every API key belongs to is a Service too; listing pages through all of them by next_page_url', async () => {
      await twilio.client.verify.v2.services.create({ friendlyName: 'Second' });
      await twilio.client.verify.v2.services.create({ friendlyName: 'Third' });
      const acme = (await (await t.call('GET', '/v1/admin/apps/acme')).json()) as {
        twilioServiceSid: string;
      };
      const all = await twilio.client.verify.v2.services.list({ pageSize: 2 });
      expect(all.map((s) => s.friendlyName)).toEqual(['acme', 'Acme Shop', 'Second', 'Third']);
      expect(all[0]!.sid).toBe(acme.twilioServiceSid);
      // Two requests of two, as next_page_url said.
      const lists = twilio.http.sent.filter(
        (r) => r.method.toLowerCase() === 'get' && new URL(r.uri).pathname === '/v2/Services',
      );
      expect(lists.map((r) => r.uri.replace(server.url, ''))).toEqual([
        '/v2/Services',
        '/v2/Services?PageSize=2&Page=1',
      ]);
      expect(lists[0]!.params).toMatchObject({ PageSize: 2 });
      const page = await twilio.client.verify.v2.services.page({ pageSize: 3 });
      expect(page.instances).toHaveLength(3);
      expect(page.nextPageUrl).toBe(`${server.url}/v2/Services?PageSize=3&Page=1`);
    });

    it('deletes a Service: its sid answers 404 from then on, and the app is gone from /v1/admin/apps', async () => {
      await service().remove();
      const fetched = await rejection(service().fetch());
      expect(fetched).toMatchObject({
        status: 404,
        code: 20404,
        moreInfo: 'https://www.twilio.com/docs/errors/20404',
      });
      expect(
        (await rejection(service().verifications.create({ to: TO, channel: 'sms' }))).code,
      ).toBe(20404);
      await expectProblem(await t.call('GET', '/v1/admin/apps/acme-shop'), 404, 'not_found');
    });

    it('refuses a Service setting it cannot honour with 60200 naming it, and creates nothing', async () => {
      const lookup = await rejection(
        twilio.client.verify.v2.services.create({ friendlyName: 'X', lookupEnabled: true }),
      );
      expect(lookup).toMatchObject({
        status: 400,
        code: 60200,
        message: 'Invalid parameter: LookupEnabled',
      });
      const tts = await rejection(
        twilio.client.verify.v2.services.create({ friendlyName: 'X', ttsName: 'alice' }),
      );
      expect(tts).toMatchObject({
        status: 400,
        code: 60200,
        message: 'Invalid parameter: TtsName',
      });
      const length = await rejection(
        twilio.client.verify.v2.services.create({ friendlyName: 'X', codeLength: 12 }),
      );
      expect(length).toMatchObject({ code: 60200, message: 'Invalid parameter: CodeLength' });
      // The SDK itself refuses a create without FriendlyName; a plain client gets 60200.
      const missing = await raw(server.url, 'POST', '/v2/Services', {
        form: { CodeLength: '6' },
        auth: basic(creds.accountSid, creds.key),
      });
      expect(missing.body).toMatchObject({
        status: 400,
        code: 60200,
        message: 'Invalid parameter: FriendlyName',
      });
      expect((await twilio.client.verify.v2.services.list()).map((s) => s.friendlyName)).toEqual([
        'acme',
        'Acme Shop',
      ]);
    });
  });

  describe('verifications', () => {
    beforeEach(() => boot());

    it('starts by SMS, a wrong code is pending/valid false, the right one approved/valid true, then fetch is 404', async () => {
      const started = await service().verifications.create({ to: TO, channel: 'sms' });
      expect(started).toMatchObject({
        serviceSid,
        accountSid: creds.accountSid,
        to: TO,
        channel: 'sms',
        status: 'pending',
        valid: false,
        amount: null,
        payee: null,
        sna: null,
      });
      expect(started.sid).toMatch(/^VE[0-9a-f]{32}$/);
      expect(started.sendCodeAttempts).toEqual([
        {
          attempt_sid: expect.stringMatching(/^VL[0-9a-f]{32}$/),
          channel: 'sms',
          time: '2026-01-01T00:00:00Z',
        },
      ]);
      expect(started.url).toBe(
        `${server.url}/v2/Services/${serviceSid}/Verifications/${started.sid}`,
      );
      const sms = t.outbox().at(-1)!;
      expect(sms).toMatchObject({ to: TO, verificationId: verificationIdOf(started.sid) });
      expect(sms.body).toMatch(/^Acme Shop: your verification code is \d{6}\./);
      const code = codeOf(started.sid);

      const wrong = await service().verificationChecks.create({ to: TO, code: wrongCode(code) });
      expect(wrong).toMatchObject({
        sid: started.sid,
        serviceSid,
        to: TO,
        channel: 'sms',
        status: 'pending',
        valid: false,
      });
      const fetched = await service().verifications(started.sid).fetch();
      expect(fetched.status).toBe('pending');

      t.clock.advance(5_000);
      const right = await service().verificationChecks.create({ to: TO, code });
      expect(right).toMatchObject({
        sid: started.sid,
        status: 'approved',
        valid: true,
        snaAttemptsErrorCodes: [],
      });
      expect(right.dateUpdated).toEqual(new Date(t.clock.now()));

      // Twilio deletes an approved verification: fetching or checking it again is 404.
      expect(await rejection(service().verifications(started.sid).fetch())).toMatchObject({
        status: 404,
        code: 20404,
      });
      expect(
        await rejection(
          service().verificationChecks.create({ verificationSid: started.sid, code }),
        ),
      ).toMatchObject({ status: 404, code: 20404 });
      expect(await rejection(service().verificationChecks.create({ to: TO, code }))).toMatchObject({
        status: 404,
        code: 20404,
      });
    });

    it('checks by VerificationSid, and with To as well only when it is that verification’s number', async () => {
      const started = await service().verifications.create({ to: TO, channel: 'sms' });
      const other = await rejection(
        service().verificationChecks.create({
          verificationSid: started.sid,
          to: '+14155550199',
          code: codeOf(started.sid),
        }),
      );
      expect(other).toMatchObject({ status: 404, code: 20404 });
      const right = await service().verificationChecks.create({
        verificationSid: started.sid,
        to: TO,
        code: codeOf(started.sid),
      });
      expect(right).toMatchObject({ sid: started.sid, status: 'approved', valid: true });
    });

    it('cancels a pending verification: fetch shows canceled and its code no longer checks (404)', async () => {
      const started = await service().verifications.create({ to: TO, channel: 'sms' });
      const canceled = await service().verifications(started.sid).update({ status: 'canceled' });
      expect(canceled).toMatchObject({ sid: started.sid, status: 'canceled', valid: false });
      expect((await service().verifications(started.sid).fetch()).status).toBe('canceled');
      expect(
        await rejection(
          service().verificationChecks.create({
            verificationSid: started.sid,
            code: codeOf(started.sid),
          }),
        ),
      ).toMatchObject({ status: 404, code: 20404 });
      expect(
        await rejection(service().verifications(started.sid).update({ status: 'canceled' })),
      ).toMatchObject({ status: 404, code: 20404 });
      // Approving without a code is for Services with custom codes only.
      const other = await service().verifications.create({ to: '+14155550124', channel: 'sms' });
      expect(
        await rejection(service().verifications(other.sid).update({ status: 'approved' })),
      ).toMatchObject({ status: 400, code: 60200, message: 'Invalid parameter: Status' });
    });

    it('five wrong codes: pending four times, max_attempts_reached on the fifth, then 429/60202 even for the right code', async () => {
      const started = await service().verifications.create({ to: TO, channel: 'sms' });
      const code = codeOf(started.sid);
      const statuses: string[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push(
          (await service().verificationChecks.create({ to: TO, code: wrongCode(code) })).status,
        );
      expect(statuses).toEqual([
        'pending',
        'pending',
        'pending',
        'pending',
        'max_attempts_reached',
      ]);
      const locked = await rejection(
        service().verificationChecks.create({ verificationSid: started.sid, code }),
      );
      expect(locked).toMatchObject({
        status: 429,
        code: 60202,
        message: 'Max check attempts reached',
      });
      expect((await service().verifications(started.sid).fetch()).status).toBe(
        'max_attempts_reached',
      );
    });

    it('starting again resends on the same verification (Twilio’s rule), at most five sends, then 60203 with Retry-After until it expires', async () => {
      const first = await service().verifications.create({ to: TO, channel: 'sms' });
      const firstCode = codeOf(first.sid);
      for (let send = 2; send <= 5; send++) {
        t.clock.advance(31_000);
        const again = await service().verifications.create({ to: TO, channel: 'sms' });
        expect(again.sid).toBe(first.sid);
        expect(again.sendCodeAttempts).toHaveLength(send);
      }
      expect(t.outbox().filter((m) => m.to === TO)).toHaveLength(5);
      t.clock.advance(31_000);
      const sixth = await raw(server.url, 'POST', `/v2/Services/${serviceSid}/Verifications`, {
        form: { To: TO, Channel: 'sms' },
        auth: basic(creds.accountSid, creds.key),
      });
      expect(sixth.status).toBe(429);
      expect(sixth.body).toEqual({
        code: 60203,
        message: 'Max send attempts reached',
        more_info: 'https://www.twilio.com/docs/errors/60203',
        status: 429,
      });
      expect(sixth.headers.get('twilio-reached-rate-limit')).toBe('max_sends');
      // Until the verification expires, 10 minutes after its start (5 × 31 s ago).
      expect(sixth.headers.get('retry-after')).toBe(String(600 - 5 * 31));
      expect(
        await rejection(service().verifications.create({ to: TO, channel: 'sms' })),
      ).toMatchObject({ status: 429, code: 60203 });

      // Every code sent stays valid until the verification expires.
      expect(await service().verificationChecks.create({ to: TO, code: firstCode })).toMatchObject({
        sid: first.sid,
        status: 'approved',
      });
    });

    it('a send too soon after the last is 60203 with Retry-After; the number’s own limit is 60203 naming it', async () => {
      await service().verifications.create({ to: TO, channel: 'sms' });
      const soon = await raw(server.url, 'POST', `/v2/Services/${serviceSid}/Verifications`, {
        form: { To: TO, Channel: 'sms' },
        auth: basic(creds.accountSid, creds.key),
      });
      expect(soon.status).toBe(429);
      expect(soon.body.code).toBe(60203);
      expect(soon.headers.get('retry-after')).toBe('30');
      expect(soon.headers.get('twilio-reached-rate-limit')).toBe('resend_cooldown');

      // Each attempt counts against number:10m (5), as /v1 resends do: the fourth resend is the 6th point.
      for (let i = 0; i < 3; i++) {
        t.clock.advance(31_000);
        await service().verifications.create({ to: TO, channel: 'sms' });
      }
      t.clock.advance(31_000);
      const limited = await raw(server.url, 'POST', `/v2/Services/${serviceSid}/Verifications`, {
        form: { To: TO, Channel: 'sms' },
        auth: basic(creds.accountSid, creds.key),
      });
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe(60203);
      expect(limited.headers.get('twilio-reached-rate-limit')).toBe('number:10m');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('refuses a bad To, an unsupported channel or parameter with 400/60200 naming it, and neither To nor VerificationSid with 60221', async () => {
      expect(
        await rejection(service().verifications.create({ to: '+1415', channel: 'sms' })),
      ).toMatchObject({ status: 400, code: 60200, message: 'Invalid parameter: To' });
      expect(
        await rejection(service().verifications.create({ to: 'not a number', channel: 'sms' })),
      ).toMatchObject({ status: 400, code: 60200, message: 'Invalid parameter: To' });
      for (const channel of ['email', 'whatsapp', 'sna']) {
        expect(await rejection(service().verifications.create({ to: TO, channel }))).toMatchObject({
          status: 400,
          code: 60200,
          message: 'Invalid parameter: Channel',
        });
      }
      expect(
        await rejection(service().verifications.create({ to: TO, channel: 'call' })),
      ).toMatchObject({ status: 400, code: 60200, message: 'Invalid parameter: Channel' });
      expect(
        await rejection(
          service().verifications.create({
            to: TO,
            channel: 'sms',
            tags: JSON.stringify({ user: '42' }),
          }),
        ),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: Tags' });
      expect(
        await rejection(service().verifications.create({ to: TO, channel: 'sms', locale: 'it' })),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: Locale' });
      expect(
        await rejection(
          service().verifications.create({ to: TO, channel: 'sms', riskCheck: 'disable' }),
        ),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: RiskCheck' });
      expect(
        await rejection(
          service().verifications.create({ to: TO, channel: 'sms', rateLimits: { key: 'x' } }),
        ),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: RateLimits' });
      expect(
        await rejection(
          service().verifications.create({
            to: TO,
            channel: 'sms',
            templateSid: 'HJ0123456789abcdef0123456789abcdef',
          }),
        ),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: TemplateSid' });
      expect(
        await rejection(
          service().verifications.create({ to: TO, channel: 'sms', customCode: '4242' }),
        ),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: CustomCode' });
      expect(
        await rejection(service().verificationChecks.create({ code: '123456' })),
      ).toMatchObject({ status: 400, code: 60221 });
      // None of those started anything.
      expect(t.outbox()).toHaveLength(0);
      const { events } = (await (
        await t.call('GET', '/v1/events?reason=invalid_phone')
      ).json()) as { events: { app: string }[] };
      expect(events.length).toBeGreaterThan(0);
    });

    it('honours Locale, CustomFriendlyName and AppHash in the message it sends', async () => {
      await service().verifications.create({
        to: TO,
        channel: 'sms',
        locale: 'fr-CA',
        customFriendlyName: 'Acme Pay',
        appHash: 'FA+9qCX9VSu',
      });
      const body = t.outbox().at(-1)!.body;
      expect(body).toMatch(/^Acme Pay : votre code de vérification est \d{6}\./);
      expect(body.split('\n').at(-1)).toBe('FA+9qCX9VSu');
    });

    it('binds the code to Amount and Payee: the message shows them and only the same transaction approves', async () => {
      const started = await service().verifications.create({
        to: TO,
        channel: 'sms',
        amount: '€39.99',
        payee: 'ACME SARL',
      });
      expect(started).toMatchObject({ amount: 'EUR 39.99', payee: 'ACME SARL' });
      expect(t.outbox().at(-1)!.body).toContain('EUR 39.99 to ACME SARL');
      const code = codeOf(started.sid);
      expect((await service().verificationChecks.create({ to: TO, code })).valid).toBe(false);
      expect(
        (
          await service().verificationChecks.create({
            to: TO,
            code,
            amount: '€40.00',
            payee: 'ACME SARL',
          })
        ).valid,
      ).toBe(false);
      const right = await service().verificationChecks.create({
        to: TO,
        code,
        amount: '39.99 EUR',
        payee: 'ACME SARL',
      });
      expect(right).toMatchObject({
        status: 'approved',
        valid: true,
        amount: 'EUR 39.99',
        payee: 'ACME SARL',
      });
      expect(
        await rejection(
          service().verifications.create({
            to: TO,
            channel: 'sms',
            amount: '39.99',
            payee: 'ACME',
          }),
        ),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: Amount' });
      expect(
        await rejection(service().verifications.create({ to: TO, channel: 'sms', amount: '€1' })),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: Payee' });
    });

    it('sends a CustomCode where the Service allows custom codes, and approves by Status=approved', async () => {
      await service().update({ customCodeEnabled: true });
      const started = await service().verifications.create({
        to: TO,
        channel: 'sms',
        customCode: '4242',
      });
      expect(codeOf(started.sid)).toBe('4242');
      expect(
        await rejection(
          service().verifications.create({
            to: '+14155550124',
            channel: 'call',
            customCode: '4242',
          }),
        ),
      ).toMatchObject({ code: 60200, message: 'Invalid parameter: Channel' });
      const approved = await service().verifications(started.sid).update({ status: 'approved' });
      expect(approved).toMatchObject({ sid: started.sid, status: 'approved', valid: true });
      const second = await service().verifications.create({
        to: '+14155550124',
        channel: 'sms',
        customCode: 'ab12CD',
      });
      expect(
        await service().verificationChecks.create({ verificationSid: second.sid, code: 'ab12CD' }),
      ).toMatchObject({ valid: true });
    });

    it('counts DeviceIp as the end user’s IP for the per-IP limits, not the caller’s', async () => {
      await setLimits(t, 'acme-shop', { rates: { 'ip:10m': 1 } });
      await service().verifications.create({
        to: '+33612345678',
        channel: 'sms',
        deviceIp: '203.0.113.7',
      });
      await service().verifications.create({
        to: '+33698765432',
        channel: 'sms',
        deviceIp: '203.0.113.8',
      });
      const limited = await raw(server.url, 'POST', `/v2/Services/${serviceSid}/Verifications`, {
        form: { To: '+33655555555', Channel: 'sms', DeviceIp: '203.0.113.7' },
        auth: basic(creds.accountSid, creds.key),
      });
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe(60203);
      expect(limited.headers.get('twilio-reached-rate-limit')).toBe('ip:10m');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      const { events } = (await (await t.call('GET', '/v1/events?reason=rate_limited')).json()) as {
        events: { ip: string; rule: string; app: string }[];
      };
      expect(events).toEqual([
        expect.objectContaining({ ip: '203.0.113.7', rule: 'limit:ip:10m', app: 'acme-shop' }),
      ]);
    });

    it('answers geo rules 403/60605, a blocked prefix 403/60410 and SMS to a landline 403/60205', async () => {
      const block = (body: Record<string, string>) =>
        t.call('POST', '/v1/blocklist', { body: { ...body, reason: 'test' } });
      expect((await block({ kind: 'country', value: 'GB' })).status).toBe(201);
      expect((await block({ kind: 'prefix', value: '+3361234' })).status).toBe(201);
      expect(
        await rejection(service().verifications.create({ to: '+447400123456', channel: 'sms' })),
      ).toMatchObject({ status: 403, code: 60605 });
      expect(
        await rejection(service().verifications.create({ to: '+33612345678', channel: 'sms' })),
      ).toMatchObject({ status: 403, code: 60410 });
      expect(
        await rejection(service().verifications.create({ to: '+33142685300', channel: 'sms' })),
      ).toMatchObject({ status: 403, code: 60205 });
      await setLimits(t, 'acme-shop', { denyCountries: ['DE'] });
      expect(
        await rejection(service().verifications.create({ to: '+4915123456789', channel: 'sms' })),
      ).toMatchObject({ status: 403, code: 60605 });
      expect(t.outbox()).toHaveLength(0);
    });

    it('is the same verification in /v1: its id, its events and the reports count the /v2 start and approval', async () => {
      const started = await service().verifications.create({ to: '+33612345678', channel: 'sms' });
      await service().verificationChecks.create({
        to: '+33612345678',
        code: wrongCode(codeOf(started.sid)),
      });
      await service().verificationChecks.create({ to: '+33612345678', code: codeOf(started.sid) });
      const id = verificationIdOf(started.sid)!;
      const v1 = await t.call('GET', `/v1/verifications/${id}`);
      // The admin key's app is not the Service's: the verification belongs to the Service's app.
      await expectProblem(v1, 404, 'not_found');
      const own = await t.createKey('acme-shop', ['verify']);
      const view = await t.call('GET', `/v1/verifications/${id}`, { key: own });
      expect(await view.json()).toMatchObject({
        id,
        to: '+33612345678',
        status: 'approved',
        attempts: 2,
        sends: 1,
      });

      const { events } = (await (
        await t.call('GET', `/v1/events?verificationId=${id}`)
      ).json()) as { events: { reason: string; app: string }[] };
      expect(events.map((e) => e.reason).sort()).toEqual([
        'approved',
        'incorrect_code',
        'sent',
        'started',
      ]);
      expect(new Set(events.map((e) => e.app))).toEqual(new Set(['acme-shop']));
      const { groups } = (await (
        await t.call('GET', '/v1/reports/conversion?groupBy=country')
      ).json()) as { groups: { key: string; started: number; approved: number }[] };
      expect(groups).toEqual([expect.objectContaining({ key: 'FR', started: 1, approved: 1 })]);
      const failures = (await (
        await t.call('GET', '/v1/reports/failures?groupBy=reason')
      ).json()) as { groups: { key: string; count: number }[] };
      expect(failures.groups).toContainEqual({ key: 'incorrect_code', count: 1 });
    });
  });

  describe('authentication and scopes', () => {
    beforeEach(() => boot());

    it('accepts AccountSid:key, ApiKeySid:key, ApiKeySid:secret (with accountSid) and AccountSid:ADMIN_API_KEY', async () => {
      const keyOnly = sdk(server.url, creds.apiKeySid, creds.key, creds.accountSid);
      expect((await keyOnly.client.verify.v2.services(serviceSid).fetch()).sid).toBe(serviceSid);
      const secretOnly = sdk(
        server.url,
        creds.apiKeySid,
        creds.key.split('.')[1]!,
        creds.accountSid,
      );
      expect(
        (
          await secretOnly.client.verify.v2
            .services(serviceSid)
            .verifications.create({ to: TO, channel: 'sms' })
        ).status,
      ).toBe('pending');
      const admin = sdk(server.url, creds.accountSid, ADMIN_KEY);
      expect((await admin.client.verify.v2.services(serviceSid).fetch()).sid).toBe(serviceSid);
    });

    it('answers wrong credentials 401/20003 with WWW-Authenticate: Basic, and records each as unauthorized', async () => {
      const other = await createKeyWithSids(t, 'acme', ['verify']);
      const cases: [string, SdkClient][] = [
        ['wrong key', sdk(server.url, creds.accountSid, `${creds.key.slice(0, -4)}AAAA`)],
        ['another account', sdk(server.url, `AC${'1'.repeat(32)}`, creds.key)],
        ['another key’s sid', sdk(server.url, other.apiKeySid, creds.key, creds.accountSid)],
        [
          'ADMIN_API_KEY as a key sid',
          sdk(server.url, other.apiKeySid, ADMIN_KEY, creds.accountSid),
        ],
      ];
      for (const [what, client] of cases) {
        expect(
          await rejection(client.client.verify.v2.services(serviceSid).fetch()),
          what,
        ).toMatchObject({ status: 401, code: 20003, message: 'Authenticate' });
      }
      const none = await raw(server.url, 'GET', `/v2/Services/${serviceSid}`);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Basic realm="Twilio API"');
      const bearer = await raw(server.url, 'GET', `/v2/Services/${serviceSid}`, {
        auth: `Bearer ${creds.key}`,
      });
      expect(bearer.body).toMatchObject({ code: 20003, status: 401 });

      expect(
        (await t.call('DELETE', `/v1/admin/api-keys/${creds.key.split('.')[0]!}`)).status,
      ).toBe(204);
      expect(await rejection(service().fetch())).toMatchObject({ status: 401, code: 20003 });
      const { events } = (await (await t.call('GET', '/v1/events?reason=unauthorized')).json()) as {
        events: { rule: string; ip: string }[];
      };
      expect(events).toHaveLength(7);
      expect(events.map((e) => e.rule)).toContain('missing_key');
      expect(events.every((e) => e.ip === '127.0.0.1')).toBe(true);
    });

    it('a key without admin scope cannot create, change or delete a Service (403/20403), and sees only its own app’s', async () => {
      const verifier = await createKeyWithSids(t, 'acme', ['verify']);
      const client = sdk(server.url, verifier.accountSid, verifier.key).client;
      expect(
        await rejection(client.verify.v2.services.create({ friendlyName: 'Mine' })),
      ).toMatchObject({ status: 403, code: 20403 });
      expect(
        await rejection(client.verify.v2.services(serviceSid).update({ friendlyName: 'Mine' })),
      ).toMatchObject({ status: 403, code: 20403 });
      expect(await rejection(client.verify.v2.services(serviceSid).remove())).toMatchObject({
        status: 403,
        code: 20403,
      });
      // Another app's Service does not exist for it (404, never 403).
      expect(await rejection(client.verify.v2.services(serviceSid).fetch())).toMatchObject({
        status: 404,
        code: 20404,
      });
      expect(
        await rejection(
          client.verify.v2.services(serviceSid).verifications.create({ to: TO, channel: 'sms' }),
        ),
      ).toMatchObject({ status: 404, code: 20404 });
      const own = await client.verify.v2.services.list();
      expect(own.map((s) => s.friendlyName)).toEqual(['acme']);
      const started = await client.verify.v2
        .services(own[0]!.sid)
        .verifications.create({ to: TO, channel: 'sms' });
      expect(started.status).toBe('pending');
      const reportsOnly = await createKeyWithSids(t, 'acme', ['reports']);
      const reader = sdk(server.url, reportsOnly.accountSid, reportsOnly.key).client;
      expect(
        await rejection(
          reader.verify.v2.services(own[0]!.sid).verifications.create({ to: TO, channel: 'sms' }),
        ),
      ).toMatchObject({ status: 403, code: 20403 });
      const { events } = (await (await t.call('GET', '/v1/events?reason=forbidden')).json()) as {
        events: { rule: string }[];
      };
      expect(events.map((e) => e.rule)).toEqual(
        expect.arrayContaining(['scope:admin', 'scope:verify']),
      );
    });
  });

  describe('error bodies', () => {
    beforeEach(() => boot());

    it('every /v2 error is exactly { code, message, more_info, status } as JSON, while /v1 keeps RFC 9457 problems', async () => {
      const auth = basic(creds.accountSid, creds.key);
      const answers = [
        await raw(server.url, 'GET', `/v2/Services/VA${'0'.repeat(32)}`, { auth }),
        await raw(server.url, 'GET', '/v2/Services/not-a-sid', { auth }),
        await raw(server.url, 'GET', '/v2/Nothing/Here', { auth }),
        await raw(server.url, 'PUT', `/v2/Services/${serviceSid}`, { auth }),
        await raw(server.url, 'POST', `/v2/Services/${serviceSid}/Verifications`, {
          auth,
          form: { To: TO },
        }),
        await raw(server.url, 'POST', `/v2/Services/${serviceSid}/Verifications`, {
          auth,
          headers: { 'content-type': 'application/json' },
          form: { To: TO, Channel: 'sms' },
        }),
        await raw(server.url, 'POST', `/v2/Services/${serviceSid}/Verifications`, {
          auth,
          form: { To: TO, Channel: 'sms', Extra: 'x'.repeat(70_000) },
        }),
        await raw(server.url, 'GET', `/v2/Services/${serviceSid}`),
      ];
      expect(answers.map((a) => [a.status, a.body.code])).toEqual([
        [404, 20404],
        [404, 20404],
        [404, 20404],
        [404, 20404],
        [400, 60200],
        [415, 60200],
        [413, 60200],
        [401, 20003],
      ]);
      for (const answer of answers) {
        expect(Object.keys(answer.body).sort(), answer.text).toEqual([
          'code',
          'message',
          'more_info',
          'status',
        ]);
        expect(answer.body.status).toBe(answer.status);
        expect(answer.headers.get('content-type')).toBe('application/json');
        expect(answer.body.more_info).toBe(
          `https://www.twilio.com/docs/errors/${String(answer.body.code)}`,
        );
      }
      expect(answers[4]!.body.message).toBe('Invalid parameter: Channel');
      await expectProblem(await t.call('GET', '/v1/verifications/ver_nope'), 404, 'not_found');
      await expectProblem(await t.call('GET', '/v1/nothing/here'), 404, 'not_found');
    });
  });

  describe('flash calls', () => {
    beforeEach(() => boot({ FLASHCALL_RANGES: RANGES, FALLBACK_AFTER_SECONDS: '30' }));

    it('Channel=auto falls back to a flash call when no check comes in time; the call’s digits approve through /v2', async () => {
      const started = await service().verifications.create({ to: '+33612345678', channel: 'auto' });
      expect(started).toMatchObject({ channel: 'sms', status: 'pending' });
      t.clock.advance(31_000);
      expect(await t.deps.delivery.flashCalls!.runDue()).toBe(1);
      const fetched = await service().verifications(started.sid).fetch();
      expect(fetched.channel).toBe('call');
      expect((fetched.sendCodeAttempts as { channel: string }[]).map((a) => a.channel)).toEqual([
        'sms',
        'call',
      ]);
      const { from } = callFor(t, verificationIdOf(started.sid)!);
      const right = await service().verificationChecks.create({
        to: '+33612345678',
        code: from.slice(-6),
      });
      expect(right).toMatchObject({
        sid: started.sid,
        status: 'approved',
        valid: true,
        channel: 'call',
      });
    });

    it('Channel=call places a flash call at once', async () => {
      const started = await service().verifications.create({ to: '+33612345678', channel: 'call' });
      expect(started.channel).toBe('call');
      const { from } = callFor(t, verificationIdOf(started.sid)!);
      expect(
        (await service().verificationChecks.create({ verificationSid: started.sid, code: from }))
          .valid,
      ).toBe(true);
    });
  });
});
