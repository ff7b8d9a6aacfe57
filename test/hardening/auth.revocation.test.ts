/**
 * Exploitable without this: a leaked API key that has been revoked keeps working on the instances
 * that cached it, for as long as they run. Keys are looked up in the shared database on every
 * request, so a revocation applies to the next request on every instance.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { api, startServerProcess, type ServerProcess } from '../delivery/process.js';
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
    expect(
      (await two.call('POST', '/v1/verifications', { key, body: { to: '+14155550123' } })).status,
    ).toBe(201);

    expect((await one.call('DELETE', `/v1/admin/api-keys/${id}`)).status).toBe(204);
    await expectProblem(
      await two.call('POST', '/v1/verifications', { key, body: { to: '+14155550124' } }),
      401,
      'unauthorized',
    );
    await expectProblem(
      await one.call('GET', '/v1/verifications/ver_x', { key }),
      401,
      'unauthorized',
    );
  });

  describe('across real server processes', { timeout: 120_000 }, () => {
    const servers: ServerProcess[] = [];
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((server) => server.stop()));
    });

    it('a key revoked through one process is refused by the other on its very next request', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'otp-revoke-processes-'));
      // Each is tracked as soon as it listens, so one failing to start never leaves the other running.
      const launch = () =>
        startServerProcess(dir, {}).then((server) => (servers.push(server), server));
      const [one, two] = await Promise.all([launch(), launch()]);
      const created = await api(one.url, 'POST', '/v1/admin/api-keys', {
        app: 'acme',
        scopes: ['verify'],
      });
      expect(created.status).toBe(201);
      const { key } = (await created.json()) as { key: string };
      const withKey = (base: string, to: string) =>
        fetch(`${base}/v1/verifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to }),
        });
      expect((await withKey(two.url, '+14155550123')).status).toBe(201);

      expect(
        (await api(one.url, 'DELETE', `/v1/admin/api-keys/${key.split('.')[0]!}`)).status,
      ).toBe(204);
      await expectProblem(await withKey(two.url, '+14155550124'), 401, 'unauthorized');
      await expectProblem(await withKey(one.url, '+14155550125'), 401, 'unauthorized');
    });
  });
});
