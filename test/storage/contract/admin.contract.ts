import { expect, it } from 'vitest';
import type { StoreContext } from './backends.js';
import { T0, times } from './fixtures.js';

/**
 * API keys, apps and signing keys. Exploitable if broken: a revoked key that still authenticates (a
 * revoke that races and loses), app settings overwritten by a start, a signing key withdrawn while
 * tokens it signed are still valid.
 */
export function adminContract(ctx: () => StoreContext): void {
  it('a key revoked once is revoked for good: revoke answers true exactly once, and the key is no longer active', async () => {
    const { stores } = ctx();
    await stores.apiKeys.insert({
      id: 'k1',
      app: 'shop',
      scopes: ['verify', 'reports'],
      secretHash: 'a'.repeat(64),
      createdAt: T0,
      revokedAt: null,
    });
    await stores.apiKeys.insert({
      id: 'k2',
      app: 'shop',
      scopes: ['verify'],
      secretHash: 'b'.repeat(64),
      createdAt: T0 + 1,
      revokedAt: null,
    });
    expect(await stores.apiKeys.findActive('k1')).toMatchObject({
      app: 'shop',
      scopes: ['verify', 'reports'],
      revokedAt: null,
    });
    const results = await times(5, () => stores.apiKeys.revoke('k1', T0 + 5));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.apiKeys.findActive('k1')).toBeUndefined();
    expect((await stores.apiKeys.list()).map((k) => [k.id, k.revokedAt])).toEqual([
      ['k1', T0 + 5],
      ['k2', null],
    ]);
  });

  it('ensure never overwrites an app’s settings; upsert changes only the fields it is given', async () => {
    const { stores } = ctx();
    await stores.apps.upsert('shop', { brand: 'Shop', codeLength: 8 }, T0);
    await stores.apps.ensure('shop', T0 + 1);
    await stores.apps.ensure('other', T0 + 1);
    expect(await stores.apps.get('shop')).toMatchObject({
      brand: 'Shop',
      codeLength: 8,
      createdAt: T0,
    });
    expect(await stores.apps.get('other')).toMatchObject({
      brand: null,
      codeLength: null,
      createdAt: T0 + 1,
    });
    const updated = await stores.apps.upsert('shop', { webOtpDomain: 'shop.example' }, T0 + 2);
    expect(updated).toEqual({
      name: 'shop',
      brand: 'Shop',
      codeLength: 8,
      webOtpDomain: 'shop.example',
      customCodes: false,
      twilioServiceSid: expect.stringMatching(/^VA[0-9a-f]{32}$/),
      createdAt: T0,
      updatedAt: T0 + 2,
    });
    expect(await stores.apps.get('nope')).toBeUndefined();
  });

  it('every app gets a Service sid when inserted, kept by updates, found by one lookup, gone with the app', async () => {
    const { stores } = ctx();
    await stores.apps.ensure('shop', T0);
    const first = await stores.apps.upsert('other', { brand: 'Other' }, T0 + 1);
    const shop = await stores.apps.get('shop');
    expect(shop?.twilioServiceSid).toMatch(/^VA[0-9a-f]{32}$/);
    expect(first.twilioServiceSid).toMatch(/^VA[0-9a-f]{32}$/);
    expect(first.twilioServiceSid).not.toBe(shop?.twilioServiceSid);
    // Neither ensure nor upsert of an existing app changes its sid.
    await stores.apps.ensure('shop', T0 + 2);
    expect((await stores.apps.upsert('shop', { customCodes: true }, T0 + 3)).twilioServiceSid).toBe(
      shop?.twilioServiceSid,
    );
    expect(await stores.apps.findByServiceSid(shop!.twilioServiceSid!)).toMatchObject({
      name: 'shop',
      customCodes: true,
    });
    expect(await stores.apps.findByServiceSid(`VA${'0'.repeat(32)}`)).toBeUndefined();
    expect(await stores.apps.remove('shop')).toBe(true);
    expect(await stores.apps.remove('shop')).toBe(false);
    expect(await stores.apps.findByServiceSid(shop!.twilioServiceSid!)).toBeUndefined();
  });

  it('create inserts only a new app (never touches an existing one); list pages oldest first', async () => {
    const { stores } = ctx();
    expect(
      await stores.apps.create('shop', { brand: 'Shop', customCodes: true }, T0),
    ).toMatchObject({ name: 'shop', brand: 'Shop', customCodes: true, createdAt: T0 });
    expect(await stores.apps.create('shop', { brand: 'Other' }, T0 + 1)).toBeUndefined();
    expect(await stores.apps.get('shop')).toMatchObject({ brand: 'Shop', createdAt: T0 });
    await stores.apps.create('b', {}, T0 + 2);
    await stores.apps.create('a', {}, T0 + 2);
    expect((await stores.apps.list({ offset: 0, limit: 2 })).map((a) => a.name)).toEqual([
      'shop',
      'a',
    ]);
    expect((await stores.apps.list({ offset: 2, limit: 2 })).map((a) => a.name)).toEqual(['b']);
  });

  it('signing keys: retired keys stay published until their tokens expire, newest first', async () => {
    const { stores } = ctx();
    const key = (kid: string, createdAt: number) => ({
      kid,
      alg: 'EdDSA',
      privateJwk: '{}',
      publicJwk: '{}',
      createdAt,
      retiredAt: null,
    });
    await stores.signingKeys.insert(key('old', T0));
    await stores.signingKeys.insert(key('new', T0 + 10));
    await stores.signingKeys.insert(key('new', T0 + 99)); // a duplicate kid is ignored
    await stores.signingKeys.retireAllExcept('new', T0 + 20);
    expect(
      (await stores.signingKeys.listPublishable(T0 + 19)).map((k) => [
        k.kid,
        k.createdAt,
        k.retiredAt,
      ]),
    ).toEqual([
      ['new', T0 + 10, null],
      ['old', T0, T0 + 20],
    ]);
    expect((await stores.signingKeys.listPublishable(T0 + 20)).map((k) => k.kid)).toEqual(['new']);
  });
}
