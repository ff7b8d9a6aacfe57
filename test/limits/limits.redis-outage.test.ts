/**
 * Exploitable without this: an attacker who can disturb Redis (flood it, partition it, wait for a
 * failover) must get neither an outage nor a free pass. While Redis is down, each instance limits
 * on its own with rate-limiter-flexible's insurance, and LIMITS_INSTANCES divides every budget so
 * all instances together still stay within it; holds and lock-outs live in the database (a Redis
 * outage must not lift them), so does the blocklist, and the per-verification attempt budget is a
 * guarded UPDATE in the database, so no wrong code is ever approved. The outage is counted in
 * /metrics, shown in /readyz (still ready: the insurance answers) and logged once, not once per
 * request; when Redis is back the counters go back to it without a restart.
 *
 * Each test runs its own redis-server (never the shared one: it is killed and frozen here).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { api, startServerProcess, type ServerProcess } from '../delivery/process.js';
import {
  freePort,
  redisServerUnavailable,
  startRedis,
  type RedisProcess,
} from '../helpers/redis-server.js';
import { createTestApp, RELAXED_LIMITS, type TestApp } from '../helpers/test-app.js';

const unavailable = redisServerUnavailable();
if (unavailable) console.warn(`limits.redis-outage.test.ts: skipped, ${unavailable}`);

/** Starts per number per 10 minutes: 3 per instance while Redis is down (LIMITS_INSTANCES=2). */
const NUMBER_BUDGET = 6;
const ENV = {
  ...RELAXED_LIMITS,
  LIMIT_NUMBER_STARTS_10M: String(NUMBER_BUDGET),
  LIMITS_INSTANCES: '2',
  LOG_LEVEL: 'info',
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
  retryAfter: string | null;
}

async function call(
  server: ServerProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  const response = await api(server.url, method, path, body);
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    retryAfter: response.headers.get('retry-after'),
  };
}

const start = (server: ServerProcess, to: string) =>
  call(server, 'POST', '/v1/verifications', { to });
const check = (server: ServerProcess, id: string, code: string) =>
  call(server, 'POST', `/v1/verifications/${id}/check`, { code });

/** The newest SMS code of a verification, from the log provider's outbox both instances append to. */
function codeOf(dir: string, id: string): string {
  const path = join(dir, 'outbox.jsonl');
  const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
  const body = lines
    .map((line) => JSON.parse(line) as { verificationId: string; body?: string })
    .filter((line) => line.verificationId === id)
    .at(-1)?.body;
  const code = /\b(\d{6})\b/.exec(body ?? '')?.[1];
  if (!code) throw new Error(`no code in the outbox for ${id}`);
  return code;
}

function metric(text: string, pattern: RegExp): number {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : 0;
}

async function metricsOf(server: ServerProcess): Promise<{ fallbacks: number; available: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return {
    fallbacks: metric(text, /^rate_limiter_fallbacks_total\{operation="consume"\} (\d+)/m),
    available: metric(text, /^rate_limiter_redis_available (\d+)/m),
  };
}

async function readiness(
  server: ServerProcess,
): Promise<{ status: number; body: { status?: string; checks?: Record<string, string> } }> {
  const response = await fetch(`${server.url}/readyz`);
  return {
    status: response.status,
    body: (await response.json()) as { status?: string; checks?: Record<string, string> },
  };
}

/** Log lines (pino JSON) whose message starts with `prefix`. */
function logLines(server: ServerProcess, prefix: string): Record<string, unknown>[] {
  return server
    .logs()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => typeof line.msg === 'string' && line.msg.startsWith(prefix));
}

async function waitForRedis(
  servers: ServerProcess[],
  state: 'ok' | 'unavailable',
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const answers = await Promise.all(servers.map((s) => readiness(s)));
    if (answers.every((a) => a.body.checks?.redis === state)) return performance.now() - started;
    if (performance.now() - started > 20_000)
      throw new Error(`redis not ${state} in /readyz after 20 s: ${JSON.stringify(answers)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const number = (n: number) => `+3361234${String(n).padStart(4, '0')}`;

describe.skipIf(unavailable !== undefined)(
  'Redis outage (a private redis-server, two real server processes)',
  { timeout: 180_000 },
  () => {
    const servers: ServerProcess[] = [];
    let redis: RedisProcess | undefined;
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
      await redis?.stop();
      redis = undefined;
    });

    it('SIGKILL mid-run: no 500, no wrong code approved, holds and blocklist kept, budgets divided, logged once; recovers when Redis is back', async () => {
      redis = await startRedis();
      const dir = mkdtempSync(join(tmpdir(), 'otp-redis-outage-'));
      // Each is tracked as soon as it listens, so one failing to start never leaves the other running.
      const url = redis.url;
      const launch = () =>
        startServerProcess(dir, { ...ENV, REDIS_URL: url }).then(
          (server) => (servers.push(server), server),
        );
      const [one, two] = await Promise.all([launch(), launch()]);
      const all: Answer[] = [];
      const track = async (answer: Promise<Answer>): Promise<Answer> => {
        const settled = await answer;
        all.push(settled);
        return settled;
      };

      // Redis up: one budget shared through Redis, a number locked out twice (held), a verification to brute-force later.
      expect((await readiness(one)).body).toEqual({
        status: 'ready',
        checks: { database: 'ok', redis: 'ok' },
      });
      const first = await track(start(one, number(1)));
      expect(first.status).toBe(201);
      expect(
        (await track(check(two, String(first.body.id), codeOf(dir, String(first.body.id))))).status,
      ).toBe(200);
      const held = number(5);
      for (let lockout = 0; lockout < 2; lockout++) {
        const v = await track(start(lockout === 0 ? one : two, held));
        expect(v.status).toBe(201);
        for (let i = 0; i < 5; i++)
          expect((await track(check(one, String(v.body.id), '000000'))).status).toBe(422);
      }
      const heldBefore = await track(start(two, held));
      expect(heldBefore).toMatchObject({
        status: 429,
        body: { reason: 'rate_limited', limit: 'number:hold' },
      });
      const target = await track(start(one, number(6)));
      expect(target.status).toBe(201);
      const targetId = String(target.body.id);
      const targetCode = codeOf(dir, targetId);
      expect((await metricsOf(one)).fallbacks).toBe(0);

      await redis.kill();

      // A storm of starts to one number on both instances: each lets 3 through (6 / LIMITS_INSTANCES).
      const storm = await Promise.all(
        Array.from({ length: 24 }, (_, i) => track(start(i % 2 === 0 ? one : two, number(3)))),
      );
      const okOne = storm.filter((s, i) => i % 2 === 0 && s.status === 201).length;
      const okTwo = storm.filter((s, i) => i % 2 === 1 && s.status === 201).length;
      expect([okOne, okTwo]).toEqual([NUMBER_BUDGET / 2, NUMBER_BUDGET / 2]);
      for (const refused of storm.filter((s) => s.status !== 201)) {
        expect(refused).toMatchObject({
          status: 429,
          body: { reason: 'rate_limited', limit: 'number:10m' },
        });
        expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      }

      // Brute force during the outage: the attempt budget is in the database, 5 for the whole verification.
      const guesses = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          track(
            check(
              i % 2 === 0 ? one : two,
              targetId,
              String((Number(targetCode) + 1 + i) % 1_000_000).padStart(6, '0'),
            ),
          ),
        ),
      );
      expect(guesses.filter((g) => g.status === 422)).toHaveLength(5);
      expect(
        guesses
          .filter((g) => g.status === 429)
          .every((g) => g.body.reason === 'max_attempts_exceeded'),
      ).toBe(true);
      expect(guesses.some((g) => g.status === 200)).toBe(false);
      expect(await track(check(two, targetId, targetCode))).toMatchObject({
        status: 429,
        body: { reason: 'max_attempts_exceeded' },
      });

      // Hold and blocklist: both in the database, both still refuse on both instances.
      for (const server of [one, two])
        expect(await track(start(server, held))).toMatchObject({
          status: 429,
          body: { reason: 'rate_limited', limit: 'number:hold' },
        });
      expect(
        (
          await track(
            call(one, 'POST', '/v1/blocklist', {
              kind: 'number',
              value: number(4),
              reason: 'outage test',
            }),
          )
        ).status,
      ).toBe(201);
      for (const server of [one, two])
        expect(await track(start(server, number(4)))).toMatchObject({
          status: 403,
          body: { reason: 'blocked' },
        });

      // The service still works: a right code during the outage approves.
      const during = await track(start(two, number(7)));
      expect(during.status).toBe(201);
      expect(
        (await track(check(one, String(during.body.id), codeOf(dir, String(during.body.id)))))
          .status,
      ).toBe(200);

      for (const server of [one, two]) {
        expect(await readiness(server)).toEqual({
          status: 200,
          body: { status: 'ready', checks: { database: 'ok', redis: 'unavailable' } },
        });
        const m = await metricsOf(server);
        expect(m.fallbacks).toBeGreaterThan(20);
        expect(m.available).toBe(0);
        expect(logLines(server, 'Redis unavailable')).toHaveLength(1);
      }
      const fallbacksDuringOutage =
        (await metricsOf(one)).fallbacks + (await metricsOf(two)).fallbacks;

      // Redis back on the same port, empty: both instances reconnect on their own.
      await redis.restart();
      const recoveredInMs = await waitForRedis([one, two], 'ok');
      const fallbacksAfter = [(await metricsOf(one)).fallbacks, (await metricsOf(two)).fallbacks];
      // One budget again, counted in Redis: 4 starts on one instance pass (a divided budget would stop the 4th).
      const after = number(8);
      for (let i = 0; i < 4; i++) expect((await track(start(one, after))).status).toBe(201);
      for (let i = 0; i < 2; i++) expect((await track(start(two, after))).status).toBe(201);
      expect(await track(start(two, after))).toMatchObject({
        status: 429,
        body: { limit: 'number:10m' },
      });
      const client = new Redis(redis.url);
      try {
        expect(await client.get(`otp:rate:number:10m:default:${after}`)).toBe('7');
      } finally {
        client.disconnect();
      }
      for (const [i, server] of [one, two].entries()) {
        const m = await metricsOf(server);
        expect(m.fallbacks).toBe(fallbacksAfter[i]);
        expect(m.available).toBe(1);
        expect(logLines(server, 'Redis unavailable')).toHaveLength(1);
        expect(logLines(server, 'Redis available again')).toHaveLength(1);
      }

      expect(all.filter((answer) => answer.status >= 500)).toEqual([]);
      console.log(
        `\n[redis outage] ${all.length} requests, 0 answered 5xx; storm of 24 starts to one number: ${okOne} + ${okTwo} accepted (budget ${NUMBER_BUDGET}, LIMITS_INSTANCES=2), ` +
          `${storm.length - okOne - okTwo} refused 429; 12 wrong guesses: 5 × 422, 7 × 429, 0 approved; ${fallbacksDuringOutage} operations answered by the insurance, ` +
          `1 warning per instance; back in Redis ${Math.round(recoveredInMs)} ms after the restart\n`,
      );
    });

    it('Redis unreachable at start: the service starts, ready with redis "unavailable", limits divided; picks Redis up when it appears', async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'otp-redis-late-'));
      const server = await startServerProcess(dir, {
        ...ENV,
        LIMIT_NUMBER_STARTS_10M: '4',
        REDIS_URL: `redis://127.0.0.1:${port}`,
      });
      servers.push(server);
      expect(await readiness(server)).toEqual({
        status: 200,
        body: { status: 'ready', checks: { database: 'ok', redis: 'unavailable' } },
      });
      expect(logLines(server, 'Redis unavailable')).toHaveLength(1);
      const to = number(20);
      expect((await start(server, to)).status).toBe(201);
      expect((await start(server, to)).status).toBe(201);
      expect(await start(server, to)).toMatchObject({
        status: 429,
        body: { reason: 'rate_limited', limit: 'number:10m' },
      });
      expect((await metricsOf(server)).available).toBe(0);
      expect(logLines(server, 'Redis unavailable')).toHaveLength(1);

      redis = await startRedis({ port });
      const tookMs = await waitForRedis([server], 'ok');
      expect(logLines(server, 'Redis available again')).toHaveLength(1);
      const later = number(21);
      expect((await start(server, later)).status).toBe(201);
      const client = new Redis(redis.url);
      try {
        expect(await client.get(`otp:rate:number:10m:default:${later}`)).toBe('1');
      } finally {
        client.disconnect();
      }
      console.log(
        `\n[redis at start] unreachable at start: ready, 2 of 4 starts per instance (LIMITS_INSTANCES=2); counted in Redis ${Math.round(tookMs)} ms after it started\n`,
      );
    });
  },
);

describe.skipIf(unavailable !== undefined)(
  'Redis that stops answering (SIGSTOP, in-process)',
  { timeout: 60_000 },
  () => {
    let t: TestApp | undefined;
    let redis: RedisProcess | undefined;
    afterEach(async () => {
      t?.close();
      await redis?.stop();
    });

    it('a frozen Redis costs one command timeout, not one per request; counters go back to Redis when it resumes', async () => {
      redis = await startRedis();
      t = await createTestApp({
        env: { ...RELAXED_LIMITS, REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' },
      });
      const app = t;
      expect(
        (await app.call('POST', '/v1/verifications', { body: { to: number(30) } })).status,
      ).toBe(201);
      redis.signal('SIGSTOP');
      const latencies: number[] = [];
      for (let i = 0; i < 10; i++) {
        const before = performance.now();
        const response = await app.call('POST', '/v1/verifications', {
          body: { to: number(31 + i) },
        });
        latencies.push(performance.now() - before);
        expect(response.status, await response.text()).toBe(201);
      }
      const sorted = [...latencies].sort((x, y) => x - y);
      // The first request waits out one command timeout (200 ms); the rest are answered by the insurance at once.
      expect(sorted.at(-1)!).toBeLessThan(200 + 1500);
      expect(sorted[Math.floor(sorted.length / 2)]!).toBeLessThan(150);
      expect(await app.deps.ready()).toEqual({ database: 'ok', redis: 'unavailable' });

      redis.signal('SIGCONT');
      const resumed = performance.now();
      while ((await app.deps.ready()).redis !== 'ok') {
        if (performance.now() - resumed > 20_000) throw new Error('Redis not back within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(
        (await app.call('POST', '/v1/verifications', { body: { to: number(45) } })).status,
      ).toBe(201);
      const client = new Redis(redis.url);
      try {
        expect(await client.get(`otp:rate:number:10m:default:${number(45)}`)).toBe('1');
      } finally {
        client.disconnect();
      }
      console.log(
        `\n[redis frozen] REDIS_COMMAND_TIMEOUT_MS=200: 10 starts while frozen, median ${Math.round(sorted[5]!)} ms, max ${Math.round(sorted.at(-1)!)} ms; back in Redis ${Math.round(performance.now() - resumed)} ms after SIGCONT\n`,
      );
    });
  },
);
