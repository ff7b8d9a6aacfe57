/**
 * Threat: an attacker (or plain load) spreading requests over the instances of a scaled-out
 * deployment to multiply what one instance would allow: a code approved twice, more than five
 * guesses, more sends than the per-number limit, a fallback call placed by every instance, a
 * revoked key still accepted by an instance that cached it (for more than the 1 s SECURITY.md allows).
 *
 * Three real server processes on loopback share one PostgreSQL database and one Redis.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import {
  createTestDatabase,
  POSTGRES_SKIP_REASON,
  type TestDatabase,
} from '../helpers/postgres.js';

const ADMIN = `multi-admin-${randomBytes(16).toString('hex')}`;
const RANGES = '+33187000000-+33187999999';
const skipReason =
  POSTGRES_SKIP_REASON ??
  (process.env.REDIS_URL
    ? undefined
    : 'REDIS_URL is not set: the multi-instance test needs PostgreSQL and Redis');
if (skipReason) console.warn(`multi-instance test skipped: ${skipReason}`);

interface OutboxLine {
  channel: string;
  verificationId: string;
  body?: string;
  from?: string;
}

describe.skipIf(skipReason !== undefined)('three instances on one PostgreSQL and one Redis', () => {
  const servers: ServerProcess[] = [];
  let database: TestDatabase;
  let outbox: string;
  let key: string;
  // A fresh app per run: Redis counters are keyed by app, and the Redis server is shared.
  const app = `multi${randomBytes(4).toString('hex')}`;

  const at = (i: number): string => servers[i % servers.length]!.url;
  const call = (
    base: string,
    method: string,
    path: string,
    body?: unknown,
    auth = key,
  ): Promise<Response> =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const lines = (): OutboxLine[] =>
    readFileSync(outbox, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as OutboxLine);
  const codeFor = (id: string): string =>
    /code is (\d{6})/.exec(
      lines()
        .filter((l) => l.verificationId === id && l.channel === 'sms')
        .at(-1)?.body ?? '',
    )?.[1] ?? '';
  const start = async (to: string, i = 0, extra: Record<string, unknown> = {}): Promise<Response> =>
    call(at(i), 'POST', '/v1/verifications', { to, ...extra });

  beforeAll(async () => {
    database = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'otp-multi-'));
    outbox = join(dir, 'outbox.jsonl');
    const env = {
      ADMIN_API_KEY: ADMIN,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.REDIS_URL!,
      LIMITS_INSTANCES: '3',
      OTP_PEPPER: randomBytes(32).toString('base64'),
      REPORTS_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      FACTOR_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      OUTBOX_PATH: outbox,
      LOG_PROVIDER_STDOUT: 'false',
      FLASHCALL_RANGES: RANGES,
      FALLBACK_AFTER_SECONDS: '2',
      FALLBACK_POLL_MS: '100',
      // Generous except for the one limit under test, so the other proofs are not cut short.
      LIMIT_NUMBER_STARTS_10M: '5',
      LIMIT_NUMBER_STARTS_DAY: '1000',
      LIMIT_IP_STARTS_10M: '100000',
      LIMIT_SUBNET_STARTS_10M: '100000',
      LIMIT_COUNTRY_STARTS_HOUR: '100000',
      LIMIT_NUMBER_CHECKS_DAY: '100000',
      LIMIT_IP_CHECKS_HOUR: '100000',
      ABUSE_PREFIX_STARTS_10M: '100000',
      ABUSE_IP_FANOUT_HOUR: '100000',
      ABUSE_SEQUENTIAL_HOUR: '100000',
      DATA_DIR: dir,
    };
    // All three start at once: the migrations run under an advisory lock, once.
    servers.push(...(await Promise.all([startServer(env), startServer(env), startServer(env)])));
    const created = await call(
      at(0),
      'POST',
      '/v1/admin/api-keys',
      { app, scopes: ['verify'] },
      ADMIN,
    );
    expect(created.status).toBe(201);
    key = ((await created.json()) as { key: string }).key;
  });

  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop('SIGTERM')));
    await database?.drop();
  });

  it('every instance is ready and publishes the same signing keys', async () => {
    const jwks = await Promise.all(
      servers.map(async (s) => (await fetch(`${s.url}/.well-known/jwks.json`)).text()),
    );
    for (const s of servers) expect((await fetch(`${s.url}/readyz`)).status).toBe(200);
    expect(new Set(jwks).size).toBe(1);
  });

  it('30 concurrent right-code checks spread over the instances approve exactly once', async () => {
    const started = await start('+33612340001');
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as { id: string };
    const code = codeFor(id);
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call(at(i), 'POST', `/v1/verifications/${id}/check`, { code }),
      ),
    );
    const bodies = await Promise.all(responses.map((r) => r.text()));
    const approved = bodies.filter((b, i) => responses[i]!.status === 200 && b.includes('"token"'));
    expect(approved, bodies.join('\n')).toHaveLength(1);
    expect(
      responses.every((r) => r.status === 200 || r.status === 409 || r.status === 429),
      bodies.join('\n'),
    ).toBe(true);
    // Whichever instance signed it, the token verifies against every instance's published keys.
    const { token } = JSON.parse(approved[0]!) as { token: string };
    for (const s of servers) {
      const { payload } = await jwtVerify(
        token,
        createLocalJWKSet(
          (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet,
        ),
        { audience: app },
      );
      expect(payload.jti).toBe(id);
    }
  });

  it('the five-guess budget is global: 20 concurrent wrong codes over three instances, five are judged', async () => {
    const { id } = (await (await start('+33612340002', 1)).json()) as { id: string };
    const right = codeFor(id);
    const wrong = right === '000000' ? '111111' : '000000';
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(at(i), 'POST', `/v1/verifications/${id}/check`, { code: wrong }),
      ),
    );
    const reasons = await Promise.all(
      responses.map(async (r) => ((await r.json()) as { reason?: string }).reason),
    );
    // Exactly five guesses are judged (422); every other request finds the budget spent (429).
    expect(
      reasons.filter((r) => r === 'incorrect_code'),
      reasons.join(','),
    ).toHaveLength(5);
    expect(
      reasons.filter((r) => r === 'max_attempts_exceeded'),
      reasons.join(','),
    ).toHaveLength(15);
    // The right code no longer opens it, on any instance.
    for (let i = 0; i < 3; i++)
      expect(
        (await call(at(i), 'POST', `/v1/verifications/${id}/check`, { code: right })).status,
      ).not.toBe(200);
  });

  it('the per-number limit is global: 15 starts to one number over three instances, 5 are sent', async () => {
    const responses = await Promise.all(
      Array.from({ length: 15 }, (_, i) => start('+33612340003', i)),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    const limited = responses.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a timed fallback is placed exactly once although all three schedulers poll for it', async () => {
    const { id } = (await (await start('+33612340004', 2, { channel: 'auto' })).json()) as {
      id: string;
    };
    const deadline = Date.now() + 20_000;
    while (
      Date.now() < deadline &&
      !lines().some((l) => l.verificationId === id && l.channel === 'flashcall')
    )
      await new Promise((r) => setTimeout(r, 100));
    // Several more poll rounds of every instance, then count.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(
      lines().filter((l) => l.verificationId === id && l.channel === 'flashcall'),
    ).toHaveLength(1);
  });

  it('a signing key rotated on one instance signs there at once and on every other instance within 1 s', async () => {
    const approveOn = async (i: number, to: string): Promise<string | undefined> => {
      const { id } = (await (await start(to, i)).json()) as { id: string };
      const checked = await call(at(i), 'POST', `/v1/verifications/${id}/check`, {
        code: codeFor(id),
      });
      expect(checked.status).toBe(200);
      return decodeProtectedHeader(((await checked.json()) as { token: string }).token).kid;
    };
    const oldKid = await approveOn(1, '+33612340010');
    const rotated = await call(at(0), 'POST', '/v1/admin/signing-keys/rotate', undefined, ADMIN);
    expect(rotated.status).toBe(200);
    const { kid: newKid } = (await rotated.json()) as { kid: string };
    expect(newKid).not.toBe(oldKid);
    expect(await approveOn(0, '+33612340011')).toBe(newKid);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await approveOn(1, '+33612340012')).toBe(newKid);
    expect(await approveOn(2, '+33612340013')).toBe(newKid);
    for (const s of servers) {
      const kids = (
        (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet
      ).keys.map((k) => k.kid);
      expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    }
  });

  /**
   * Every instance caches apps, keys, limits and the blocklist (storage/cache/caches.ts); a change
   * on one reaches the others through the otp_cache notification, or the poll of cache_version
   * when a notification is missed: SECURITY.md promises within 1 s. Polls `attempt` on instance i
   * until `done` holds, and returns how long that took (ms since `since`).
   */
  async function within1s(
    since: number,
    attempt: () => Promise<Response>,
    done: (response: Response) => Promise<boolean>,
  ): Promise<number> {
    for (;;) {
      const response = await attempt();
      if (await done(response)) return performance.now() - since;
      if (performance.now() - since > 1500) throw new Error('still stale after 1.5 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('a number blocked through one instance is refused by the others within 1 s', async () => {
    // Warm every instance's blocklist cache first: the change must reach a cache that is held.
    for (let i = 0; i < 3; i++) expect((await start('+33612340015', i)).status).toBe(201);
    const blocked = await call(
      at(0),
      'POST',
      '/v1/blocklist',
      { kind: 'number', action: 'block', value: '+33612340005', reason: 'multi-instance test' },
      ADMIN,
    );
    const since = performance.now();
    expect(blocked.status).toBe(201);
    for (let i = 1; i < 3; i++) {
      const took = await within1s(
        since,
        () => start('+33612340005', i),
        async (refused) =>
          refused.status === 403 &&
          ((await refused.json()) as { reason: string }).reason === 'blocked',
      );
      console.log(
        `multi-instance: blocklist entry in effect on instance ${i} after ${took.toFixed(0)} ms`,
      );
      expect(took).toBeLessThanOrEqual(1000);
    }
  });

  it('a key revoked on one instance is refused by every instance within 1 s', async () => {
    const created = await call(
      at(0),
      'POST',
      '/v1/admin/api-keys',
      { app, scopes: ['verify'] },
      ADMIN,
    );
    const { id: keyId, key: doomed } = (await created.json()) as { id: string; key: string };
    for (let i = 0; i < 3; i++)
      expect(
        (await call(at(i), 'GET', '/v1/verifications/ver_none', undefined, doomed)).status,
      ).toBe(404);
    expect(
      (await call(at(1), 'DELETE', `/v1/admin/api-keys/${keyId}`, undefined, ADMIN)).status,
    ).toBeLessThan(300);
    const since = performance.now();
    for (let i = 0; i < 3; i++) {
      const took = await within1s(
        since,
        () => call(at(i), 'GET', '/v1/verifications/ver_none', undefined, doomed),
        (refused) => Promise.resolve(refused.status === 401),
      );
      console.log(
        `multi-instance: revocation in effect on instance ${i} after ${took.toFixed(0)} ms`,
      );
      expect(took).toBeLessThanOrEqual(1000);
    }
  });
});
