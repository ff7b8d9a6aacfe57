/**
 * Threat: malformed input that crashes a handler (a 500 with a stack trace tells an attacker about
 * internals) or a huge body that exhausts memory. Every bad input gets a problem+json 4xx.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';

describe('HTTP errors are RFC 9457 problems, never 500s', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('malformed JSON → 400 malformed_json', async () => {
    await expectProblem(
      await t.call('POST', '/v1/verifications', { body: '{"to": "+1415' }),
      400,
      'malformed_json',
    );
  });

  it('wrong types → 400 invalid_request with the failing paths', async () => {
    const body = await expectProblem(
      await t.call('POST', '/v1/verifications', {
        body: { to: '+14155550123', ttlSeconds: 'soon', signals: { ip: 'not-an-ip' } },
      }),
      400,
      'invalid_request',
    );
    expect((body.errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'signals.ip',
      'ttlSeconds',
    ]);
  });

  it('a JSON array, null or a number instead of an object → 400', async () => {
    for (const raw of ['[]', 'null', '42', '"x"']) {
      const response = await t.call('POST', '/v1/verifications', { body: raw });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
    }
  });

  it('a body over 64 KiB → 413 payload_too_large', async () => {
    const big = JSON.stringify({ to: '+14155550123', purpose: 'x'.repeat(70_000) });
    await expectProblem(
      await t.call('POST', '/v1/verifications', {
        body: big,
        headers: { 'content-length': String(big.length) },
      }),
      413,
      'payload_too_large',
    );
  });

  it('no or another content type → 415 unsupported_media_type', async () => {
    await expectProblem(
      await t.call('POST', '/v1/verifications', {
        body: '{"to":"+14155550123"}',
        headers: { 'content-type': 'text/plain' },
      }),
      415,
      'unsupported_media_type',
    );
  });

  it('an unknown route → 404 not_found as a problem', async () => {
    await expectProblem(await t.call('GET', '/v1/nothing-here'), 404, 'not_found');
    await expectProblem(await t.call('GET', '/nope', { key: null }), 404, 'not_found');
  });

  it('a code in the request is never echoed in an error', async () => {
    const response = await t.call(
      'POST',
      '/v1/verifications/ver_00000000000000000000000000/check',
      { body: { code: '987654', extra: 'field' } },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain('987654');
  });

  it('carries a request id in problems and in the X-Request-Id header', async () => {
    const response = await t.call('GET', '/v1/nothing-here');
    const body = await expectProblem(response, 404, 'not_found');
    expect(body.requestId).toBe(response.headers.get('x-request-id'));
  });
});
