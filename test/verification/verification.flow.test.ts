import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';

describe('verification flow: start → read the code → check → verify the token', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('approves the code from the outbox and returns a JWT verifiable against the JWKS', async () => {
    const key = await t.createKey('acme', ['verify']);
    const started = await startVerification(t, { to: '+1 415 555 0123', purpose: 'login' }, key);
    expect(started).toMatchObject({ to: '+14155550123', channel: 'sms', status: 'pending' });
    expect(started.deliveries).toEqual([
      expect.objectContaining({ channel: 'sms', provider: 'log', status: 'sent', error: null }),
    ]);
    expect(JSON.stringify(started)).not.toMatch(/\b\d{6}\b/);

    const code = t.codeFor(started.id);
    const response = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code },
      key,
    });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { status: string; token: string; id: string };
    expect(result).toMatchObject({ id: started.id, status: 'approved' });

    const claims = await t.verifyToken(result.token, 'acme');
    expect(claims).toMatchObject({
      iss: 'http://verify.test',
      sub: '+14155550123',
      aud: 'acme',
      jti: started.id,
      amr: ['sms'],
      purpose: 'login',
    });
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(300);

    await expectProblem(
      await t.call('POST', `/v1/verifications/${started.id}/check`, { body: { code }, key }),
      409,
      'already_used',
    );
  });

  it('records started, sent and approved once each (written with the step itself) and counts them in the metrics', async () => {
    const started = await startVerification(t);
    const response = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: t.codeFor(started.id) },
    });
    expect(response.status).toBe(200);
    const rows = await t.rows<{
      kind: string;
      reason: string;
      channel: string | null;
      provider: string | null;
      number_hash: string | null;
    }>(
      'SELECT kind, reason, channel, provider, number_hash FROM events WHERE verification_id = ? ORDER BY id',
      started.id,
    );
    expect(rows.map((r) => [r.kind, r.reason, r.channel, r.provider])).toEqual([
      ['success', 'started', 'sms', 'log'],
      ['success', 'sent', 'sms', 'log'],
      ['success', 'approved', 'sms', null],
    ]);
    expect(rows.every((r) => typeof r.number_hash === 'string')).toBe(true);
    const metrics = await t.deps.metrics.registry.metrics();
    for (const reason of ['started', 'sent', 'approved'])
      expect(metrics).toContain(`events_recorded_total{kind="success",reason="${reason}"} 1`);
  });
});
