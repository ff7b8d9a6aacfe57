/**
 * Threat: calling the API without a key, with a guessed or revoked key, or with a key whose
 * scopes do not cover the operation (a verify-only key creating keys for itself).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createTestApp,
  expectProblem,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
import { inheritedEnv } from '../helpers/server-process.js';

describe('API keys and scopes', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('401 for a missing, malformed, unknown or non-Bearer key, each recorded', async () => {
    await expectProblem(
      await t.call('GET', '/v1/admin/api-keys', { key: null }),
      401,
      'unauthorized',
    );
    await expectProblem(
      await t.call('GET', '/v1/admin/api-keys', { key: 'nope' }),
      401,
      'unauthorized',
    );
    await expectProblem(
      await t.call('GET', '/v1/admin/api-keys', { key: `key_${'0'.repeat(26)}.${'A'.repeat(43)}` }),
      401,
      'unauthorized',
    );
    const basic = await t.call('GET', '/v1/admin/api-keys', {
      key: null,
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    await expectProblem(basic, 401, 'unauthorized');
    expect(basic.headers.get('www-authenticate')).toBe('Bearer');
    const rows = t.database.raw
      .prepare("SELECT count(*) AS n FROM events WHERE reason = 'unauthorized'")
      .get();
    expect(rows).toEqual({ n: 4 });
  });

  it('creates a key shown once, stores only its hash, lists it without the secret, and revokes it at once', async () => {
    const response = await t.call('POST', '/v1/admin/api-keys', {
      body: { app: 'acme', scopes: ['verify'] },
    });
    expect(response.status).toBe(201);
    const created = (await response.json()) as {
      id: string;
      key: string;
      app: string;
      scopes: string[];
    };
    expect(created).toMatchObject({ app: 'acme', scopes: ['verify'] });
    const secret = created.key.split('.')[1]!;
    const stored = t.database.raw
      .prepare('SELECT * FROM api_keys WHERE id = ?')
      .get(created.id) as Record<string, unknown>;
    expect(JSON.stringify(stored)).not.toContain(secret);

    const list = await (await t.call('GET', '/v1/admin/api-keys')).text();
    expect(list).toContain(created.id);
    expect(list).not.toContain(secret);

    await startVerification(t, { to: '+14155550123' }, created.key);
    expect((await t.call('DELETE', `/v1/admin/api-keys/${created.id}`)).status).toBe(204);
    await expectProblem(
      await t.call('POST', '/v1/verifications', { body: { to: '+14155550123' }, key: created.key }),
      401,
      'unauthorized',
    );
    await expectProblem(
      await t.call('DELETE', `/v1/admin/api-keys/${created.id}`),
      404,
      'not_found',
    );
  });

  it('403 forbidden when the key lacks the scope', async () => {
    const verifyOnly = await t.createKey('acme', ['verify']);
    const body = await expectProblem(
      await t.call('POST', '/v1/admin/api-keys', {
        body: { app: 'acme', scopes: ['admin'] },
        key: verifyOnly,
      }),
      403,
      'forbidden',
    );
    expect(body.requiredScope).toBe('admin');
    const reportsOnly = await t.createKey('acme', ['reports']);
    await expectProblem(
      await t.call('POST', '/v1/verifications', { body: { to: '+14155550123' }, key: reportsOnly }),
      403,
      'forbidden',
    );
  });

  it('the app of the key is the brand in messages and the token audience', async () => {
    const key = await t.createKey('acme', ['verify']);
    const v = await startVerification(t, { to: '+14155550123' }, key);
    expect(t.outbox().at(-1)!.body).toMatch(/^acme: your verification code is/);
    const check = await t.call('POST', `/v1/verifications/${v.id}/check`, {
      body: { code: t.codeFor(v.id) },
      key,
    });
    const { token } = (await check.json()) as { token: string };
    expect((await t.verifyToken(token, 'acme')).aud).toBe('acme');
  });

  it('refuses invalid key requests: unknown scope, bad app name', async () => {
    await expectProblem(
      await t.call('POST', '/v1/admin/api-keys', { body: { app: 'acme', scopes: ['root'] } }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('POST', '/v1/admin/api-keys', {
        body: { app: 'Acme Corp!', scopes: ['verify'] },
      }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await t.call('POST', '/v1/admin/api-keys', { body: { app: 'acme', scopes: [] } }),
      400,
      'invalid_request',
    );
  });
});

describe('CLI keys', () => {
  it('creates a key offline that the API then accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-cli-'));
    const sqlitePath = join(dir, 'verify.db');
    const out = execFileSync(
      'npx',
      ['tsx', 'src/cli.ts', 'keys', 'create', '--app', 'acme', '--scopes', 'verify'],
      {
        env: { ...inheritedEnv(), SQLITE_PATH: sqlitePath, DATA_DIR: dir, NODE_ENV: 'development' },
        encoding: 'utf8',
      },
    );
    const created = JSON.parse(out) as {
      key: string;
      app: string;
      scopes: string[];
      createdAt: unknown;
    };
    expect(created).toMatchObject({ app: 'acme', scopes: ['verify'] });
    // Times are ISO 8601, as the API prints them, not epoch milliseconds.
    expect(created.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const listed = JSON.parse(
      execFileSync('npx', ['tsx', 'src/cli.ts', 'keys', 'list'], {
        env: { ...inheritedEnv(), SQLITE_PATH: sqlitePath, DATA_DIR: dir, NODE_ENV: 'development' },
        encoding: 'utf8',
      }),
    ) as { createdAt: unknown; revokedAt: unknown }[];
    expect(listed).toEqual([
      expect.objectContaining({ createdAt: created.createdAt, revokedAt: null }),
    ]);
    const app = JSON.parse(
      execFileSync('npx', ['tsx', 'src/cli.ts', 'apps', 'set', 'acme', '--brand', 'Acme'], {
        env: { ...inheritedEnv(), SQLITE_PATH: sqlitePath, DATA_DIR: dir, NODE_ENV: 'development' },
        encoding: 'utf8',
      }),
    ) as { createdAt: string; updatedAt: string };
    expect(new Date(app.updatedAt).toISOString()).toBe(app.updatedAt);
    const t = await createTestApp({ sqlitePath });
    try {
      await startVerification(t, { to: '+14155550123' }, created.key);
    } finally {
      t.close();
    }
    expect(() =>
      execFileSync(
        'npx',
        ['tsx', 'src/cli.ts', 'keys', 'create', '--app', 'acme', '--scopes', 'root'],
        {
          env: { ...inheritedEnv(), SQLITE_PATH: sqlitePath, DATA_DIR: dir },
          encoding: 'utf8',
          stdio: 'pipe',
        },
      ),
    ).toThrow(/scopes must be/);
  });
});
