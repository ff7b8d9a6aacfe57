import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/platform/errors.js';
import type {
  CallerContext,
  CheckedVerification,
} from '../../src/verification/verification.service.js';
import { RANGES } from '../delivery/helpers.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * The verification service's capabilities that /v2 (Twilio Verify) needs, on the service itself:
 * a code the caller chose (only where the app allows it, only by SMS, stored hashed), approval
 * without a code for such apps, start-or-resend on the number's pending verification, and the
 * check's view of the verification it ran against. A custom code is a weaker code (the app, not a
 * CSPRNG, made it): an app that did not ask for them must never get one through.
 */

const ctx: CallerContext = { app: 'shop', clientIp: '198.51.100.10', userAgent: 'test' };
const TO = '+14155550123';

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error.reason;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('caller-chosen codes, approval without a code, start-or-resend', () => {
  let t: TestApp;
  // The per-number limit raised out of the way: these tests start and resend often for one number.
  const env = { LIMIT_NUMBER_STARTS_10M: '20' };
  beforeEach(async () => {
    t = await createTestApp({ env });
  });
  afterEach(() => t.close());

  const allowCustomCodes = () => t.deps.admin.updateApp('shop', { customCodes: true });

  it('refuses a custom code unless the app allows them, and by flash call, before any limit counts or anything is sent', async () => {
    t.close();
    t = await createTestApp({ env: { ...env, FLASHCALL_RANGES: RANGES } });
    expect(
      await reason(t.deps.verification.start(ctx, { to: TO, channel: 'sms', code: '4242' })),
    ).toBe('invalid_request');
    await allowCustomCodes();
    expect(
      await reason(t.deps.verification.start(ctx, { to: TO, channel: 'flashcall', code: '4242' })),
    ).toBe('invalid_request');
    expect(t.outbox()).toHaveLength(0);
    const rows = await t.rows<{ rule: string | null }>(
      "SELECT rule FROM events WHERE kind = 'failure' AND reason = 'invalid_request'",
    );
    expect(rows.map((r) => r.rule)).toEqual(['custom_code', 'custom_code']);
    const counters = await t.rows<{ n: number }>('SELECT count(*) AS n FROM verifications');
    expect(counters[0]?.n).toBe(0);
    // A custom code under auto never falls back to a call (the app could not know its code).
    const auto = await t.deps.verification.start(ctx, {
      to: '+33612345678',
      channel: 'auto',
      code: '4242',
    });
    expect(auto).toMatchObject({ channel: 'sms', fallback: null });
  });

  it('sends the custom code, stores only its hash, and checks it like any code', async () => {
    await allowCustomCodes();
    const v = await t.deps.verification.start(ctx, { to: TO, channel: 'auto', code: 'ab12CD' });
    expect(v).toMatchObject({ channel: 'sms', codeLength: 6, fallback: null });
    expect(t.outbox().at(-1)?.body).toContain('ab12CD');
    const stored = JSON.stringify(await t.rows('SELECT * FROM deliveries'));
    expect(stored).not.toContain('ab12CD');
    expect(await t.deps.verification.check(ctx, v.id, 'ab12CD')).toMatchObject({
      status: 'approved',
    });
  });

  it('approves without a code only for an app using custom codes, once, recording the approval', async () => {
    const plain = await t.deps.verification.start(ctx, { to: TO, channel: 'sms' });
    expect(await reason(t.deps.verification.approve(ctx, plain.id))).toBe('invalid_request');
    await allowCustomCodes();
    const approved = await t.deps.verification.approve(ctx, plain.id);
    expect(approved).toMatchObject({ status: 'approved', attempts: 1 });
    expect(await reason(t.deps.verification.approve(ctx, plain.id))).toBe('already_used');
    expect(await reason(t.deps.verification.approve({ ...ctx, app: 'other' }, plain.id))).toBe(
      'not_found',
    );
    const events = await t.rows<{ reason: string }>(
      "SELECT reason FROM events WHERE kind = 'success' AND verification_id = ? ORDER BY at, id",
      plain.id,
    );
    expect(events.map((e) => e.reason)).toContain('approved');
  });

  it('start-or-resend sends again on the pending verification of the number, and starts anew otherwise', async () => {
    const first = await t.deps.verification.startOrResend(ctx, {
      to: TO,
      channel: 'sms',
      brand: 'Shop Pay',
    });
    expect(t.outbox().at(-1)?.body).toMatch(/^Shop Pay: /);
    t.clock.advance(31_000);
    const again = await t.deps.verification.startOrResend(ctx, {
      to: TO,
      channel: 'auto',
      appHash: 'FA+9qCX9VSu',
    });
    expect(again).toMatchObject({ id: first.id, sends: 2 });
    expect(t.outbox().at(-1)?.body.split('\n').at(-1)).toBe('FA+9qCX9VSu');
    // Another transaction is another verification: a code bound to one never approves the other.
    const payment = await t.deps.verification.startOrResend(ctx, {
      to: TO,
      channel: 'sms',
      transaction: { amount: '10', currency: 'EUR', payee: 'ACME' },
    });
    expect(payment.id).not.toBe(first.id);
    // So is another app's.
    const other = await t.deps.verification.startOrResend(
      { ...ctx, app: 'other' },
      { to: TO, channel: 'sms' },
    );
    expect(other.id).not.toBe(first.id);
    // Once it is no longer pending, the number starts anew.
    await t.deps.verification.cancel(ctx, first.id);
    const fresh = await t.deps.verification.startOrResend(ctx, { to: TO, channel: 'sms' });
    expect([first.id, payment.id]).not.toContain(fresh.id);
    // An app choosing its codes gets a new verification every time: a generated code resent on one
    // of its verifications would be one it cannot check.
    await allowCustomCodes();
    const custom = await t.deps.verification.startOrResend(ctx, {
      to: TO,
      channel: 'sms',
      code: '9876',
    });
    t.clock.advance(31_000);
    const plain = await t.deps.verification.startOrResend(ctx, { to: TO, channel: 'sms' });
    expect(new Set([first.id, payment.id, fresh.id, custom.id, plain.id]).size).toBe(5);
  });

  it('start-or-resend refuses the sixth send with max_sends_exceeded and the seconds until the verification expires', async () => {
    await t.deps.verification.startOrResend(ctx, { to: TO, channel: 'sms' });
    for (let i = 0; i < 4; i++) {
      t.clock.advance(60_000);
      await t.deps.verification.startOrResend(ctx, { to: TO, channel: 'sms' });
    }
    t.clock.advance(60_000);
    try {
      await t.deps.verification.startOrResend(ctx, { to: TO, channel: 'sms' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({
        reason: 'max_sends_exceeded',
        retryAfterSeconds: 600 - 5 * 60,
      });
    }
  });

  it('tells a check which verification it ran against before the outcome, also for a wrong code', async () => {
    const v = await t.deps.verification.start(ctx, { to: TO, channel: 'sms' });
    const seen: CheckedVerification[] = [];
    const right = t.codeFor(v.id);
    const wrong = right === '000000' ? '111111' : '000000';
    expect(
      await reason(
        t.deps.verification.checkByNumber(ctx, TO, wrong, undefined, {
          onVerification: (x) => seen.push(x),
        }),
      ),
    ).toBe('incorrect_code');
    await t.deps.verification.check(ctx, v.id, right, undefined, {
      onVerification: (x) => seen.push(x),
    });
    expect(seen).toEqual([
      { id: v.id, to: TO, channel: 'sms', createdAt: v.createdAt, transaction: null },
      { id: v.id, to: TO, channel: 'sms', createdAt: v.createdAt, transaction: null },
    ]);
    // Nothing found, nothing told.
    expect(
      await reason(
        t.deps.verification.checkByNumber(ctx, '+14155550199', right, undefined, {
          onVerification: (x) => seen.push(x),
        }),
      ),
    ).toBe('not_found');
    expect(seen).toHaveLength(2);
    expect(t.deps.verification.defaults).toMatchObject({
      codeLength: 6,
      maxCheckAttempts: 5,
      maxSends: 5,
    });
  });
});
