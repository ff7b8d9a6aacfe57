import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseKeyword } from '../../src/optin/keywords.js';
import { createTestApp, expectProblem, RELAXED_LIMITS, type TestApp } from '../helpers/test-app.js';
import { scriptedSms } from '../delivery/helpers.js';
import {
  CONSENT,
  consentOf,
  createList,
  NUMBER,
  OTHER_SENDER,
  optinCode,
  reply,
  SENDER,
  subscribe,
} from './helpers.js';

const HOUR = 3_600_000;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('double opt-in', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
  });
  afterEach(() => t.close());

  it('confirms on the web with the code, and the ledger holds the exact trail', async () => {
    const list = await createList(t);
    const response = await subscribe(t, list.id, {
      signals: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (form)' },
      consentVersion: 'deals-v3',
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({
      listId: list.id,
      to: NUMBER,
      status: 'pending',
      confirmedAt: null,
    });

    const [message] = t.outbox();
    expect(message).toMatchObject({ to: NUMBER, from: SENDER });
    const code = optinCode(t);
    expect(message?.body).toBe(
      `ACME: reply YES to join Weekly deals, or enter code ${code} on the sign-up page. Reply STOP to opt out, HELP for help. Msg & data rates may apply.`,
    );

    t.clock.advance(60_000);
    const confirmed = await t.call('POST', `/v1/lists/${list.id}/subscribers/confirm`, {
      body: {
        to: NUMBER,
        code,
        signals: { ip: '203.0.113.8', userAgent: 'Mozilla/5.0 (confirm)' },
      },
    });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toMatchObject({
      status: 'confirmed',
      confirmedAt: '2026-01-01T00:01:00.000Z',
    });

    const { subscriber, trail } = await consentOf(t, list.id);
    expect(subscriber.status).toBe('confirmed');
    expect(trail).toEqual([
      expect.objectContaining({
        type: 'requested',
        channel: 'api',
        at: '2026-01-01T00:00:00.000Z',
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0 (form)',
        source: 'https://acme.example/deals#form',
        consentText: CONSENT,
        consentTextVersion: 'deals-v3',
        details: { locale: 'en', expiresAt: '2026-01-03T00:00:00.000Z', clientIp: '198.51.100.10' },
      }),
      expect.objectContaining({
        type: 'message_sent',
        channel: 'sms',
        text: message?.body.replace(code, '••••••'),
        textSha256: sha256(message?.body ?? ''),
        details: { provider: 'log', from: SENDER, providerMessageId: 'log-1' },
      }),
      expect.objectContaining({
        type: 'confirmed',
        channel: 'web',
        at: '2026-01-01T00:01:00.000Z',
        ip: '203.0.113.8',
        userAgent: 'Mozilla/5.0 (confirm)',
        details: { method: 'code' },
      }),
    ]);
    // The live code never appears in an answer.
    expect(JSON.stringify(trail)).not.toContain(code);
  });

  it('confirms by an SMS reply YES, and the ledger holds the exact reply', async () => {
    const list = await createList(t);
    expect((await subscribe(t, list.id)).status).toBe(202);
    t.clock.advance(5 * 60_000);
    expect(await reply(t, '  Yes! ')).toBe('confirmed');

    const { subscriber, trail } = await consentOf(t, list.id);
    expect(subscriber.status).toBe('confirmed');
    expect(trail.map((e) => [e.type, e.channel])).toEqual([
      ['requested', 'api'],
      ['message_sent', 'sms'],
      ['reply_received', 'sms'],
      ['confirmed', 'sms'],
    ]);
    expect(trail[2]).toMatchObject({
      text: '  Yes! ',
      textSha256: sha256('  Yes! '),
      at: '2026-01-01T00:05:00.000Z',
      details: { provider: 'log', to: SENDER, messageId: null, keyword: 'confirm' },
    });
    expect(trail[1]?.consentText).toBeNull();
    expect(trail[0]).toMatchObject({
      userAgent: 'acme-backend/1.0',
      ip: '198.51.100.10',
      consentTextVersion: `sha256:${sha256(CONSENT)}`,
    });
    // No reply is sent to a YES: the confirmation itself is the evidence.
    expect(t.outbox()).toHaveLength(1);
  });

  it.each(['YES', 'y', 'oui', 'Sí', 'ja', 'ТАК', 'tak.', 'START'])(
    'treats %j as a confirmation',
    async (word) => {
      const list = await createList(t);
      await subscribe(t, list.id);
      expect(await reply(t, word)).toBe('confirmed');
    },
  );

  it('reads only whole-message keywords, case-insensitively and trimmed', () => {
    expect(parseKeyword(' stop ')).toBe('stop');
    expect(parseKeyword('Arrêt')).toBe('stop');
    expect(parseKeyword('ARRET')).toBe('stop');
    expect(parseKeyword('stopall')).toBe('stop');
    expect(parseKeyword('Unsubscribe.')).toBe('stop');
    expect(parseKeyword('СТОП')).toBe('stop');
    expect(parseKeyword('aide')).toBe('help');
    expect(parseKeyword('HELP?')).toBe('help');
    expect(parseKeyword('yes please')).toBeUndefined();
    expect(parseKeyword('stop sending me this')).toBeUndefined();
    expect(parseKeyword('')).toBeUndefined();
  });

  it('ignores other replies but keeps them as evidence', async () => {
    const list = await createList(t);
    await subscribe(t, list.id);
    expect(await reply(t, 'who is this?')).toBe('ignored');
    const { subscriber, trail } = await consentOf(t, list.id);
    expect(subscriber.status).toBe('pending');
    expect(trail.at(-1)).toMatchObject({
      type: 'reply_received',
      text: 'who is this?',
      details: expect.objectContaining({ keyword: null }),
    });
  });

  it('STOP leaves every list of that sender at once, confirmed by one final message', async () => {
    const deals = await createList(t);
    const news = await createList(t, { name: 'News' });
    const elsewhere = await createList(t, { name: 'Other brand', sender: OTHER_SENDER });
    await subscribe(t, deals.id);
    await reply(t, 'YES');
    await subscribe(t, news.id); // still pending
    await subscribe(t, elsewhere.id);
    await reply(t, 'YES', { to: OTHER_SENDER });
    const before = t.outbox().length;

    t.clock.advance(HOUR);
    expect(await reply(t, 'Stop')).toBe('unsubscribed');
    const final = t.outbox().slice(before);
    expect(final).toEqual([
      expect.objectContaining({
        to: NUMBER,
        from: SENDER,
        body: 'ACME: you are unsubscribed from all ACME messages and will receive no more. Reply with a new sign-up to join again.',
      }),
    ]);

    for (const list of [deals, news]) {
      const { subscriber, trail } = await consentOf(t, list.id);
      expect(subscriber.status).toBe('unsubscribed');
      expect(trail.slice(-3).map((e) => e.type)).toEqual([
        'reply_received',
        'unsubscribed',
        'message_sent',
      ]);
      expect(trail.at(-1)?.text).toBe(final[0]?.body);
    }
    expect((await consentOf(t, elsewhere.id)).subscriber.status).toBe('confirmed');

    // A second STOP changes nothing and sends nothing (no loop with an auto-responder).
    expect(await reply(t, 'STOPALL')).toBe('ignored');
    expect(t.outbox().length).toBe(before + 1);
  });

  it('re-joining after STOP needs a new double opt-in: the old code is dead, a new request is sent', async () => {
    const list = await createList(t);
    await subscribe(t, list.id);
    const oldCode = optinCode(t);
    await reply(t, 'ARRÊT');
    // YES after STOP does not re-subscribe.
    expect(await reply(t, 'YES')).toBe('ignored');
    await expectProblem(
      await t.call('POST', `/v1/lists/${list.id}/subscribers/confirm`, {
        body: { to: NUMBER, code: oldCode },
      }),
      404,
      'not_found',
    );

    const again = await subscribe(t, list.id);
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ status: 'pending' });
    const newCode = optinCode(t);
    if (newCode !== oldCode) {
      await expectProblem(
        await t.call('POST', `/v1/lists/${list.id}/subscribers/confirm`, {
          body: { to: NUMBER, code: oldCode },
        }),
        422,
        'incorrect_code',
      );
    }
    const ok = await t.call('POST', `/v1/lists/${list.id}/subscribers/confirm`, {
      body: { to: NUMBER, code: newCode },
    });
    expect(ok.status).toBe(200);
    const { trail } = await consentOf(t, list.id);
    expect(trail.map((e) => e.type)).toEqual([
      'requested',
      'message_sent',
      'reply_received',
      'unsubscribed',
      'message_sent',
      'reply_received',
      'requested',
      'message_sent',
      'confirmed',
    ]);
  });

  it('HELP answers with the help text and records it', async () => {
    const list = await createList(t, { helpContact: 'acme.example/help' });
    await subscribe(t, list.id, { locale: 'fr-CA' });
    expect(await reply(t, 'aide')).toBe('help');
    expect(t.outbox().at(-1)).toMatchObject({
      to: NUMBER,
      from: SENDER,
      body: "ACME Weekly deals : aide sur acme.example/help. Répondez STOP pour vous désinscrire. Coût d'un SMS selon votre opérateur.",
    });
    const { subscriber, trail } = await consentOf(t, list.id);
    expect(subscriber.status).toBe('pending');
    expect(trail.slice(-2).map((e) => e.type)).toEqual(['reply_received', 'help_sent']);
  });

  it('expires a pending sign-up after the window, shows the expiry in the ledger, and refuses its code', async () => {
    const list = await createList(t, { confirmationWindowHours: 2 });
    await subscribe(t, list.id);
    const code = optinCode(t);
    t.clock.advance(2 * HOUR);
    await expectProblem(
      await t.call('POST', `/v1/lists/${list.id}/subscribers/confirm`, {
        body: { to: NUMBER, code },
      }),
      410,
      'expired',
    );
    expect(await reply(t, 'YES')).toBe('ignored');
    const { subscriber, trail } = await consentOf(t, list.id);
    expect(subscriber.status).toBe('expired');
    expect(trail.map((e) => e.type)).toEqual([
      'requested',
      'message_sent',
      'expired',
      'reply_received',
    ]);
    expect(trail[2]).toMatchObject({
      channel: 'system',
      at: '2026-01-01T02:00:00.000Z',
      details: { requestedAt: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T02:00:00.000Z' },
    });
  });

  it('the expiry job records expiries without any request', async () => {
    const list = await createList(t, { confirmationWindowHours: 1 });
    await subscribe(t, list.id);
    t.clock.advance(HOUR + 1);
    expect(await t.deps.optin.service.expireDue()).toBe(1);
    expect(await t.deps.optin.service.expireDue()).toBe(0);
    const row = await t.rows("SELECT type FROM optin_consent_ledger WHERE type = 'expired'");
    expect(row).toHaveLength(1);
  });

  it('answers 200 and sends nothing for a number already confirmed', async () => {
    const list = await createList(t);
    await subscribe(t, list.id);
    await reply(t, 'YES');
    const again = await subscribe(t, list.id);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'confirmed' });
    expect(t.outbox()).toHaveLength(1);
  });

  it('lists subscribers by status as JSON pages and as CSV', async () => {
    const list = await createList(t);
    const numbers = ['+14155550123', '+14155550124', '+14155550125'];
    for (const to of numbers) await subscribe(t, list.id, { to });
    await reply(t, 'YES', { from: numbers[1] });

    const first = (await (
      await t.call('GET', `/v1/lists/${list.id}/subscribers?limit=2`)
    ).json()) as { items: { to: string }[]; nextCursor: string | null };
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const second = (await (
      await t.call('GET', `/v1/lists/${list.id}/subscribers?limit=2&cursor=${first.nextCursor}`)
    ).json()) as { items: { to: string }[]; nextCursor: string | null };
    expect(second).toMatchObject({ nextCursor: null });
    expect([...first.items, ...second.items].map((s) => s.to).sort()).toEqual(numbers);

    const confirmed = (await (
      await t.call('GET', `/v1/lists/${list.id}/subscribers?status=confirmed`)
    ).json()) as { items: { to: string }[] };
    expect(confirmed.items.map((s) => s.to)).toEqual([numbers[1]]);

    const csv = await t.call('GET', `/v1/lists/${list.id}/subscribers?status=pending`, {
      headers: { accept: 'text/csv' },
    });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('to,status,locale,requested_at,expires_at,confirmed_at,unsubscribed_at');
    expect(
      lines
        .slice(1)
        .map((l) => l.split(',').slice(0, 2).join(','))
        .sort(),
    ).toEqual([`${numbers[0]},pending`, `${numbers[2]},pending`]);
  });

  it('DELETE unsubscribes one list through the API, recorded with the caller, without a message', async () => {
    const list = await createList(t);
    await subscribe(t, list.id);
    await reply(t, 'YES');
    const response = await t.call(
      'DELETE',
      `/v1/lists/${list.id}/subscribers/${encodeURIComponent(NUMBER)}`,
      { headers: { 'user-agent': 'crm/2' } },
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'unsubscribed' });
    expect(t.outbox()).toHaveLength(1);
    const { trail } = await consentOf(t, list.id);
    expect(trail.at(-1)).toMatchObject({
      type: 'unsubscribed',
      channel: 'api',
      ip: '198.51.100.10',
      userAgent: 'crm/2',
    });
    await expectProblem(
      await t.call(
        'DELETE',
        `/v1/lists/${list.id}/subscribers/${encodeURIComponent('+14155550199')}`,
      ),
      404,
      'not_found',
    );
  });

  it('prints the consent record as HTML without script, under a strict CSP, with every value escaped', async () => {
    const list = await createList(t, { name: 'Deals <b>' });
    await subscribe(t, list.id, { source: '<script>alert(1)</script>' });
    const response = await t.call(
      'GET',
      `/v1/lists/${list.id}/subscribers/${encodeURIComponent(NUMBER)}/consent`,
      { headers: { accept: 'text/html' } },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/unsafe-inline|script-src/);
    const html = await response.text();
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Deals &lt;b&gt;');
    expect(html).toContain(CONSENT);
    const viaQuery = await t.call(
      'GET',
      `/v1/lists/${list.id}/subscribers/${encodeURIComponent(NUMBER)}/consent?format=html`,
    );
    expect(viaQuery.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('keeps lists to their app and requires the optin scope', async () => {
    const list = await createList(t);
    const other = await t.createKey('other', ['optin']);
    await expectProblem(
      await t.call('GET', `/v1/lists/${list.id}`, { key: other }),
      404,
      'not_found',
    );
    await expectProblem(await subscribe(t, list.id, {}, { key: other }), 404, 'not_found');
    const verifyOnly = await t.createKey('default', ['verify']);
    await expectProblem(
      await t.call('POST', '/v1/lists', {
        key: verifyOnly,
        body: { name: 'x', brand: 'x', sender: SENDER },
      }),
      403,
      'forbidden',
    );
  });

  it('refuses a custom confirmation template without the code or STOP', async () => {
    const response = await t.call('POST', '/v1/lists', {
      body: {
        name: 'x',
        brand: 'ACME',
        sender: SENDER,
        templates: { en: { confirmation: 'Reply YES to join {list}' } },
      },
    });
    const body = await expectProblem(response, 400, 'invalid_request');
    expect(JSON.stringify(body)).toContain('{code}');
  });

  it('refuses an invalid number with invalid_phone', async () => {
    const list = await createList(t);
    await expectProblem(await subscribe(t, list.id, { to: '+1415' }), 400, 'invalid_phone');
    expect(t.outbox()).toHaveLength(0);
  });
});

describe('a refused confirmation SMS', () => {
  it('still answers pending and leaves message_failed with the gateway error in the ledger', async () => {
    // The gateway echoes the message in its error, code included.
    let lastBody = '';
    const sms = scriptedSms('http', () => ({
      status: 'failed',
      errorCode: 'http_400',
      errorMessage: `number unreachable: ${lastBody}`,
    }));
    const send = sms.send.bind(sms);
    sms.send = (message) => {
      lastBody = message.body;
      return send(message);
    };
    const t = await createTestApp({
      env: {
        ...RELAXED_LIMITS,
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: 'http://127.0.0.1:9/',
        SMS_HTTP_SECRET: 'http-gateway-secret-0123456789',
      },
      sms,
    });
    try {
      const list = await createList(t);
      expect((await subscribe(t, list.id)).status).toBe(202);
      const { trail } = await consentOf(t, list.id);
      expect(trail.map((e) => e.type)).toEqual(['requested', 'message_failed']);
      expect(trail[1]?.details).toEqual({ provider: 'http', from: SENDER, errorCode: 'http_400' });
      const failures = await t.rows(
        "SELECT provider_error FROM events WHERE reason = 'delivery_failed'",
      );
      const code = /code (\d{6})/.exec(lastBody)?.[1] ?? '';
      expect(code).toHaveLength(6);
      expect(failures).toEqual([
        {
          provider_error: expect.stringMatching(
            /^http_400: number unreachable: ACME: reply YES .* enter code \[code\] on/,
          ),
        },
      ]);
      expect(JSON.stringify(failures)).not.toContain(code);
    } finally {
      t.close();
    }
  });
});
