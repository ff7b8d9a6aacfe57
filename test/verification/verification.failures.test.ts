import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  revealNumber,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';

const wrongCode = (code: string): string =>
  String((Number(code) + 1) % 1_000_000).padStart(code.length, '0');

describe('verification failures: every reason answers with its status and is recorded', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  const failures = async (): Promise<Record<string, unknown>[]> =>
    (
      await t.rows(
        // Quoted aliases: PostgreSQL folds unquoted ones to lower case.
        `SELECT reason, rule, number_enc AS "numberEnc", ip, user_agent AS "userAgent", verification_id AS "verificationId" FROM events WHERE kind = 'failure' ORDER BY id`,
      )
    ).map(({ numberEnc, ...row }) => ({
      ...row,
      number: revealNumber(numberEnc as string | null),
    }));

  it('answers 422 incorrect_code with attemptsRemaining, then locks after 5 wrong codes, even for the right code', async () => {
    const v = await startVerification(t);
    const code = t.codeFor(v.id);
    for (let i = 1; i <= 5; i++) {
      const body = await expectProblem(
        await t.call('POST', `/v1/verifications/${v.id}/check`, {
          body: { code: wrongCode(code) },
        }),
        422,
        'incorrect_code',
      );
      expect(body.attemptsRemaining).toBe(5 - i);
    }
    const locked = await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code } }),
      429,
      'max_attempts_exceeded',
    );
    expect(JSON.stringify(locked)).not.toContain(code);
    const read = (await (await t.call('GET', `/v1/verifications/${v.id}`)).json()) as {
      status: string;
      attempts: number;
    };
    expect(read).toMatchObject({ status: 'max_attempts_exceeded', attempts: 5 });
    expect((await failures()).filter((f) => f.reason === 'incorrect_code')).toHaveLength(5);
    expect((await failures()).at(-1)).toMatchObject({
      reason: 'max_attempts_exceeded',
      number: '+14155550123',
      verificationId: v.id,
    });
  });

  it('answers 410 expired once the TTL has passed, with the injected clock', async () => {
    const v = await startVerification(t, { to: '+14155550123', ttlSeconds: 300 });
    const code = t.codeFor(v.id);
    t.clock.advance(300_000);
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code } }),
      410,
      'expired',
    );
    expect(
      ((await (await t.call('GET', `/v1/verifications/${v.id}`)).json()) as { status: string })
        .status,
    ).toBe('expired');
  });

  it('still accepts the code one millisecond before expiry', async () => {
    const v = await startVerification(t);
    t.clock.advance(600_000 - 1);
    expect(
      (await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: t.codeFor(v.id) } }))
        .status,
    ).toBe(200);
  });

  it('answers 409 canceled after cancel, and cancel twice is 409 too', async () => {
    const v = await startVerification(t);
    const canceled = await t.call('POST', `/v1/verifications/${v.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(((await canceled.json()) as { status: string }).status).toBe('canceled');
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: t.codeFor(v.id) } }),
      409,
      'canceled',
    );
    await expectProblem(await t.call('POST', `/v1/verifications/${v.id}/cancel`), 409, 'canceled');
  });

  it('answers 404 not_found for an unknown id, a malformed id and another app’s verification', async () => {
    await expectProblem(
      await t.call('POST', '/v1/verifications/ver_00000000000000000000000000/check', {
        body: { code: '123456' },
      }),
      404,
      'not_found',
    );
    await expectProblem(
      await t.call('GET', '/v1/verifications/..%2F..%2Fetc%2Fpasswd'),
      404,
      'not_found',
    );
    const other = await t.createKey('other', ['verify']);
    const v = await startVerification(t);
    await expectProblem(
      await t.call('GET', `/v1/verifications/${v.id}`, { key: other }),
      404,
      'not_found',
    );
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, {
        body: { code: t.codeFor(v.id) },
        key: other,
      }),
      404,
      'not_found',
    );
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/cancel`, { key: other }),
      404,
      'not_found',
    );
    expect(
      (await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: t.codeFor(v.id) } }))
        .status,
    ).toBe(200);
  });

  it('answers 400 invalid_phone for invalid numbers, two numbers, text around a number, and non-strings', async () => {
    for (const to of [
      '+1415555',
      'hello',
      '+14155550123, +14155550124',
      'call +14155550123',
      '+999123456789',
      '0612345678',
      '',
      ['+14155550123'],
      14155550123,
      null,
    ]) {
      await expectProblem(
        await t.call('POST', '/v1/verifications', { body: { to } }),
        400,
        'invalid_phone',
      );
    }
    const invalid = (await failures()).filter((f) => f.reason === 'invalid_phone');
    expect(invalid).toHaveLength(10);
    expect(invalid[0]).toMatchObject({ ip: '198.51.100.10' });
  });

  it('reads national formats with a country hint', async () => {
    const v = await startVerification(t, { to: '06 12 34 56 78', country: 'FR', locale: 'fr' });
    expect(v.to).toBe('+33612345678');
    expect(t.outbox().at(-1)?.body).toMatch(
      /^default : votre code de vérification est \d{6}\. Il expire dans 10 minutes\.$/,
    );
  });

  it('refuses a TTL outside 300–600 seconds and unknown fields with 400 invalid_request', async () => {
    for (const ttlSeconds of [299, 601, 450.5, '300']) {
      await expectProblem(
        await t.call('POST', '/v1/verifications', { body: { to: '+14155550123', ttlSeconds } }),
        400,
        'invalid_request',
      );
    }
    await expectProblem(
      await t.call('POST', '/v1/verifications', { body: { to: '+14155550123', extra: 1 } }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('POST', '/v1/verifications', { body: { to: '+14155550123', channel: 'email' } }),
      400,
      'invalid_request',
    );
  });

  it('checks by number against the newest pending verification of the calling app', async () => {
    const first = await startVerification(t);
    const second = await startVerification(t);
    await expectProblem(
      await t.call('POST', '/v1/verifications/check', {
        body: { to: '+14155550123', code: t.codeFor(first.id) },
      }),
      422,
      'incorrect_code',
    );
    const ok = await t.call('POST', '/v1/verifications/check', {
      body: { to: '(415) 555-0123'.replace(/^/, '+1 '), code: t.codeFor(second.id) },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { id: string }).id).toBe(second.id);
    await expectProblem(
      await t.call('POST', '/v1/verifications/check', {
        body: { to: '+14155550123', code: t.codeFor(second.id) },
      }),
      422,
      'incorrect_code',
    );
    await expectProblem(
      await t.call('POST', '/v1/verifications/check', {
        body: { to: '+14155550199', code: '123456' },
      }),
      404,
      'not_found',
    );
  });

  it('treats non-ASCII digits and wrong lengths as incorrect codes, never as a match', async () => {
    const v = await startVerification(t);
    const code = t.codeFor(v.id);
    const arabicIndic = [...code].map((d) => String.fromCharCode(0x0660 + Number(d))).join('');
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: arabicIndic } }),
      422,
      'incorrect_code',
    );
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: ` ${code}` } }),
      422,
      'incorrect_code',
    );
    await expectProblem(
      await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: `${code}0` } }),
      422,
      'incorrect_code',
    );
  });
});
