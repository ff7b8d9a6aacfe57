/**
 * Exploitable or harmful without this: a gateway that hangs, errors, answers garbage or takes
 * messages and drops them must not hold the caller's request open without bound, crash a parser
 * into a 500, leave the person without any code (the flash call must follow, at once or when the
 * timed fallback is due), disappear from the failure record, or leak a code into a response
 * (careless gateways echo the message in their errors).
 *
 * Every fault runs through the real HTTP surface (POST /v1/verifications under `auto`) against a
 * real loopback server speaking the http gateway's protocol or Twilio's REST API, for both.
 */
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createFallbackScheduler } from '../../src/jobs/fallback.scheduler.js';
import { createLogger } from '../../src/platform/logger.js';
import { ACCOUNT_SID, AUTH_TOKEN } from '../delivery/fake-twilio.js';
import { RANGES, startServer, type RecordedRequest } from '../delivery/helpers.js';
import { createTestApp, RELAXED_LIMITS, type TestApp } from '../helpers/test-app.js';

type Protocol = 'http' | 'twilio';

const SECRET = 'http-gateway-secret-0123456789';
const TIMEOUT_MS = 300;
const RETRIES = 2;
const RETRY_BASE_MS = 50;
const FALLBACK_AFTER_SECONDS = 45;
/** Room for a loaded 2-core machine on top of what the configuration allows. */
const SLACK_MS = 1500;

/** What the SMS side of the gateway does with each message. */
type Behaviour = (res: ServerResponse, request: RecordedRequest, protocol: Protocol) => void;

interface Fault {
  name: string;
  sms: Behaviour;
  /** The delivery's error code, per protocol; `sent` when the gateway (seemingly) accepted. */
  outcome: Record<Protocol, string>;
  /** Retried (5xx, timeout, network): the gateway sees 1 + PROVIDER_RETRIES requests. */
  transient: boolean;
  /** The request waits for the provider's timeout on every attempt. */
  hangs?: boolean;
}

const accepted = (res: ServerResponse, protocol: Protocol): void => {
  if (protocol === 'http') {
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ id: `gw-${randomBytes(6).toString('hex')}` }));
  } else {
    res
      .writeHead(201, { 'content-type': 'application/json' })
      .end(JSON.stringify({ sid: `SM${randomBytes(16).toString('hex')}`, status: 'queued' }));
  }
};

const messageOf = (request: RecordedRequest, protocol: Protocol): string =>
  protocol === 'http'
    ? ((JSON.parse(request.body) as { body?: string }).body ?? '')
    : (new URLSearchParams(request.body).get('Body') ?? '');

const HTML_PAGE =
  '<!doctype html><html><head><title>Service Unavailable</title></head><body><h1>Please try again later</h1></body></html>';

const FAULTS: Fault[] = [
  {
    name: 'never answers',
    sms: () => undefined,
    outcome: { http: 'timeout', twilio: 'timeout' },
    transient: true,
    hangs: true,
  },
  {
    name: 'answers after the timeout',
    sms: (res, _req, protocol) =>
      setTimeout(() => res.writable && accepted(res, protocol), TIMEOUT_MS + 250),
    outcome: { http: 'timeout', twilio: 'timeout' },
    transient: true,
    hangs: true,
  },
  {
    name: '503 echoing the message (code included) in its error',
    sms: (res, req, protocol) =>
      protocol === 'http'
        ? res
            .writeHead(503, { 'content-type': 'text/plain' })
            .end(`could not deliver "${messageOf(req, protocol)}"`)
        : res.writeHead(503, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              code: 20503,
              message: `Service unavailable for "${messageOf(req, protocol)}"`,
              status: 503,
            }),
          ),
    outcome: { http: 'http_503', twilio: 'twilio_20503' },
    transient: true,
  },
  {
    name: '502 with an HTML page (a proxy)',
    sms: (res) => res.writeHead(502, { 'content-type': 'text/html' }).end(HTML_PAGE),
    outcome: { http: 'http_502', twilio: 'http_502' },
    transient: true,
  },
  {
    name: '2xx with an HTML page (a captive portal)',
    sms: (res) => res.writeHead(200, { 'content-type': 'text/html' }).end(HTML_PAGE),
    outcome: { http: 'invalid_response', twilio: 'invalid_response' },
    transient: false,
  },
  {
    name: '2xx with a body that is not JSON',
    sms: (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('OK \u0000\u00ff garbage'),
    outcome: { http: 'invalid_response', twilio: 'invalid_response' },
    transient: false,
  },
  {
    name: '2xx with truncated JSON',
    sms: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"gw-12'),
    outcome: { http: 'invalid_response', twilio: 'invalid_response' },
    transient: false,
  },
  {
    name: '2xx with JSON of the wrong shape (an array)',
    sms: (res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('[{"sid":"SM1","id":"gw-1"}]'),
    outcome: { http: 'invalid_response', twilio: 'invalid_response' },
    transient: false,
  },
  {
    // The http protocol makes the id optional (the send counts, the timed fallback covers it);
    // Twilio always names what it created.
    name: '2xx with a JSON object without an id or sid',
    sms: (res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"status":"queued","id":{"nested":true}}'),
    outcome: { http: 'sent', twilio: 'invalid_response' },
    transient: false,
  },
  {
    name: 'connection cut in the middle of the body',
    sms: (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"id":"gw-');
      setTimeout(() => res.socket?.destroy(), 10);
    },
    outcome: { http: 'network_error', twilio: 'network_error' },
    transient: true,
  },
  {
    name: 'accepts and never calls back',
    sms: (res, _req, protocol) => accepted(res, protocol),
    outcome: { http: 'sent', twilio: 'sent' },
    transient: false,
  },
];

/** One loopback server for both protocols: the SMS side does `fault`, the voice side accepts every call. */
async function startFaultyGateway(protocol: Protocol, fault: Fault) {
  const sms: RecordedRequest[] = [];
  const calls: RecordedRequest[] = [];
  const gateway = await startServer((request, res) => {
    const isCall =
      protocol === 'http' ? request.url === '/call' : request.url.endsWith('/Calls.json');
    if (isCall) {
      calls.push(request);
      if (protocol === 'http')
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: `call-${calls.length}` }));
      else
        res
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ sid: `CA${randomBytes(16).toString('hex')}`, status: 'queued' }));
      return;
    }
    sms.push(request);
    fault.sms(res, request, protocol);
  });
  /** `To` or `From` of a request, in either protocol's spelling. */
  const field = (request: RecordedRequest, name: 'To' | 'From'): string =>
    protocol === 'http'
      ? ((JSON.parse(request.body) as { to?: string; from?: string })[
          name === 'To' ? 'to' : 'from'
        ] ?? '')
      : (new URLSearchParams(request.body).get(name) ?? '');
  return {
    ...gateway,
    sms,
    calls,
    /** Codes the gateway was given for a number: every SMS code and every flash call's last 6 digits. */
    codesFor(to: string): string[] {
      const smsCodes = sms
        .filter((r) => field(r, 'To') === to)
        .map((r) => /\b(\d{6})\b/.exec(messageOf(r, protocol))?.[1] ?? '');
      const callCodes = calls
        .filter((r) => field(r, 'To') === to)
        .map((r) => field(r, 'From').slice(-6));
      return [...smsCodes, ...callCodes].filter((c) => /^\d{6}$/.test(c));
    },
    smsTo: (to: string) => sms.filter((r) => field(r, 'To') === to).length,
    callsTo: (to: string) => calls.filter((r) => field(r, 'To') === to).length,
    async shutdown() {
      gateway.server.closeAllConnections();
      await gateway.close();
    },
  };
}

function envFor(protocol: Protocol, url: string): Record<string, string> {
  const common = {
    ...RELAXED_LIMITS,
    FLASHCALL_RANGES: RANGES,
    SMS_HTTP_TIMEOUT_MS: String(TIMEOUT_MS),
    PROVIDER_RETRIES: String(RETRIES),
    PROVIDER_RETRY_BASE_MS: String(RETRY_BASE_MS),
    // Every run meets the fault itself, not an open breaker (resilience.test.ts covers the breaker).
    PROVIDER_BREAKER_THRESHOLD: '100',
    FALLBACK_AFTER_SECONDS: String(FALLBACK_AFTER_SECONDS),
    PUBLIC_BASE_URL: 'https://verify.example.com',
  };
  return protocol === 'http'
    ? {
        ...common,
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: `${url}/sms`,
        SMS_HTTP_SECRET: SECRET,
        VOICE_PROVIDER: 'http',
        VOICE_HTTP_URL: `${url}/call`,
      }
    : {
        ...common,
        SMS_PROVIDER: 'twilio',
        VOICE_PROVIDER: 'twilio',
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
        TWILIO_BASE_URL: url,
        TWILIO_FROM: '+15005550006',
      };
}

/**
 * The longest a start may take under a fault, from the configuration: every attempt waits at most
 * the timeout, every backoff at most 1.5 × its base (±50 % jitter), plus room for the machine.
 */
function latencyBoundMs(t: TestApp, fault: Fault): number {
  const { retries, baseDelayMs } = t.config.resilience;
  const attempts = fault.transient ? retries + 1 : 1;
  const backoff = baseDelayMs * 1.5 * (2 ** (attempts - 1) - 1);
  return t.config.twilio.timeoutMs * attempts + backoff + SLACK_MS;
}

const stats = (samples: number[]): { median: number; max: number } => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: Math.round(sorted[Math.floor(sorted.length / 2)]!),
    max: Math.round(sorted.at(-1)!),
  };
};

interface EventView {
  kind: string;
  reason: string;
  rule: string | null;
  provider: string | null;
  providerError: string | null;
  verificationId: string | null;
}

async function failuresOf(
  t: TestApp,
  verificationId: string,
): Promise<{ events: EventView[]; text: string }> {
  const response = await t.call('GET', `/v1/events?kind=failure&verificationId=${verificationId}`);
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return { events: (JSON.parse(text) as { events: EventView[] }).events, text };
}

const figures: string[] = [];

describe.each(['http', 'twilio'] as const)('provider faults (%s gateway)', (protocol) => {
  let t: TestApp | undefined;
  let gateway: Awaited<ReturnType<typeof startFaultyGateway>> | undefined;
  afterEach(async () => {
    t?.close();
    await gateway?.shutdown();
    t = undefined;
    gateway = undefined;
  });

  it.each(FAULTS.map((fault) => [fault.name, fault] as const))(
    '%s: bounded wait, fallback, failure record, no 500, no code in a response',
    async (_name, fault) => {
      gateway = await startFaultyGateway(protocol, fault);
      t = await createTestApp({ env: envFor(protocol, gateway.url) });
      const app = t;
      const outcome = fault.outcome[protocol];
      const immediate = outcome !== 'sent';
      const runs = fault.hangs ? 4 : 6;
      const bound = latencyBoundMs(app, fault);
      const latencies: number[] = [];
      const started: { id: string; to: string }[] = [];

      for (let i = 0; i < runs; i++) {
        const to = `+336123450${String(i).padStart(2, '0')}`;
        const before = performance.now();
        const response = await app.call('POST', '/v1/verifications', {
          body: { to, channel: 'auto' },
        });
        const text = await response.text();
        latencies.push(performance.now() - before);
        expect(response.status, text).toBe(201);
        const view = JSON.parse(text) as {
          id: string;
          channel: string;
          deliveries: { channel: string; status: string; error: { code: string } | null }[];
          fallback: { state: string; reason: string | null };
        };
        started.push({ id: view.id, to });
        for (const code of gateway.codesFor(to)) expect(text).not.toContain(code);
        expect(gateway.smsTo(to)).toBe(fault.transient ? RETRIES + 1 : 1);
        if (immediate) {
          expect(view.channel).toBe('flashcall');
          expect(view.fallback).toMatchObject({ state: 'done', reason: 'provider_failed' });
          expect(view.deliveries).toEqual([
            expect.objectContaining({
              channel: 'sms',
              status: 'failed',
              error: expect.objectContaining({ code: outcome }),
            }),
            expect.objectContaining({ channel: 'flashcall', status: 'sent', error: null }),
          ]);
          expect(gateway.callsTo(to)).toBe(1);
        } else {
          expect(view.channel).toBe('sms');
          expect(view.fallback).toMatchObject({ state: 'scheduled', reason: null });
          expect(view.deliveries).toEqual([
            expect.objectContaining({ channel: 'sms', status: 'sent', error: null }),
          ]);
          expect(gateway.callsTo(to)).toBe(0);
        }
      }
      expect(Math.max(...latencies)).toBeLessThan(bound);
      if (fault.hangs)
        expect(Math.min(...latencies)).toBeGreaterThanOrEqual(TIMEOUT_MS * (RETRIES + 1) * 0.95);

      if (!immediate) {
        // Nothing came back: the real scheduler places every call once the fake clock passes the due time.
        const scheduler = createFallbackScheduler(app.deps.delivery.flashCalls!, {
          intervalMs: 20,
          logger: createLogger({ level: 'silent' }),
        });
        scheduler.start();
        try {
          app.clock.advance(FALLBACK_AFTER_SECONDS * 1000 - 1);
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(gateway.calls).toHaveLength(0);
          app.clock.advance(1);
          const waitStart = performance.now();
          while (gateway.calls.length < runs && performance.now() - waitStart < 10_000)
            await new Promise((resolve) => setTimeout(resolve, 20));
        } finally {
          await scheduler.stop();
        }
        for (const { to } of started) expect(gateway.callsTo(to)).toBe(1);
      }

      const expectedReason = immediate ? 'delivery_failed' : 'delivery_unconfirmed';
      for (const { id, to } of started) {
        const current = await app.call('GET', `/v1/verifications/${id}`);
        const text = await current.text();
        expect(current.status, text).toBe(200);
        expect(JSON.parse(text)).toMatchObject({
          channel: 'flashcall',
          fallback: { state: 'done', reason: immediate ? 'provider_failed' : 'no_check' },
        });
        const failures = await failuresOf(app, id);
        expect(failures.events).toEqual([
          expect.objectContaining({
            kind: 'failure',
            reason: expectedReason,
            provider: protocol,
            rule: immediate ? null : 'fallback:no_check',
            providerError: expect.stringMatching(
              immediate
                ? new RegExp(`^${outcome}: `)
                : /^no_receipt: accepted( as \S+)?, no delivery receipt and no check within 45 s$/,
            ),
          }),
        ]);
        for (const code of gateway.codesFor(to)) {
          expect(text).not.toContain(code);
          expect(failures.text).not.toContain(code);
        }
      }
      // The reports API counts one failure per verification, under the right reason.
      const report = await app.call('GET', '/v1/reports/failures?groupBy=reason');
      expect(report.status).toBe(200);
      expect(
        ((await report.json()) as { groups: { key: string; count: number }[] }).groups,
      ).toEqual([{ key: expectedReason, count: runs }]);

      const { median, max } = stats(latencies);
      figures.push(
        `${protocol.padEnd(6)} ${fault.name.padEnd(52)} n=${runs} median ${median} ms, max ${max} ms (bound ${Math.round(bound)} ms); ${runs} × ${expectedReason}`,
      );
    },
  );
});

describe('provider fault figures', () => {
  it('prints the caller latency per fault', () => {
    expect(figures.length).toBeGreaterThan(0);
    console.log(
      `\n[provider faults] SMS_HTTP_TIMEOUT_MS=${TIMEOUT_MS}, PROVIDER_RETRIES=${RETRIES}, PROVIDER_RETRY_BASE_MS=${RETRY_BASE_MS}\n  ${figures.join('\n  ')}\n`,
    );
  });
});
