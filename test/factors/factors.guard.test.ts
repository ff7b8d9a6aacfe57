import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createDeps } from '../../src/deps.js';
import type { FactorAttempt, FactorGuard, FactorOutcome } from '../../src/factors/factors.guard.js';
import { DomainError } from '../../src/platform/errors.js';
import { createLogger } from '../../src/platform/logger.js';
import { openSqlite, type SqliteHandle } from '../../src/storage/sqlite/db.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import { appCode, STEP_MS } from '../helpers/factors.js';
import { ADMIN_KEY, PEPPER } from '../helpers/test-app.js';
import { resolveSecrets } from '../../src/wiring/secrets.js';

/** The per-user / per-IP seam the rate limiters plug into: what it is told and what its refusals do. */
describe('factor guard seam', () => {
  let database: SqliteHandle;
  let app: App;
  const clock = createFakeClock();
  const seen: { kind: string; user: string; ip: string | undefined; outcome?: FactorOutcome }[] =
    [];
  let refuse = false;

  beforeEach(async () => {
    seen.length = 0;
    refuse = false;
    const guard: FactorGuard = {
      beforeAttempt(attempt: FactorAttempt) {
        seen.push({ kind: attempt.kind, user: attempt.user, ip: attempt.ip });
        if (refuse)
          return Promise.reject(
            new DomainError('max_attempts_exceeded', {
              retryAfterSeconds: 60,
              rule: 'limit:user:15m',
              figures: { count: 10, limit: 10 },
            }),
          );
        return Promise.resolve();
      },
      afterAttempt(attempt, outcome) {
        seen.push({ kind: attempt.kind, user: attempt.user, ip: attempt.ip, outcome });
        return Promise.resolve();
      },
    };
    database = openSqlite(':memory:');
    const config = loadConfig({
      NODE_ENV: 'test',
      OTP_PEPPER: PEPPER,
      ADMIN_API_KEY: ADMIN_KEY,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-guard-')),
      LOG_PROVIDER_STDOUT: 'false',
    });
    app = createApp(
      await createDeps({
        config,
        database,
        clock,
        logger: createLogger({ level: 'silent' }),
        secrets: resolveSecrets(config),
        factorGuard: guard,
      }),
    );
  });
  afterEach(() => database.close());

  const call = (method: string, path: string, body?: unknown) =>
    app.request(
      path,
      {
        method,
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      { incoming: { socket: { remoteAddress: '198.51.100.7' } } },
    );

  it('is asked before every counted attempt with the user and the end-user IP, and told each outcome', async () => {
    const factor = (await (
      await call('POST', '/v1/factors', { user: 'u9', type: 'totp' })
    ).json()) as { id: string; secret: string };
    expect(
      (
        await call('POST', `/v1/factors/${factor.id}/verify`, {
          code: await appCode(factor.secret, clock.now()),
        })
      ).status,
    ).toBe(200);
    clock.advance(STEP_MS);
    await call('POST', `/v1/factors/${factor.id}/challenge`, {
      code: '000000',
      signals: { ip: '203.0.113.50' },
    });
    expect(seen).toEqual([
      { kind: 'verify', user: 'u9', ip: '198.51.100.7' },
      { kind: 'verify', user: 'u9', ip: '198.51.100.7', outcome: 'approved' },
      { kind: 'challenge', user: 'u9', ip: '203.0.113.50' },
      { kind: 'challenge', user: 'u9', ip: '203.0.113.50', outcome: 'incorrect' },
    ]);
  });

  it('turns a refusal into its problem with Retry-After, records rule and figures, and consumes no factor attempt', async () => {
    const factor = (await (
      await call('POST', '/v1/factors', { user: 'u9', type: 'totp' })
    ).json()) as { id: string; secret: string };
    refuse = true;
    const response = await call('POST', `/v1/factors/${factor.id}/verify`, {
      code: await appCode(factor.secret, clock.now()),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('60');
    const event = database.raw
      .prepare("SELECT rule, details FROM events WHERE kind = 'failure'")
      .get() as { rule: string; details: string };
    expect(event.rule).toBe('limit:user:15m');
    expect(JSON.parse(event.details)).toMatchObject({
      count: 10,
      limit: 10,
      factorId: factor.id,
      user: 'u9',
    });
    expect(
      (database.raw.prepare('SELECT attempts FROM factors').get() as { attempts: number }).attempts,
    ).toBe(0);
  });
});
