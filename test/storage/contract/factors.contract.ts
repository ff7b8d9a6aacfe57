import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { newId } from '../../../src/platform/ids.js';
import { RACERS, type StoreContext } from './backends.js';
import {
  aFactor,
  compareText,
  DAY,
  defined,
  hashes,
  HOUR,
  NOW,
  times,
  verifiedFactor,
} from './fixtures.js';

/**
 * Authenticator-app factors and their recovery codes. Exploitable if broken: a factor code guessed
 * past the attempt limit by a race, a time step accepted twice (RFC 6238 §5.2 replay), a recovery
 * code used twice, more factors than the per-user limit.
 */
export function factorsContract(ctx: () => StoreContext): void {
  it(`creates at most the per-user limit under ${RACERS} concurrent enrolments, after removing stale unverified factors`, async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const user = 'user_1';
    const stale = aFactor(app, user, { createdAt: NOW - DAY });
    const keep = aFactor(app, user, { createdAt: NOW - DAY, status: 'verified' });
    expect(await stores.factors.createIfBelowLimit(stale, 5, 0)).toBe(true);
    expect(await stores.factors.createIfBelowLimit(keep, 5, 0)).toBe(true);

    const created = await times(RACERS, (i) =>
      stores.factors.createIfBelowLimit(aFactor(app, user, { createdAt: NOW + i }), 4, NOW - HOUR),
    );
    expect(created.filter(Boolean)).toHaveLength(3);
    const listed = await stores.factors.listByUser(app, user);
    expect(listed).toHaveLength(4);
    expect(listed.map((f) => f.id)).not.toContain(stale.id);
    expect(listed[0]).toEqual(keep);
    expect(listed.map((f) => f.createdAt)).toEqual(
      [...listed.map((f) => f.createdAt)].sort((a, b) => a - b),
    );
    // Another user and another app have their own limit.
    expect(await stores.factors.createIfBelowLimit(aFactor(app, 'user_2'), 4, 0)).toBe(true);
    expect(
      await stores.factors.createIfBelowLimit(aFactor(newId('app', Date.now()), user), 4, 0),
    ).toBe(true);
  });

  it("finds a factor only in its own app and lists a user's factors oldest first", async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const factors = [
      aFactor(app, 'u', { createdAt: NOW + 2 }),
      aFactor(app, 'u', { createdAt: NOW }),
      aFactor(app, 'v', { createdAt: NOW + 1 }),
    ];
    for (const factor of factors) await stores.factors.createIfBelowLimit(factor, 5, 0);
    expect(await stores.factors.findById(app, factors[0]!.id)).toEqual(factors[0]);
    expect(await stores.factors.findById(newId('app', Date.now()), factors[0]!.id)).toBeUndefined();
    expect(await stores.factors.findById(app, newId('fac', Date.now()))).toBeUndefined();
    expect(await stores.factors.listByUser(app, 'u')).toEqual([factors[1], factors[0]]);
    expect(await stores.factors.listByUser(app, 'nobody')).toEqual([]);
  });

  it(`gives out no more attempts than are left to ${RACERS + 2} concurrent callers, then locks until the lock ends`, async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const factor = aFactor(app, 'u', { maxAttempts: 5 });
    await stores.factors.createIfBelowLimit(factor, 5, 0);
    const taken = defined(
      await times(RACERS + 2, () => stores.factors.reserveAttempt(factor.id, NOW)),
    );
    expect(taken.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
    expect(await stores.factors.reserveAttempt(factor.id, NOW)).toBeUndefined();

    await stores.factors.lockIfExhausted(factor.id, NOW + 60_000);
    expect(await stores.factors.findById(app, factor.id)).toMatchObject({
      attempts: 0,
      lockedUntil: NOW + 60_000,
    });
    expect(await stores.factors.reserveAttempt(factor.id, NOW + 59_999)).toBeUndefined();
    expect(await stores.factors.reserveAttempt(factor.id, NOW + 60_000)).toBe(1);
    // Not exhausted: no lock.
    await stores.factors.lockIfExhausted(factor.id, NOW + 120_000);
    expect(await stores.factors.findById(app, factor.id)).toMatchObject({
      attempts: 1,
      lockedUntil: NOW + 60_000,
    });
  });

  it(`activates for exactly one of ${RACERS} concurrent callers, storing its recovery codes once`, async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const factor = aFactor(app, 'u', { lastStep: 500 });
    await stores.factors.createIfBelowLimit(factor, 5, 0);
    expect(await stores.factors.activate(factor.id, 500, NOW, hashes(10))).toBe(false); // not later than the last step
    const results = await times(RACERS, () =>
      stores.factors.activate(factor.id, 501, NOW, hashes(10)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.factors.countUnusedRecoveryCodes(factor.id)).toBe(10);
    expect(await stores.factors.findById(app, factor.id)).toMatchObject({
      status: 'verified',
      lastStep: 501,
      attempts: 0,
      verifiedAt: NOW,
      lastUsedAt: NOW,
    });
    expect(await stores.factors.activate(factor.id, 600, NOW, hashes(10))).toBe(false); // already verified
  });

  it(`accepts a time step once among ${RACERS} concurrent callers, and never an earlier one`, async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const factor = await verifiedFactor(stores.factors, app, hashes(2));
    expect(await stores.factors.acceptStep(factor.id, 1000, NOW)).toBe(false); // the step that activated it
    await stores.factors.reserveAttempt(factor.id, NOW);
    const results = await times(RACERS, () =>
      stores.factors.acceptStep(factor.id, 1001, NOW + 30_000),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.factors.findById(app, factor.id)).toMatchObject({
      lastStep: 1001,
      attempts: 0,
      lastUsedAt: NOW + 30_000,
    });
    expect(await stores.factors.acceptStep(factor.id, 999, NOW + 60_000)).toBe(false);
    const unverified = aFactor(app, 'other');
    await stores.factors.createIfBelowLimit(unverified, 5, 0);
    expect(await stores.factors.acceptStep(unverified.id, 5, NOW)).toBe(false);
  });

  it(`lets one of ${RACERS} concurrent callers use a recovery code, once`, async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const codes = hashes(3);
    const factor = await verifiedFactor(stores.factors, app, codes);
    await stores.factors.reserveAttempt(factor.id, NOW);
    const results = await times(RACERS, () =>
      stores.factors.useRecoveryCode(factor.id, codes[1]!, NOW + 5),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.factors.countUnusedRecoveryCodes(factor.id)).toBe(2);
    expect(await stores.factors.findById(app, factor.id)).toMatchObject({
      attempts: 0,
      lastUsedAt: NOW + 5,
    });
    expect(await stores.factors.useRecoveryCode(factor.id, codes[1]!, NOW + 6)).toBe(false);
    expect(await stores.factors.useRecoveryCode(factor.id, 'not-a-code', NOW + 6)).toBe(false);
    const other = await verifiedFactor(stores.factors, app, hashes(1));
    expect(await stores.factors.useRecoveryCode(other.id, codes[0]!, NOW + 6)).toBe(false); // another factor's code
  });

  it('replaces every recovery code atomically, even under concurrent replacements, and only on a verified factor', async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const factor = await verifiedFactor(stores.factors, app, hashes(10));
    const unverified = aFactor(app, 'other');
    await stores.factors.createIfBelowLimit(unverified, 5, 0);
    expect(await stores.factors.replaceRecoveryCodes(unverified.id, hashes(10), NOW)).toBe(false);
    expect(
      await stores.factors.replaceRecoveryCodes(newId('fac', Date.now()), hashes(10), NOW),
    ).toBe(false);
    expect(await stores.factors.countUnusedRecoveryCodes(unverified.id)).toBe(0);

    const sets = Array.from({ length: 5 }, () => hashes(8));
    expect(
      await times(5, (i) => stores.factors.replaceRecoveryCodes(factor.id, sets[i]!, NOW + 1)),
    ).toEqual([true, true, true, true, true]);
    expect(await stores.factors.countUnusedRecoveryCodes(factor.id)).toBe(8);
    // Exactly one whole set survived.
    const usable = await Promise.all(
      sets.map(
        async (set) =>
          (await stores.factors.useRecoveryCode(factor.id, set[0]!, NOW + 2)) &&
          (await stores.factors.useRecoveryCode(factor.id, set[7]!, NOW + 2)),
      ),
    );
    expect(usable.filter(Boolean)).toHaveLength(1);
  });

  it(`deletes a factor and its codes for exactly one of ${RACERS} concurrent callers, and only in its own app`, async () => {
    const { stores, queryNumber } = ctx();
    const app = newId('app', Date.now());
    const factor = await verifiedFactor(stores.factors, app, hashes(4));
    expect(await stores.factors.delete(newId('app', Date.now()), factor.id)).toBe(false);
    const results = await times(RACERS, () => stores.factors.delete(app, factor.id));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.factors.findById(app, factor.id)).toBeUndefined();
    expect(await stores.factors.countUnusedRecoveryCodes(factor.id)).toBe(0);
    expect(
      await queryNumber(
        `SELECT count(*) FROM factor_recovery_codes WHERE factor_id = '${factor.id}'`,
      ),
    ).toBe(0);
  });

  it('lists secrets not sealed under a key by exact prefix (a `_` in the key id is no wildcard), and replaces one only if unchanged', async () => {
    const { stores } = ctx();
    const app = newId('app', Date.now());
    const kid = `k_${randomBytes(3).toString('hex')}`;
    const under = aFactor(app, 'a', { secretSealed: `v1.${kid}.secret-a` });
    const lookalike = aFactor(app, 'b', { secretSealed: `v1.${kid.replace('_', 'x')}.secret-b` });
    const older = aFactor(app, 'c', { secretSealed: 'v1.k0.secret-c' });
    for (const factor of [under, lookalike, older])
      await stores.factors.createIfBelowLimit(factor, 5, 0);
    const mine = new Set([under.id, lookalike.id, older.id]);
    const listed = (await stores.factors.listSealedNotUnder(kid, 100_000)).filter((row) =>
      mine.has(row.id),
    );
    expect(listed.sort((a, b) => compareText(a.id, b.id))).toEqual(
      [lookalike, older]
        .map((f) => ({ id: f.id, secretSealed: f.secretSealed }))
        .sort((a, b) => compareText(a.id, b.id)),
    );
    expect(await stores.factors.listSealedNotUnder(kid, 1)).toHaveLength(1);

    const results = await times(RACERS, (i) =>
      stores.factors.replaceSealed(older.id, older.secretSealed, `v1.${kid}.resealed-${i}`),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await stores.factors.findById(app, older.id))!.secretSealed).toBe(
      `v1.${kid}.resealed-${results.indexOf(true)}`,
    );
    expect(await stores.factors.replaceSealed(older.id, older.secretSealed, 'v1.k9.again')).toBe(
      false,
    );
  });
}
