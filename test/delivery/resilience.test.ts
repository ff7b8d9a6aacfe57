import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createCircuitBreaker } from '../../src/delivery/resilience.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import {
  createTestApp,
  RELAXED_LIMITS,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
import { RANGES, startServer, type RecordedRequest } from './helpers.js';
import { verifyWebhookSignature } from '../../src/delivery/signatures.js';

const SECRET = 'http-gateway-secret-0123456789';

/** Real loopback gateways: SMS answers with `smsAnswer`, voice accepts every call. Times are performance.now(). */
async function gateways(smsAnswer: (res: ServerResponse) => void) {
  const smsAnsweredAt: number[] = [];
  const sms = await startServer((_req, res) => {
    smsAnswer(res);
    smsAnsweredAt.push(performance.now());
  });
  const voice = await startServer((_req: RecordedRequest, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: `call-${Math.random().toString(36).slice(2)}` }));
  });
  return { sms, voice, smsAnsweredAt, close: () => Promise.all([sms.close(), voice.close()]) };
}

const env = (smsUrl: string, voiceUrl: string, extra: Record<string, string> = {}) => ({
  ...RELAXED_LIMITS,
  FLASHCALL_RANGES: RANGES,
  SMS_PROVIDER: 'http',
  SMS_HTTP_URL: `${smsUrl}/sms`,
  SMS_HTTP_SECRET: SECRET,
  VOICE_PROVIDER: 'http',
  VOICE_HTTP_URL: `${voiceUrl}/call`,
  ...extra,
});

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  return `n=${sorted.length} median=${at(0.5)} ms p95=${at(0.95)} ms max=${sorted.at(-1)!.toFixed(2)} ms`;
}

describe('circuit breaker', () => {
  it('opens after the threshold, refuses while open, lets one trial through after the cooldown', () => {
    const clock = createFakeClock();
    const transitions: string[] = [];
    const breaker = createCircuitBreaker('sms:http', {
      clock,
      breakerThreshold: 3,
      breakerCooldownMs: 30_000,
      onBreaker: (_n, s) => transitions.push(s),
    });
    for (let i = 0; i < 3; i++) {
      expect(breaker.isOpen()).toBe(false);
      breaker.failure();
    }
    expect(breaker.isOpen()).toBe(true);
    clock.advance(30_000);
    expect(breaker.isOpen()).toBe(false); // the one trial
    expect(breaker.isOpen()).toBe(true); // everyone else waits for its outcome
    breaker.success();
    expect(breaker.isOpen()).toBe(false);
    expect(transitions).toEqual(['open', 'closed']);
  });
});

describe('from a provider failure to the flash call, over real sockets', () => {
  let t: TestApp;
  let gw: Awaited<ReturnType<typeof gateways>>;
  afterEach(async () => {
    t.close();
    await gw.close();
  });

  it('an open breaker skips the failing SMS gateway and calls at once', async () => {
    gw = await gateways((res) => {
      res.writeHead(503);
      res.end('overloaded');
    });
    t = await createTestApp({
      env: env(gw.sms.url, gw.voice.url, {
        PROVIDER_RETRIES: '0',
        PROVIDER_BREAKER_THRESHOLD: '3',
        PROVIDER_BREAKER_COOLDOWN_SECONDS: '30',
      }),
    });
    for (let i = 0; i < 3; i++) await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(gw.sms.requests).toHaveLength(3);
    const skipped = await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(gw.sms.requests).toHaveLength(3);
    expect(skipped.channel).toBe('flashcall');
    expect(skipped.deliveries[0]).toMatchObject({
      status: 'failed',
      error: { code: 'circuit_open' },
    });
    expect(gw.voice.requests).toHaveLength(4);
    // The http voice gateway gets a signed JSON flash call.
    const call = gw.voice.requests[0]!;
    expect(JSON.parse(call.body)).toMatchObject({
      type: 'flashcall',
      to: '+33612345678',
      from: expect.stringMatching(/^\+(33187|442079)\d{6}$/),
    });
    expect(
      verifyWebhookSignature(
        [SECRET],
        String(call.headers['x-otp-signature']),
        String(call.headers['x-otp-timestamp']),
        call.body,
        t.clock.now(),
      ),
    ).toBe(true);
    t.clock.advance(30_000);
    await startVerification(t, { to: '+33612345678', channel: 'auto' });
    expect(gw.sms.requests).toHaveLength(4); // the half-open trial
  });

  it('measures the time from the SMS gateway failing to the flash call reaching the voice gateway', async () => {
    const results: string[] = [];
    const scenarios: {
      name: string;
      answer: (res: ServerResponse) => void;
      extra: Record<string, string>;
    }[] = [
      {
        name: '4xx rejection (no retry)',
        answer: (res) => {
          res.writeHead(400);
          res.end('unknown destination');
        },
        extra: { PROVIDER_RETRIES: '2', PROVIDER_BREAKER_THRESHOLD: '100' },
      },
      {
        name: '5xx after 2 retries (base 250 ms)',
        answer: (res) => {
          res.writeHead(503);
          res.end('overloaded');
        },
        extra: {
          PROVIDER_RETRIES: '2',
          PROVIDER_RETRY_BASE_MS: '250',
          PROVIDER_BREAKER_THRESHOLD: '100',
        },
      },
    ];
    for (const scenario of scenarios) {
      gw = await gateways(scenario.answer);
      t = await createTestApp({ env: env(gw.sms.url, gw.voice.url, scenario.extra) });
      const firstFailure: number[] = [];
      const lastFailure: number[] = [];
      const runs = scenario.name.startsWith('5xx') ? 5 : 20;
      for (let i = 0; i < runs; i++) {
        const answeredBefore = gw.smsAnsweredAt.length;
        const callsBefore = gw.voice.requests.length;
        const started = await startVerification(t, { to: '+33612345678', channel: 'auto' });
        expect(started.channel).toBe('flashcall');
        const callAt = gw.voice.requests[callsBefore]!.at;
        firstFailure.push(callAt - gw.smsAnsweredAt[answeredBefore]!);
        lastFailure.push(callAt - gw.smsAnsweredAt.at(-1)!);
      }
      results.push(
        `${scenario.name}: last failure → call ${summary(lastFailure)}; first failure → call ${summary(firstFailure)}`,
      );
      expect(Math.max(...lastFailure)).toBeLessThan(1000); // a sanity bound; the figures are printed
      t.close();
      await gw.close();
    }
    gw = await gateways(() => undefined); // never answers
    t = await createTestApp({
      env: env(gw.sms.url, gw.voice.url, { SMS_HTTP_TIMEOUT_MS: '200', PROVIDER_RETRIES: '0' }),
    });
    const timeouts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = gw.sms.requests.length;
      const callsBefore = gw.voice.requests.length;
      await startVerification(t, { to: '+33612345678', channel: 'auto' });
      timeouts.push(gw.voice.requests[callsBefore]!.at - gw.sms.requests[before]!.at);
    }
    results.push(
      `timeout (SMS_HTTP_TIMEOUT_MS=200, no retry): SMS request → call ${summary(timeouts)}`,
    );
    gw.sms.server.closeAllConnections();
    console.log(`\n[fallback latency]\n  ${results.join('\n  ')}\n`);
  });
});
