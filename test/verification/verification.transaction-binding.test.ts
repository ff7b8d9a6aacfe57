/**
 * Threat: a code the person obtained to approve one payment (EUR 25 to a friend) is used by an
 * attacker, or a compromised front end, to approve another (EUR 2,500 to the attacker), or the person
 * approves without being told what. The code must be bound to the amount, currency and payee shown
 * (PSD2 RTS Art. 5, dynamic linking), and the result token must say which transaction it approved.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalTransaction, transactionHash } from '../../src/verification/transaction.js';
import { appCode, enrollVerified, STEP_MS } from '../helpers/factors.js';
import {
  createTestApp,
  expectProblem,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';

const TRANSFER = { amount: '250.00', currency: 'EUR', payee: 'ACME SARL' };

describe('transaction-bound SMS codes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  const codeIn = (t: TestApp, id: string): string =>
    /code (\d{6})/.exec(
      t
        .outbox()
        .filter((l) => l.verificationId === id)
        .at(-1)?.body ?? '',
    )?.[1] ?? '';

  it('says in the SMS what is approved, and approves with the same transaction, putting its hash in the JWT', async () => {
    await t.call('PUT', '/v1/admin/apps/default', { body: { brand: 'ACME Bank' } });
    const started = await startVerification(t, {
      to: '+14155550123',
      transaction: { amount: 250, currency: 'eur', payee: '  ACME   SARL ' },
    });
    expect(started).toMatchObject({ transaction: TRANSFER });
    const body = t.outbox().at(-1)?.body ?? '';
    expect(body).toMatch(
      /^.+: approve a transfer of EUR 250\.00 to ACME SARL: code \d{6}\. It expires in 10 minutes\. Never share it\.$/,
    );

    const response = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: codeIn(t, started.id), transaction: TRANSFER },
    });
    expect(response.status).toBe(200);
    const { token } = (await response.json()) as { token: string };
    const claims = await t.verifyToken(token, 'default');
    expect(claims.txn_hash).toBe(transactionHash(canonicalTransaction(TRANSFER)));
    // A relying party can recompute it from its own record of the payment.
    expect(claims.txn_hash).toBe(
      createHash('sha256')
        .update('otp-verify:txn:v1\u0000["250.00","EUR","ACME SARL"]')
        .digest('base64url'),
    );
  });

  for (const [what, presented] of [
    ['a different amount', { ...TRANSFER, amount: '2500.00' }],
    ['a different payee', { ...TRANSFER, payee: 'EVIL LTD' }],
    ['a different currency', { ...TRANSFER, currency: 'USD' }],
    ['no transaction', undefined],
  ] as const) {
    it(`refuses the right code presented with ${what} (and counts the attempt)`, async () => {
      const started = await startVerification(t, { to: '+14155550123', transaction: TRANSFER });
      const code = codeIn(t, started.id);
      const body = await expectProblem(
        await t.call('POST', `/v1/verifications/${started.id}/check`, {
          body: { code, transaction: presented },
        }),
        422,
        'incorrect_code',
      );
      expect(body.attemptsRemaining).toBe(4);
      expect(
        (
          await t.call('POST', `/v1/verifications/${started.id}/check`, {
            body: { code, transaction: TRANSFER },
          })
        ).status,
      ).toBe(200);
    });
  }

  it('refuses a transaction presented to a verification started without one', async () => {
    const started = await startVerification(t, { to: '+14155550123' });
    await expectProblem(
      await t.call('POST', `/v1/verifications/${started.id}/check`, {
        body: { code: t.codeFor(started.id), transaction: TRANSFER },
      }),
      422,
      'incorrect_code',
    );
  });

  it('binds resent codes to the same transaction, and checks by number too', async () => {
    const started = await startVerification(t, {
      to: '+14155550123',
      transaction: TRANSFER,
      locale: 'fr',
    });
    t.clock.advance(31_000);
    expect(
      (await t.call('POST', `/v1/verifications/${started.id}/resend`, { body: {} })).status,
    ).toBe(200);
    const body = t.outbox().at(-1)?.body ?? '';
    expect(body).toMatch(/validez un virement de EUR 250\.00 à ACME SARL : code \d{6}/);
    const code = codeIn(t, started.id);
    await expectProblem(
      await t.call('POST', '/v1/verifications/check', {
        body: { to: '+14155550123', code, transaction: { ...TRANSFER, amount: '250.01' } },
      }),
      422,
      'incorrect_code',
    );
    expect(
      (
        await t.call('POST', '/v1/verifications/check', {
          body: { to: '+14155550123', code, transaction: { ...TRANSFER, amount: '250' } },
        })
      ).status,
    ).toBe(200);
  });

  it('refuses malformed transactions with 400 invalid_request, recorded', async () => {
    for (const transaction of [
      { ...TRANSFER, amount: '-5' },
      { ...TRANSFER, amount: '0.00' },
      { ...TRANSFER, amount: '1.005' }, // EUR has 2 decimals
      { ...TRANSFER, amount: '100.5', currency: 'JPY' }, // JPY has none
      { ...TRANSFER, currency: 'XYZ1' },
      { ...TRANSFER, payee: 'ACME\nSARL: code 000000' },
      { ...TRANSFER, payee: 'x'.repeat(71) },
    ]) {
      await expectProblem(
        await t.call('POST', '/v1/verifications', { body: { to: '+14155550123', transaction } }),
        400,
        'invalid_request',
      );
    }
    expect(t.outbox()).toEqual([]);
    const [recorded] = await t.rows<{ n: number }>(
      "SELECT count(*) AS n FROM events WHERE reason = 'invalid_request' AND rule = 'transaction'",
    );
    expect(recorded!.n).toBeGreaterThanOrEqual(5);
  });
});

describe('canonical transactions', () => {
  it('treats 250, "250", "250.0" and "250.00" EUR as one amount, and keeps currency precision', () => {
    for (const amount of [250, '250', '250.0', '250.00', '250.000'])
      expect(canonicalTransaction({ ...TRANSFER, amount }).amount).toBe('250.00');
    expect(canonicalTransaction({ amount: '1000', currency: 'JPY', payee: 'X' }).amount).toBe(
      '1000',
    );
    expect(canonicalTransaction({ amount: '1.234', currency: 'BHD', payee: 'X' }).amount).toBe(
      '1.234',
    );
    expect(transactionHash(canonicalTransaction({ ...TRANSFER, amount: '250.01' }))).not.toBe(
      transactionHash(canonicalTransaction(TRANSFER)),
    );
  });
});

describe('transaction on factor challenges', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('approves a TOTP challenge for a transaction and puts its hash in the JWT', async () => {
    const factor = await enrollVerified(t);
    t.clock.advance(STEP_MS);
    const response = await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
      body: { code: await appCode(factor.secret, t.clock.now()), transaction: TRANSFER },
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { token: string; transaction: unknown };
    expect(result.transaction).toEqual(TRANSFER);
    expect((await t.verifyToken(result.token, 'default')).txn_hash).toBe(
      transactionHash(canonicalTransaction(TRANSFER)),
    );
  });
});
