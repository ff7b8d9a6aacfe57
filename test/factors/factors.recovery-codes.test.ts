/**
 * Threat: recovery codes are a second way past the authenticator. If one could be used twice, if old
 * codes kept working after regeneration, if they were stored in clear, or if they could be guessed
 * without limit, the factor would be only as strong as its weakest recovery code.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { enroll, enrollVerified } from '../helpers/factors.js';

describe('recovery codes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('issues 10 distinct codes at activation, each usable once', async () => {
    const factor = await enrollVerified(t);
    expect(new Set(factor.recoveryCodes).size).toBe(10);
    for (const code of factor.recoveryCodes)
      expect(code).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);

    const [first, second] = factor.recoveryCodes;
    const used = await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
      body: { recoveryCode: first },
    });
    expect(used.status).toBe(200);
    const result = (await used.json()) as {
      method: string;
      token: string;
      recoveryCodesRemaining: number;
    };
    expect(result).toMatchObject({ method: 'recovery_code', recoveryCodesRemaining: 9 });
    expect(await t.verifyToken(result.token, 'default')).toMatchObject({
      amr: ['otp'],
      method: 'recovery_code',
      sub: 'user_1',
    });

    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, { body: { recoveryCode: first } }),
      422,
      'incorrect_code',
    );
    // Typed loosely (upper case, no dash, spaces) it still works.
    const loose = second!.toUpperCase().replace('-', ' ');
    expect(
      (
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { recoveryCode: loose },
        })
      ).status,
    ).toBe(200);
  });

  it('lets exactly one of 10 concurrent uses of the same recovery code through', async () => {
    const factor = await enrollVerified(t);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { recoveryCode: factor.recoveryCodes[0] },
        }),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it('stores only keyed hashes, never the codes', async () => {
    const factor = await enrollVerified(t);
    const rows = t.database.raw
      .prepare('SELECT code_hash FROM factor_recovery_codes WHERE factor_id = ?')
      .all(factor.id) as { code_hash: string }[];
    expect(rows).toHaveLength(10);
    const dump = JSON.stringify(
      t.database.raw.prepare('SELECT * FROM factor_recovery_codes').all(),
    );
    for (const code of factor.recoveryCodes) {
      expect(dump).not.toContain(code);
      expect(dump).not.toContain(code.replace('-', ''));
    }
  });

  it('regenerates: the new codes work, every old one stops working', async () => {
    const factor = await enrollVerified(t);
    const response = await t.call('POST', `/v1/factors/${factor.id}/recovery-codes`);
    expect(response.status).toBe(200);
    const { recoveryCodes } = (await response.json()) as { recoveryCodes: string[] };
    expect(recoveryCodes).toHaveLength(10);
    expect(recoveryCodes.filter((c) => factor.recoveryCodes.includes(c))).toEqual([]);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { recoveryCode: factor.recoveryCodes[3] },
      }),
      422,
      'incorrect_code',
    );
    expect(
      (
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { recoveryCode: recoveryCodes[3] },
        })
      ).status,
    ).toBe(200);
  });

  it('has none before activation, and cannot be regenerated then', async () => {
    const factor = await enroll(t);
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/recovery-codes`),
      409,
      'factor_not_verified',
    );
  });

  it('counts wrong recovery codes against the same attempt limit', async () => {
    const factor = await enrollVerified(t);
    for (let i = 0; i < 5; i++) {
      await expectProblem(
        await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
          body: { recoveryCode: `aaaaa-aaaa${i}` },
        }),
        422,
        'incorrect_code',
      );
    }
    await expectProblem(
      await t.call('POST', `/v1/factors/${factor.id}/challenge`, {
        body: { recoveryCode: factor.recoveryCodes[0] },
      }),
      429,
      'max_attempts_exceeded',
    );
  });
});
