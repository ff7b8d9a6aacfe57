/**
 * Exploitable without this: logs are shipped to places with wider access than the database (a log
 * SaaS, a support engineer's terminal). A code in a log line lets whoever reads it pass a
 * verification; the pepper lets them brute-force every stored code hash offline; an API key lets them
 * act as the app; a full phone number is personal data. A full run of the real server at
 * LOG_LEVEL=trace, through a gateway that fails with the message echoed in its error and one that
 * answers garbage, must write none of them anywhere on stdout or stderr.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { ADMIN_KEY, PEPPER, RELAXED_LIMITS } from '../helpers/test-app.js';
import { startGateway, type FakeGateway } from './gateway.js';

const NUMBERS = ['+33612345678', '+14155550123', '+447911123456'];

describe('no secret in any log line (real server, LOG_LEVEL=trace)', { timeout: 90_000 }, () => {
  let gateway: FakeGateway;
  let server: ServerProcess;
  beforeAll(async () => {
    gateway = await startGateway();
    server = await startServer({
      ...RELAXED_LIMITS,
      ADMIN_API_KEY: ADMIN_KEY,
      OTP_PEPPER: PEPPER,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-logs-')),
      LOG_LEVEL: 'trace',
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: gateway.url,
      SMS_HTTP_SECRET: 'gateway-secret-0123456789',
      PROVIDER_RETRIES: '1',
      PROVIDER_RETRY_BASE_MS: '10',
      RESEND_COOLDOWN_SECONDS: '0',
    });
  });
  afterAll(async () => {
    await server.stop('SIGKILL');
    await gateway.close();
  });

  const post = (path: string, body: unknown, key = ADMIN_KEY): Promise<Response> =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('codes, the pepper, API keys and full numbers never reach the logs', async () => {
    const created = (await (
      await post('/v1/admin/api-keys', { app: 'acme', scopes: ['verify'] })
    ).json()) as { key: string };
    const key = created.key;
    const presentedWrongKey = `${key.split('.')[0]!}.${'Z'.repeat(43)}`;

    const ids: string[] = [];
    for (const to of NUMBERS) {
      const started = await post('/v1/verifications', { to, purpose: 'login' }, key);
      expect(started.status).toBe(201);
      ids.push(((await started.json()) as { id: string }).id);
    }
    expect((await post(`/v1/verifications/${ids[0]}/check`, { code: '000000' }, key)).status).toBe(
      422,
    );
    expect((await post(`/v1/verifications/${ids[0]}/resend`, {}, key)).status).toBe(200);
    const codeOf = (id: string): string =>
      /\b(\d{6})\b/.exec(
        gateway.messages.filter((m) => m.verificationId === id).at(-1)?.body ?? '',
      )?.[1] ?? '';
    expect(
      (await post(`/v1/verifications/${ids[0]}/check`, { code: codeOf(ids[0]!) }, key)).status,
    ).toBe(200);
    expect(
      (await post('/v1/verifications/check', { to: NUMBERS[1], code: codeOf(ids[1]!) }, key))
        .status,
    ).toBe(200);
    expect((await post('/v1/verifications', { to: NUMBERS[2] }, presentedWrongKey)).status).toBe(
      401,
    );
    expect((await post('/v1/verifications', { to: 'not a number 0612345678' }, key)).status).toBe(
      400,
    );

    // Provider faults: an error text that echoes the message, then a garbage answer.
    gateway.mode = 'fail-echoing';
    const failed = await post('/v1/verifications', { to: NUMBERS[2] }, key);
    expect(failed.status).toBeLessThan(500);
    const failedText = await failed.text();
    gateway.mode = 'garbage';
    expect((await post('/v1/verifications', { to: NUMBERS[0] }, key)).status).toBeLessThan(500);
    gateway.mode = 'ok';

    expect(await server.stop('SIGTERM')).toBe(0);
    const logs = server.output();
    const codes = gateway.messages
      .map((m) => /\b(\d{6})\b/.exec(m.body)?.[1])
      .filter((c): c is string => c !== undefined);
    expect(codes.length).toBeGreaterThanOrEqual(6);
    const lines = logs.split('\n').filter(Boolean);
    console.log(
      `[logs] ${lines.length} lines at trace level, ${Buffer.byteLength(logs)} bytes; searched for ${codes.length} codes, the pepper, 2 API keys (+1 wrong one), ${NUMBERS.length} numbers in 3 spellings`,
    );
    expect(lines.length).toBeGreaterThan(10);

    const forbidden: [string, string][] = [
      ...codes.map((c): [string, string] => [`code ${c}`, c]),
      ['pepper', PEPPER],
      ['admin key', ADMIN_KEY],
      ['api key secret', key.split('.')[1]!],
      ['presented wrong key', presentedWrongKey.split('.')[1]!],
      ...NUMBERS.flatMap((n): [string, string][] => [
        [`number ${n}`, n],
        [`number ${n} without +`, n.slice(1)],
        [`national digits of ${n}`, n.slice(-9)],
      ]),
    ];
    for (const [name, value] of forbidden) {
      const line = lines.find((l) => l.includes(value));
      expect(line, `${name} appears in: ${line?.slice(0, 300)}`).toBeUndefined();
    }
    // The caller's answer to the failed send does not carry the code the gateway echoed either.
    for (const code of codes) expect(failedText).not.toContain(code);
  });
});
