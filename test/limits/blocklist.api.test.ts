// Exploitable without this API working exactly: the security team could not stop an ongoing
// attack at once on every instance, could not see or undo automatic blocks, or a key without the
// `security` scope could unblock an attacker's range.
import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { spreadNumber, start } from './limits-helpers.js';

describe('/v1/blocklist', () => {
  let t: TestApp;
  let key: string;
  let security: string;
  beforeEach(async () => {
    t = await createTestApp();
    key = await t.createKey('acme', ['verify']);
    security = await t.createKey('acme', ['security']);
  });
  afterEach(() => t.close());

  it('creates, lists, filters and deletes entries with the agreed shape', async () => {
    const created = await t.call('POST', '/v1/blocklist', {
      key: security,
      body: {
        kind: 'prefix',
        value: '+4479460',
        reason: 'pumping, SEC-42',
        expiresAt: '2026-01-08T00:00:00Z',
      },
    });
    expect(created.status).toBe(201);
    const entry = (await created.json()) as Record<string, unknown>;
    expect(Object.keys(entry).sort()).toEqual([
      'action',
      'createdAt',
      'createdBy',
      'expiresAt',
      'id',
      'kind',
      'reason',
      'value',
    ]);
    expect(entry).toMatchObject({
      kind: 'prefix',
      value: '+4479460',
      action: 'block',
      reason: 'pumping, SEC-42',
      createdAt: '2026-01-01T00:00:00.000Z',
      expiresAt: '2026-01-08T00:00:00.000Z',
    });
    expect(entry.createdBy).toBe(security.split('.')[0]);

    await t.call('POST', '/v1/blocklist', {
      key: security,
      body: { kind: 'number', value: '+33612345678', reason: 'VIP', action: 'allow' },
    });
    const all = (await (await t.call('GET', '/v1/blocklist', { key: security })).json()) as {
      entries: { id: string }[];
    };
    expect(all.entries).toHaveLength(2);
    const allows = (await (
      await t.call('GET', '/v1/blocklist?action=allow', { key: security })
    ).json()) as { entries: { kind: string }[] };
    expect(allows.entries).toEqual([expect.objectContaining({ kind: 'number', action: 'allow' })]);
    await expectProblem(
      await t.call('GET', '/v1/blocklist?kind=planet', { key: security }),
      400,
      'invalid_request',
    );

    expect(
      (await t.call('DELETE', `/v1/blocklist/${entry.id as string}`, { key: security })).status,
    ).toBe(204);
    await expectProblem(
      await t.call('DELETE', `/v1/blocklist/${entry.id as string}`, { key: security }),
      404,
      'not_found',
    );
  });

  it('requires the security scope', async () => {
    await expectProblem(await t.call('GET', '/v1/blocklist', { key }), 403, 'forbidden');
    await expectProblem(
      await t.call('POST', '/v1/blocklist', {
        key,
        body: { kind: 'country', value: 'GB', reason: 'x' },
      }),
      403,
      'forbidden',
    );
    await expectProblem(await t.call('DELETE', '/v1/blocklist/blk_x', { key }), 403, 'forbidden');
  });

  it.each([
    ['number', '0612345678'],
    ['prefix', '44'],
    ['ip', '300.1.1.1'],
    ['cidr', '203.0.113.0'],
    ['country', 'GBR'],
  ])('rejects a %s value that does not fit its kind (%s)', async (kind, value) => {
    await expectProblem(
      await t.call('POST', '/v1/blocklist', { key: security, body: { kind, value, reason: 'x' } }),
      400,
      'invalid_request',
    );
  });

  it('blocks by number, prefix, IP, CIDR and country; an allow entry wins; expiry ends an entry', async () => {
    const add = (body: Record<string, unknown>) =>
      t.call('POST', '/v1/blocklist', { key: security, body: { reason: 'test', ...body } });
    await add({ kind: 'number', value: spreadNumber(1) });
    await add({ kind: 'prefix', value: '+3361000' });
    await add({ kind: 'ip', value: '203.0.113.66' });
    await add({ kind: 'cidr', value: '2001:db8:bad::/48' });
    await add({ kind: 'country', value: 'GB' });
    await expectProblem(
      await start(t, key, spreadNumber(1), { ip: '198.51.100.1' }),
      403,
      'blocked',
    );
    await expectProblem(
      await start(t, key, spreadNumber(2), { ip: '198.51.100.1' }),
      403,
      'blocked',
    ); // +33610002123 is in +3361000
    await expectProblem(
      await start(t, key, spreadNumber(50), { ip: '203.0.113.66' }),
      403,
      'blocked',
    );
    await expectProblem(
      await start(t, key, spreadNumber(51), { ip: '2001:db8:bad:1::9' }),
      403,
      'blocked',
    );
    await expectProblem(
      await start(t, key, '+447400123456', { ip: '198.51.100.1' }),
      403,
      'blocked',
    );
    expect((await start(t, key, spreadNumber(52), { ip: '2001:db8:bae::1' })).status).toBe(201);

    await add({ kind: 'number', value: '+447400123456', action: 'allow' });
    expect((await start(t, key, '+447400123456', { ip: '198.51.100.1' })).status).toBe(201);

    await add({ kind: 'number', value: spreadNumber(60), expiresAt: '2026-01-01T01:00:00Z' });
    await expectProblem(
      await start(t, key, spreadNumber(60), { ip: '198.51.100.2' }),
      403,
      'blocked',
    );
    t.clock.advance(3_600_000);
    expect((await start(t, key, spreadNumber(60), { ip: '198.51.100.2' })).status).toBe(201);
  });
});

describe('blocklist across instances', () => {
  it('takes effect at once on every instance sharing the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-shared-'));
    const path = join(dir, 'shared.db');
    const clock = createFakeClock();
    const a = await createTestApp({ sqlitePath: path, clock });
    const b = await createTestApp({ sqlitePath: path, clock });
    try {
      const keyB = await b.createKey('acme', ['verify']);
      expect((await start(b, keyB, spreadNumber(1), { ip: '198.51.100.1' })).status).toBe(201);
      const created = (await (
        await a.call('POST', '/v1/blocklist', {
          body: { kind: 'country', value: 'FR', reason: 'incident' },
        })
      ).json()) as { id: string };
      await expectProblem(
        await start(b, keyB, spreadNumber(2), { ip: '198.51.100.1' }),
        403,
        'blocked',
      );
      expect((await a.call('DELETE', `/v1/blocklist/${created.id}`)).status).toBe(204);
      expect((await start(b, keyB, spreadNumber(3), { ip: '198.51.100.1' })).status).toBe(201);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
