/**
 * Exploitable without this: a leaked API key that has been revoked keeps working on the instances
 * that cached it, for as long as they run. Keys are looked up in the shared database on every
 * request, so a revocation applies to the next request on every instance.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';

describe('API key revocation', () => {
  const apps: TestApp[] = [];
  afterEach(() => apps.splice(0).forEach((a) => a.close()));

  it('a key revoked through one instance is refused at once by another instance on the same database', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'otp-revoke-')), 'verify.db');
    const one = await createTestApp({ sqlitePath: path });
    const two = await createTestApp({ sqlitePath: path, clock: one.clock });
    apps.push(one, two);
    const key = await one.createKey('acme', ['verify']);
    const id = key.split('.')[0]!;
    expect((await two.call('POST', '/v1/verifications', { key, body: { to: '+14155550123' } })).status).toBe(201);

    expect((await one.call('DELETE', `/v1/admin/api-keys/${id}`)).status).toBe(204);
    await expectProblem(await two.call('POST', '/v1/verifications', { key, body: { to: '+14155550124' } }), 401, 'unauthorized');
    await expectProblem(await one.call('GET', '/v1/verifications/ver_x', { key }), 401, 'unauthorized');
  });
});
