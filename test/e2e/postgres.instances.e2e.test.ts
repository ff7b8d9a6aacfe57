/**
 * Two real server processes on one PostgreSQL database, as behind a load balancer: a code sent by
 * one instance is checked on the other, a token signed by one verifies against the other's JWKS,
 * rate limits count across both (counters in PostgreSQL when REDIS_URL is unset), and the CLI
 * works on the same database. Both start at once on a database the CLI created.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  POSTGRES_SKIP_REASON,
  type TestDatabase,
} from '../helpers/postgres.js';
import { inheritedEnv, startServer, type ServerProcess } from '../helpers/server-process.js';

const ADMIN = 'e2e-admin-key-0123456789abcdefghijklmnopq';
const SHARED = {
  NODE_ENV: 'development',
  ADMIN_API_KEY: ADMIN,
  OTP_PEPPER: 'e2e-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
  REPORTS_ENCRYPTION_KEY: 'e2e-reports-0123456789abcdefghijklmnopqrstuvwxyz',
  FACTOR_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
  LOG_PROVIDER_STDOUT: 'false',
  LIMIT_NUMBER_STARTS_10M: '2',
};

function post(base: string, path: string, body: unknown, key: string): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function codeFor(outboxPath: string, verificationId: string): string {
  const lines = readFileSync(outboxPath, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { verificationId: string; body: string });
  return (
    /(\d{6})/.exec(
      lines.filter((l) => l.verificationId === verificationId).at(-1)?.body ?? '',
    )?.[1] ?? ''
  );
}

const skip = POSTGRES_SKIP_REASON;

describe.skipIf(skip !== undefined)(
  `two instances on one PostgreSQL database${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let database: TestDatabase;
    const servers: ServerProcess[] = [];
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(async () => {
      await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
      await database?.drop();
    });

    it('share codes, signing keys and rate limits; the CLI works on the same database', async () => {
      const dirs = [
        mkdtempSync(join(tmpdir(), 'otp-pg-a-')),
        mkdtempSync(join(tmpdir(), 'otp-pg-b-')),
      ];
      const cli = (...args: string[]): string =>
        execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
          env: { ...inheritedEnv(), ...SHARED, DATA_DIR: dirs[0]!, DATABASE_URL: database.url },
          encoding: 'utf8',
        });
      expect(JSON.parse(cli('migrate'))).toMatchObject({ dialect: 'postgres' });
      const { key } = JSON.parse(cli('keys', 'create', '--app', 'acme', '--scopes', 'verify')) as {
        key: string;
      };

      const [a, b] = await Promise.all(
        dirs.map((dir) => startServer({ ...SHARED, DATA_DIR: dir, DATABASE_URL: database.url })),
      );
      servers.push(a!, b!);
      for (const server of [a!, b!])
        expect(await (await fetch(`${server.url}/readyz`)).json()).toEqual({
          status: 'ready',
          checks: { database: 'ok' },
        });

      const started = await post(a!.url, '/v1/verifications', { to: '+33612345678' }, key);
      expect(started.status).toBe(201);
      const { id } = (await started.json()) as { id: string };
      const checked = await post(
        b!.url,
        `/v1/verifications/${id}/check`,
        { code: codeFor(join(dirs[0]!, 'outbox.jsonl'), id) },
        key,
      );
      expect(checked.status).toBe(200);
      const { token } = (await checked.json()) as { token: string };
      const { payload } = await jwtVerify(
        token,
        createRemoteJWKSet(new URL(`${a!.url}/.well-known/jwks.json`)),
        { audience: 'acme' },
      );
      expect(payload).toMatchObject({ sub: '+33612345678', jti: id });

      // LIMIT_NUMBER_STARTS_10M=2 holds across instances: the third start, wherever it lands, is refused.
      expect((await post(b!.url, '/v1/verifications', { to: '+33612345679' }, key)).status).toBe(
        201,
      );
      expect((await post(a!.url, '/v1/verifications', { to: '+33612345679' }, key)).status).toBe(
        201,
      );
      const third = await post(b!.url, '/v1/verifications', { to: '+33612345679' }, key);
      expect(third.status).toBe(429);
      expect(((await third.json()) as { reason: string }).reason).toBe('rate_limited');

      expect(await a!.stop('SIGTERM')).toBe(0);
      expect(await b!.stop('SIGTERM')).toBe(0);
      expect(a!.output()).toContain('"msg":"stopped"');
    });
  },
);
