import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { appCode, enroll, enrollVerified, STEP_MS } from '../helpers/factors.js';

describe('authenticator-app factors: enrol → verify → challenge', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('enrols, activates with the first code, and approves a later code with a JWT (amr otp) verifiable against the JWKS', async () => {
    const key = await t.createKey('acme', ['factors']);
    const factor = await enroll(
      t,
      { user: 'user_42', type: 'totp', label: 'alice@example.com', issuer: 'ACME Bank' },
      key,
    );
    expect(factor).toMatchObject({
      user: 'user_42',
      type: 'totp',
      status: 'unverified',
      label: 'alice@example.com',
      issuer: 'ACME Bank',
      algorithm: 'SHA1',
      digits: 6,
      period: 30,
    });
    expect(factor.secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits, base32 without padding
    expect(factor.otpauthUri).toBe(
      `otpauth://totp/ACME%20Bank:alice%40example.com?secret=${factor.secret}&issuer=ACME%20Bank`,
    );
    expect(factor.qrSvg).toMatch(/^<svg [^>]*viewBox="0 0 \d+ \d+"/);

    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code: await appCode(factor.secret, t.clock.now()) },
        key,
      }),
      409,
      'factor_not_verified',
    );

    const verify = await t.call('POST', `/v1/factors/${factor.id}/verify`, {
      body: { code: await appCode(factor.secret, t.clock.now()) },
      key,
    });
    expect(verify.status).toBe(200);
    expect(verify.headers.get('cache-control')).toBe('no-store');
    const activated = (await verify.json()) as {
      status: string;
      recoveryCodes: string[];
      recoveryCodesRemaining: number;
    };
    expect(activated).toMatchObject({ status: 'verified', recoveryCodesRemaining: 10 });
    expect(activated.recoveryCodes).toHaveLength(10);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/verify`, { body: { code: '000000' }, key }),
      409,
      'factor_already_verified',
    );

    t.clock.advance(STEP_MS);
    const challenge = await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
      body: { code: await appCode(factor.secret, t.clock.now()) },
      key,
    });
    expect(challenge.status).toBe(200);
    const result = (await challenge.json()) as {
      id: string;
      status: string;
      method: string;
      token: string;
      transaction: unknown;
    };
    expect(result).toMatchObject({ status: 'approved', method: 'totp', transaction: null });
    const claims = await t.verifyToken(result.token, 'acme');
    expect(claims).toMatchObject({
      iss: 'http://verify.test',
      sub: 'user_42',
      aud: 'acme',
      jti: result.id,
      amr: ['otp'],
      factor_id: factor.id,
      method: 'totp',
    });
    expect(claims.txn_hash).toBeUndefined();
  });

  it('never shows the secret again: not in reads, lists, verify or challenge answers', async () => {
    const factor = await enrollVerified(t);
    t.clock.advance(STEP_MS);
    const bodies = [
      await (await t.call('GET', `/v1/factors/${factor.id}`)).text(),
      await (await t.call('GET', '/v1/factors?user=user_1')).text(),
      await (
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { code: await appCode(factor.secret, t.clock.now()) },
        })
      ).text(),
    ];
    for (const body of bodies) {
      expect(body).not.toContain(factor.secret);
      expect(body).not.toMatch(/otpauth|secret/i);
    }
    const list = JSON.parse(bodies[1]!) as {
      factors: { id: string; status: string; recoveryCodesRemaining: number }[];
    };
    expect(list.factors).toEqual([
      expect.objectContaining({ id: factor.id, status: 'verified', recoveryCodesRemaining: 10 }),
    ]);
  });

  it('keeps apps apart: another app neither sees nor uses a factor', async () => {
    const acme = await t.createKey('acme', ['factors']);
    const other = await t.createKey('other', ['factors']);
    const factor = await enrollVerified(t, { user: 'u1', type: 'totp' }, acme);
    await expectProblem(
      await t.call('GET', `/v1/factors/${factor.id}`, { key: other }),
      404,
      'not_found',
    );
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code: '123456' },
        key: other,
      }),
      404,
      'not_found',
    );
    await expectProblem(
      await t.call('DELETE', `/v1/factors/${factor.id}`, { key: other }),
      404,
      'not_found',
    );
    expect(
      (
        (await (await t.call('GET', '/v1/factors?user=u1', { key: other })).json()) as {
          factors: unknown[];
        }
      ).factors,
    ).toEqual([]);
  });

  it('requires the factors scope', async () => {
    const verifyOnly = await t.createKey('acme', ['verify']);
    await expectProblem(
      await t.call('POST', '/v1/factors', { body: { user: 'u1', type: 'totp' }, key: verifyOnly }),
      403,
      'forbidden',
    );
    await expectProblem(
      await t.call('GET', '/v1/factors?user=u1', { key: verifyOnly }),
      403,
      'forbidden',
    );
  });

  it('deletes a factor: its codes stop working', async () => {
    const factor = await enrollVerified(t);
    const deleted = await t.call('DELETE', `/v1/factors/${factor.id}`);
    expect(deleted.status).toBe(204);
    t.clock.advance(STEP_MS);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code: await appCode(factor.secret, t.clock.now()) },
      }),
      404,
      'not_found',
    );
    await expectProblem(await t.call('DELETE', `/v1/factors/${factor.id}`), 404, 'not_found');
  });

  it('refuses to activate an enrolment older than FACTOR_ENROLMENT_TTL_SECONDS', async () => {
    const factor = await enroll(t);
    t.clock.advance(901_000);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/verify`, {
        body: { code: await appCode(factor.secret, t.clock.now()) },
      }),
      410,
      'expired',
    );
  });

  it('caps factors per user (FACTORS_PER_USER), not counting stale enrolments', async () => {
    const small = await createTestApp({ env: { FACTORS_PER_USER: '2' } });
    try {
      await enroll(small);
      await enroll(small);
      await expectProblem(
        await small.call('POST', '/v1/factors', { body: { user: 'user_1', type: 'totp' } }),
        409,
        'factor_limit_reached',
      );
      await enroll(small, { user: 'user_2', type: 'totp' });
      small.clock.advance(901_000); // both unverified enrolments are now stale
      await enroll(small);
    } finally {
      small.close();
    }
  });

  it('answers a malformed enrolment or challenge with 400 invalid_request, never a 500', async () => {
    await expectProblem(
      await t.call('POST', '/v1/factors', { body: { user: 'u1', type: 'hotp' } }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('POST', '/v1/factors', { body: { user: 'u1', type: 'totp', issuer: 'A:B' } }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('POST', '/v1/factors', { body: { user: 'a\u0000b', type: 'totp' } }),
      400,
      'invalid_request',
    );
    const factor = await enrollVerified(t);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: {} }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { code: '123456', recoveryCode: 'abcde-fghjk' },
      }),
      400,
      'invalid_request',
    );
  });
});

describe('TOTP window: the current step and one on either side', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  for (const [name, offsetInStep] of [
    ['at the first second of a step', 0],
    ['in the middle of a step', 15_000],
    ['at the last millisecond of a step', STEP_MS - 1],
  ] as const) {
    it(`accepts −1, 0 and +1 and refuses −2 and +2 steps, ${name}`, async () => {
      const factor = await enrollVerified(t);
      t.clock.advance(10 * STEP_MS + offsetInStep);
      const now = t.clock.now();
      const challenge = async (steps: number) =>
        t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { code: await appCode(factor.secret, now + steps * STEP_MS) },
        });
      // In ascending order, so replay protection (which refuses earlier steps) does not interfere.
      await expectProblem(await challenge(-2), 422, 'incorrect_code');
      expect((await challenge(-1)).status).toBe(200);
      expect((await challenge(0)).status).toBe(200);
      expect((await challenge(1)).status).toBe(200);
      await expectProblem(await challenge(2), 422, 'incorrect_code');
    });
  }
});
