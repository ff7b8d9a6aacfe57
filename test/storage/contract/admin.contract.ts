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
    await stores.apiKeys.insert({ id: 'k1', app: 'shop', scopes: ['verify', 'reports'], secretHash: 'a'.repeat(64), createdAt: T0, revokedAt: null });
    await stores.apiKeys.insert({ id: 'k2', app: 'shop', scopes: ['verify'], secretHash: 'b'.repeat(64), createdAt: T0 + 1, revokedAt: null });
    expect(await stores.apiKeys.findActive('k1')).toMatchObject({ app: 'shop', scopes: ['verify', 'reports'], revokedAt: null });
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
    expect(await stores.apps.get('shop')).toMatchObject({ brand: 'Shop', codeLength: 8, createdAt: T0 });
    expect(await stores.apps.get('other')).toMatchObject({ brand: null, codeLength: null, createdAt: T0 + 1 });
    const updated = await stores.apps.upsert('shop', { webOtpDomain: 'shop.example' }, T0 + 2);
    expect(updated).toEqual({ name: 'shop', brand: 'Shop', codeLength: 8, webOtpDomain: 'shop.example', createdAt: T0, updatedAt: T0 + 2 });
    expect(await stores.apps.get('nope')).toBeUndefined();
  });

  it('signing keys: retired keys stay published until their tokens expire, newest first', async () => {
    const { stores } = ctx();
    const key = (kid: string, createdAt: number) => ({ kid, alg: 'EdDSA', privateJwk: '{}', publicJwk: '{}', createdAt, retiredAt: null });
    await stores.signingKeys.insert(key('old', T0));
    await stores.signingKeys.insert(key('new', T0 + 10));
    await stores.signingKeys.insert(key('new', T0 + 99)); // a duplicate kid is ignored
    await stores.signingKeys.retireAllExcept('new', T0 + 20);
    expect((await stores.signingKeys.listPublishable(T0 + 19)).map((k) => [k.kid, k.createdAt, k.retiredAt])).toEqual([
      ['new', T0 + 10, null],
      ['old', T0, T0 + 20],
    ]);
    expect((await stores.signingKeys.listPublishable(T0 + 20)).map((k) => k.kid)).toEqual(['new']);
  });
}
