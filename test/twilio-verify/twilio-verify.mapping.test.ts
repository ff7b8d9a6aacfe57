import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/platform/errors.js';
import { newId } from '../../src/platform/ids.js';
import { twilioErrorOf } from '../../src/twilio-verify/twilio-verify.errors.js';
import {
  accountSidFor,
  apiKeyIdOf,
  apiKeySid,
  deliverySid,
  isTwilioSid,
  verificationIdOf,
  verificationSid,
} from '../../src/platform/twilio-sids.js';
import {
  appNameFor,
  parseAmount,
  pageMeta,
  twilioDate,
} from '../../src/twilio-verify/twilio-verify.views.js';

/**
 * The pure half of /v2: sids computed from the service's own ids (no column, no lookup), Twilio's
 * free-text amounts, app names from friendly names, and which Twilio error a refusal becomes.
 */

const HEX32 = /^[0-9a-f]{32}$/;

describe('sids', () => {
  it('maps every id newId makes to a Twilio sid and back, for verifications, deliveries and API keys', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (now) => {
        const ver = newId('ver', now);
        const sid = verificationSid(ver);
        expect(sid).toMatch(/^VE[0-9a-f]{32}$/);
        expect(verificationIdOf(sid)).toBe(ver);
        expect(verificationIdOf(sid.toUpperCase().replace(/^VE/, 'VE'))).toBe(ver);
        expect(deliverySid(newId('dlv', now))).toMatch(/^VL[0-9a-f]{32}$/);
        const key = newId('key', now);
        expect(apiKeyIdOf(apiKeySid(key)!)).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it('maps every 32-hex sid to an id that maps back to it (the bijection covers all of them)', () => {
    fc.assert(
      fc.property(fc.stringMatching(HEX32), (hex) => {
        const id = verificationIdOf(`VE${hex}`)!;
        expect(id).toMatch(/^ver_[0-7][0-9a-hjkmnp-tv-z]{25}$/);
        expect(verificationSid(id)).toBe(`VE${hex}`);
      }),
    );
  });

  it('keeps time order: sids of ids made later sort later', () => {
    const a = verificationSid(newId('ver', 1_700_000_000_000));
    const b = verificationSid(newId('ver', 1_700_000_000_001));
    expect(a < b).toBe(true);
  });

  it('refuses what is not a sid or an id of the kind', () => {
    expect(verificationIdOf('VA0123456789abcdef0123456789abcdef')).toBeUndefined();
    expect(verificationIdOf('VE0123')).toBeUndefined();
    expect(verificationIdOf('VE0123456789abcdef0123456789abcdeg')).toBeUndefined();
    expect(apiKeySid('admin')).toBeUndefined();
    expect(() => verificationSid('dlv_01jq8x2c4v6b8n0m2k4j6h8g0f')).toThrow();
    expect(isTwilioSid('SK', `SK${'a'.repeat(32)}`)).toBe(true);
    expect(isTwilioSid('SK', `AC${'a'.repeat(32)}`)).toBe(false);
  });

  it('derives one Account sid per pepper, stable, revealing nothing of it', () => {
    const sid = accountSidFor(Buffer.from('pepper-one-0123456789abcdefghijklmnop'));
    expect(sid).toMatch(/^AC[0-9a-f]{32}$/);
    expect(accountSidFor(Buffer.from('pepper-one-0123456789abcdefghijklmnop'))).toBe(sid);
    expect(accountSidFor(Buffer.from('pepper-two-0123456789abcdefghijklmnop'))).not.toBe(sid);
    expect(sid).not.toContain(Buffer.from('pepper-one').toString('hex'));
  });
});

describe('amounts, names, dates, pages', () => {
  it.each([
    ['€39.99', { amount: '39.99', currency: 'EUR' }],
    ['39.99€', { amount: '39.99', currency: 'EUR' }],
    ['39,99 €', { amount: '39.99', currency: 'EUR' }],
    ['EUR 39.99', { amount: '39.99', currency: 'EUR' }],
    ['39.99 eur', { amount: '39.99', currency: 'EUR' }],
    ['£5', { amount: '5', currency: 'GBP' }],
    ['$10.50', { amount: '10.50', currency: 'USD' }],
    ['JPY 1000', { amount: '1000', currency: 'JPY' }],
  ])('reads %s', (text, expected) => {
    expect(parseAmount(text)).toEqual(expected);
  });

  it.each(['39.99', '€39.99 EUR', 'EUR', '1,000.00 EUR', '-5 EUR', 'EUR 5; DROP', ''])(
    'refuses %j (no single currency, or not an amount)',
    (text) => {
      expect(parseAmount(text)).toBeUndefined();
    },
  );

  it('makes an app name of a friendly name', () => {
    expect(appNameFor('Acme Shop')).toBe('acme-shop');
    expect(appNameFor('  Café — Paris!  ')).toBe('cafe-paris');
    expect(appNameFor('株式会社')).toBe('service');
    expect(appNameFor('x'.repeat(80))).toHaveLength(40);
    fc.assert(
      fc.property(fc.string(), (name) => {
        expect(appNameFor(name)).toMatch(/^[a-z0-9][a-z0-9_-]{0,62}$/);
      }),
    );
  });

  it('writes dates as Twilio does, to the second', () => {
    expect(twilioDate(Date.UTC(2025, 0, 15, 9, 30, 0, 123))).toBe('2025-01-15T09:30:00Z');
  });

  it('links pages by absolute URLs', () => {
    expect(pageMeta({ accountSid: 'AC', baseUrl: 'https://verify.example' }, 1, 2, false)).toEqual({
      page: 1,
      page_size: 2,
      first_page_url: 'https://verify.example/v2/Services?PageSize=2&Page=0',
      previous_page_url: 'https://verify.example/v2/Services?PageSize=2&Page=0',
      next_page_url: null,
      url: 'https://verify.example/v2/Services?PageSize=2&Page=1',
      key: 'services',
    });
  });
});

describe('which Twilio error a refusal becomes', () => {
  const of = (
    reason: ConstructorParameters<typeof DomainError>[0],
    options: ConstructorParameters<typeof DomainError>[1] = {},
    operation: Parameters<typeof twilioErrorOf>[1] = 'start',
  ) => {
    const e = twilioErrorOf(new DomainError(reason, options), operation);
    return { status: e.status, code: e.code, message: e.message, headers: e.headers };
  };

  it('maps the limits and abuse rules to Twilio’s codes', () => {
    expect(
      of('rate_limited', { details: { limit: 'number:10m' }, retryAfterSeconds: 12.2 }),
    ).toEqual({
      status: 429,
      code: 60203,
      message: 'Max send attempts reached',
      headers: { 'Retry-After': '13', 'Twilio-Reached-Rate-Limit': 'number:10m' },
    });
    expect(
      of('rate_limited', { details: { limit: 'ip-checks:hour' }, retryAfterSeconds: 5 }, 'check'),
    ).toMatchObject({ status: 429, code: 20429 });
    expect(of('blocked', { rule: 'geo:denied' })).toMatchObject({ status: 403, code: 60605 });
    expect(of('blocked', { rule: 'blocklist:country' })).toMatchObject({
      status: 403,
      code: 60605,
    });
    expect(of('blocked', { rule: 'blocklist:prefix' })).toMatchObject({ status: 403, code: 60410 });
    expect(of('blocked', { rule: 'auto:conversion_collapse' })).toMatchObject({
      status: 403,
      code: 60410,
    });
    expect(of('abuse_suspected', { rule: 'abuse:score' })).toMatchObject({
      status: 403,
      code: 60410,
    });
    expect(of('unsupported_number_type', { rule: 'number_type:landline' })).toMatchObject({
      status: 403,
      code: 60205,
    });
    expect(of('unsupported_number_type', { rule: 'number_type:voip' })).toMatchObject({
      status: 403,
      code: 60410,
    });
  });

  it('answers what Twilio deletes (approved, expired, canceled) as not found, and names invalid parameters', () => {
    for (const reason of ['not_found', 'expired', 'already_used', 'canceled'] as const)
      expect(of(reason, {}, 'check')).toMatchObject({ status: 404, code: 20404 });
    expect(of('max_attempts_exceeded', {}, 'check')).toMatchObject({ status: 429, code: 60202 });
    expect(of('max_attempts_exceeded', {}, 'update')).toMatchObject({ status: 404, code: 20404 });
    expect(of('invalid_phone')).toMatchObject({
      status: 400,
      code: 60200,
      message: 'Invalid parameter: To',
    });
    expect(
      of('invalid_request', { details: { errors: [{ path: 'transaction.payee' }] } }),
    ).toMatchObject({ code: 60200, message: 'Invalid parameter: Payee' });
    expect(
      of('invalid_request', { details: { errors: [{ path: 'transaction.amount' }] } }),
    ).toMatchObject({ code: 60200, message: 'Invalid parameter: Amount' });
    expect(of('invalid_request', { details: { errors: [{ path: 'code' }] } })).toMatchObject({
      message: 'Invalid parameter: CustomCode',
    });
    expect(of('conflict', {}, 'service')).toMatchObject({ status: 409, code: 20409 });
  });
});
