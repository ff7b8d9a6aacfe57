import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

const ADMIN = 'e2e-admin-key-0123456789abcdefghijklmnopq';

function post(base: string, path: string, body: unknown, key = ADMIN): Promise<Response> {
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
  const body = lines.filter((l) => l.verificationId === verificationId).at(-1)?.body ?? '';
  return /(\d{6})/.exec(body)?.[1] ?? '';
}

describe('the real server over HTTP on loopback', () => {
  const servers: ServerProcess[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
  });

  it('start → code from the outbox file → check → token verified against the served JWKS; logs carry no code; SIGTERM exits 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'otp-e2e-'));
    const server = await startServer({
      ADMIN_API_KEY: ADMIN,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
      LOG_PROVIDER_STDOUT: 'false',
    });
    servers.push(server);
    const base = server.url;

    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { database: 'ok' },
    });

    const keyResponse = await post(base, '/v1/admin/api-keys', { app: 'acme', scopes: ['verify'] });
    const { key } = (await keyResponse.json()) as { key: string };
    const started = await post(
      base,
      '/v1/verifications',
      { to: '+33612345678', locale: 'fr', purpose: 'signup' },
      key,
    );
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as { id: string };
    const code = codeFor(join(dataDir, 'outbox.jsonl'), id);
    expect(code).toMatch(/^\d{6}$/);

    const checked = await post(base, `/v1/verifications/${id}/check`, { code }, key);
    expect(checked.status).toBe(200);
    const { token } = (await checked.json()) as { token: string };
    const { payload } = await jwtVerify(
      token,
      createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`)),
      { audience: 'acme', issuer: 'http://localhost:0' },
    );
    expect(payload).toMatchObject({
      sub: '+33612345678',
      jti: id,
      amr: ['sms'],
      purpose: 'signup',
    });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(
      /http_requests_total\{method="POST",route="\/v1\/verifications",status="201"\} 1/,
    );
    expect(metrics).toMatch(/events_recorded_total\{kind="success",reason="approved"\} 1/);

    expect(await server.stop('SIGTERM')).toBe(0);
    const logs = server.output();
    expect(logs).toContain('"msg":"stopped"');
    expect(logs).not.toContain(code);
    expect(logs).not.toContain('+33612345678');
    expect(logs).not.toContain(key.split('.')[1]);
  });

  it('keeps pending verifications and the generated pepper across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'otp-e2e-'));
    const env = {
      ADMIN_API_KEY: ADMIN,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      LOG_PROVIDER_STDOUT: 'false',
    };
    const first = await startServer(env);
    servers.push(first);
    const { id } = (await (
      await post(first.url, '/v1/verifications', { to: '+14155550123' })
    ).json()) as { id: string };
    await first.stop('SIGKILL');

    const second = await startServer(env);
    servers.push(second);
    const checked = await post(second.url, `/v1/verifications/${id}/check`, {
      code: codeFor(join(dataDir, 'outbox.jsonl'), id),
    });
    expect(checked.status).toBe(200);
  });

  it('two server processes on one database: 50 concurrent right-code checks spread over both approve exactly once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'otp-e2e-'));
    const env = {
      ADMIN_API_KEY: ADMIN,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      LOG_PROVIDER_STDOUT: 'false',
    };
    const [a, b] = await Promise.all([startServer(env), startServer(env)]);
    servers.push(a, b);
    const { id } = (await (
      await post(a.url, '/v1/verifications', { to: '+14155550123' })
    ).json()) as { id: string };
    const code = codeFor(join(dataDir, 'outbox.jsonl'), id);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        post((i % 2 ? a : b).url, `/v1/verifications/${id}/check`, { code }),
      ),
    );
    const statuses = responses.map((r) => r.status);
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(
      statuses.filter((s) => s === 200),
      bodies.join('\n'),
    ).toHaveLength(1);
    expect(
      statuses.every((s) => s === 200 || s === 409 || s === 429),
      bodies.join('\n'),
    ).toBe(true);
  });
});
