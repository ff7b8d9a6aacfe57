// Exploitable without a shared store: with several instances behind a load balancer, each would
// keep its own budget and an attacker would get N times every limit by spreading requests. And
// if Redis going down stopped the service (or silently removed every limit), an attacker who can
// disturb Redis would get either an outage or a free pass.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { start } from './limits-helpers.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL)
  console.warn(
    'limits.redis.test.ts: REDIS_URL is not set, so the shared-Redis tests are skipped (CI sets it; e.g. REDIS_URL=redis://127.0.0.1:6379).',
  );

describe.skipIf(!REDIS_URL)('Redis counters (REDIS_URL)', () => {
  const apps: TestApp[] = [];
  afterEach(() => {
    for (const t of apps.splice(0)) t.close();
  });

  it('two instances with their own databases share one budget through Redis', async () => {
    // A fresh app name per run: Redis keys outlive the test.
    const app = `redis-${randomUUID().slice(0, 8)}`;
    const a = await createTestApp({ env: { REDIS_URL: REDIS_URL! } });
    const b = await createTestApp({ env: { REDIS_URL: REDIS_URL! } });
    apps.push(a, b);
    const keyA = await a.createKey(app, ['verify']);
    const keyB = await b.createKey(app, ['verify']);
    for (let i = 0; i < 5; i++) {
      const instance = i % 2 === 0 ? a : b;
      expect(
        (
          await start(instance, i % 2 === 0 ? keyA : keyB, '+33612345678', {
            ip: `203.0.113.${i + 1}`,
          })
        ).status,
      ).toBe(201);
    }
    const refused = await start(b, keyB, '+33612345678', { ip: '203.0.113.77' });
    expect((await expectProblem(refused, 429, 'rate_limited')).limit).toBe('number:10m');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(590);
    const metrics = await (await a.app.request('/metrics')).text();
    expect(metrics).not.toMatch(/rate_limiter_fallbacks_total\{[^}]*\} [1-9]/);
  });
});

describe('Redis unavailable', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('keeps answering and limiting from the in-memory insurance, and counts the fallback', async () => {
    // Port 1 on loopback: nothing listens, connections are refused at once.
    t = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    const key = await t.createKey('acme', ['verify']);
    for (let i = 0; i < 5; i++)
      expect((await start(t, key, '+33612345678', { ip: `203.0.113.${i + 1}` })).status).toBe(201);
    expect(
      (
        await expectProblem(
          await start(t, key, '+33612345678', { ip: '203.0.113.9' }),
          429,
          'rate_limited',
        )
      ).limit,
    ).toBe('number:10m');
    const metrics = await (await t.app.request('/metrics')).text();
    const consumed = /rate_limiter_fallbacks_total\{operation="consume"\} (\d+)/.exec(metrics);
    expect(Number(consumed?.[1])).toBeGreaterThan(0);
  });
});
