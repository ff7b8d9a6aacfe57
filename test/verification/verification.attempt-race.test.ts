/**
 * Threat: an attacker fires many checks at once so that several read "attempts < 5" before any
 * write lands, getting more than 5 guesses, or a correct code approved twice (two tokens).
 * The attempt counter and the approval are single guarded UPDATEs, so neither can happen.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, startVerification, type TestApp } from '../helpers/test-app.js';

describe('verification: concurrent checks', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('50 concurrent wrong checks consume exactly 5 attempts: 5 × 422, then 45 × 429', async () => {
    const v = await startVerification(t);
    const code = t.codeFor(v.id);
    const wrong = code === '000000' ? '000001' : '000000';
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: wrong } }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 422)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
    const [row] = await t.rows('SELECT attempts, status FROM verifications WHERE id = ?', v.id);
    expect(row).toEqual({ attempts: 5, status: 'locked' });
  });

  it('50 concurrent checks with the right code approve exactly once', async () => {
    const v = await startVerification(t);
    const code = t.codeFor(v.id);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code } }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    // The others lost the race: already used, or out of attempts while the winner was approving.
    expect(statuses.filter((s) => s !== 200).every((s) => s === 409 || s === 429)).toBe(true);
    const [approvals] = await t.rows(
      "SELECT count(*) AS n FROM events WHERE reason = 'approved' AND verification_id = ?",
      v.id,
    );
    expect(approvals).toEqual({ n: 1 });
  });

  it('45 wrong and 5 right codes interleaved: at most 5 guesses, at most one approval', async () => {
    const v = await startVerification(t);
    const code = t.codeFor(v.id);
    const wrong = code === '999999' ? '999998' : '999999';
    const bodies = Array.from({ length: 50 }, (_, i) => (i % 10 === 9 ? code : wrong));
    const responses = await Promise.all(
      bodies.map((c) => t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code: c } })),
    );
    const approved = responses.filter((r) => r.status === 200).length;
    expect(approved).toBeLessThanOrEqual(1);
    const [row] = await t.rows<{ attempts: number }>(
      'SELECT attempts FROM verifications WHERE id = ?',
      v.id,
    );
    expect(row!.attempts).toBeLessThanOrEqual(5);
    expect(responses.filter((r) => r.status === 422).length + approved).toBe(row!.attempts);
  });
});
