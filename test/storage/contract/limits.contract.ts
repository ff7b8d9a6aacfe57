import { expect, it } from 'vitest';
import type { BlockEntry } from '../../../src/limits/limits.store.js';
import type { StoreContext } from './backends.js';
import { T0, MINUTE, times, otherConnectionsCommitted, blockEntry } from './fixtures.js';

/**
 * Rate counters in the database, the blocklist and per-app overrides. Exploitable if broken: a rate
 * limit exceeded under concurrency or across instances (a lost hit), a hold shortened, a blocked
 * number or prefix let through, two automatic blocks of one prefix.
 */
export function limitsContract(ctx: () => StoreContext): void {
  it('N concurrent hits of a counter receive N distinct totals (none lost, none duplicated)', async () => {
    const { stores } = ctx();
    const totals = await times(40, () => stores.counters.hit('contract:ip:198.51.100.7', MINUTE));
    expect(totals.map((t) => t.points).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
    expect(await stores.counters.peek('contract:ip:198.51.100.7')).toEqual({
      points: 40,
      resetInMs: MINUTE,
    });
  });

  it('a window ends on time and the next hit starts a new one; costs add up', async () => {
    const { stores, clock } = ctx();
    expect(await stores.counters.hit('k', MINUTE, 3)).toEqual({ points: 3, resetInMs: MINUTE });
    clock.advance(MINUTE - 1);
    expect(await stores.counters.hit('k', MINUTE, 2)).toEqual({ points: 5, resetInMs: 1 });
    clock.advance(1);
    expect(await stores.counters.peek('k')).toEqual({ points: 0, resetInMs: 0 });
    expect(await stores.counters.hit('k', MINUTE)).toEqual({ points: 1, resetInMs: MINUTE });
  });

  it('hold keeps a key non-zero and never shortens an existing hold', async () => {
    const { stores, clock } = ctx();
    await stores.counters.hold('lock', 10 * MINUTE);
    await stores.counters.hold('lock', MINUTE);
    clock.advance(5 * MINUTE);
    expect(await stores.counters.peek('lock')).toEqual({ points: 1, resetInMs: 5 * MINUTE });
    clock.advance(5 * MINUTE);
    expect((await stores.counters.peek('lock')).points).toBe(0);
  });

  it('starts a new window when the old one has ended', async () => {
    const { stores, clock } = ctx();
    await stores.counters.hit('k', MINUTE);
    clock.advance(MINUTE / 2);
    expect(await stores.counters.hit('k', MINUTE)).toEqual({ points: 2, resetInMs: MINUTE / 2 });
    clock.advance(MINUTE / 2);
    expect(await stores.counters.hit('k', MINUTE)).toEqual({ points: 1, resetInMs: MINUTE });
  });

  it('purges ended windows as it goes', async () => {
    const { stores, clock, queryNumber } = ctx();
    for (let i = 0; i < 999; i++) await stores.counters.hit(`old-${i}`, 1_000);
    clock.advance(2_000);
    await stores.counters.hit('fresh', 1_000);
    expect(await queryNumber('SELECT count(*) AS n FROM rate_counters')).toBe(1);
  });

  it('a batch of hits counts each key as hit alone, results in the order given; a batch of peeks reads without counting', async () => {
    const { stores, clock } = ctx();
    await stores.counters.hit('b', MINUTE, 4);
    const batch = await stores.counters.hitMany([
      { key: 'c', windowMs: 2 * MINUTE },
      { key: 'b', windowMs: MINUTE, cost: 2 },
      { key: 'a', windowMs: MINUTE, cost: 0 },
    ]);
    expect(batch).toEqual([
      { points: 1, resetInMs: 2 * MINUTE },
      { points: 6, resetInMs: MINUTE },
      { points: 0, resetInMs: MINUTE },
    ]);
    clock.advance(MINUTE);
    expect(await stores.counters.peekMany(['a', 'missing', 'c', 'b'])).toEqual([
      { points: 0, resetInMs: 0 },
      { points: 0, resetInMs: 0 },
      { points: 1, resetInMs: MINUTE },
      { points: 0, resetInMs: 0 },
    ]);
    expect(await stores.counters.hitMany([{ key: 'b', windowMs: MINUTE }])).toEqual([
      { points: 1, resetInMs: MINUTE },
    ]);
    expect(await stores.counters.hitMany([])).toEqual([]);
    expect(await stores.counters.peekMany([])).toEqual([]);
    await expect(
      stores.counters.hitMany([
        { key: 'x', windowMs: MINUTE },
        { key: 'x', windowMs: MINUTE },
      ]),
    ).rejects.toThrow(/duplicate/);
  });

  it('concurrent batches sharing keys in different orders lose no hit and never deadlock', async () => {
    const { stores, openAnother } = ctx();
    const other = await openAnother();
    const keys = ['p', 'q', 'r', 's'];
    await times(20, (i) =>
      (i % 2 === 0 ? stores : other).counters.hitMany(
        (i % 4 < 2 ? keys : [...keys].reverse()).map((key) => ({ key, windowMs: MINUTE })),
      ),
    );
    await otherConnectionsCommitted();
    expect((await stores.counters.peekMany(keys)).map((c) => c.points)).toEqual([20, 20, 20, 20]);
  });

  it('hits in order stop after the first total over its limit: the later keys are not counted', async () => {
    const { stores } = ctx();
    const rules = [
      { key: 'narrow', windowMs: MINUTE, limit: 2 },
      { key: 'wide', windowMs: 2 * MINUTE, limit: 100 },
    ];
    expect(await stores.counters.hitUntil(rules)).toEqual([
      { points: 1, resetInMs: MINUTE },
      { points: 1, resetInMs: 2 * MINUTE },
    ]);
    await stores.counters.hitUntil(rules);
    // The narrow limit refuses from now on: it still counts, the wide one no longer does.
    expect(await stores.counters.hitUntil(rules)).toEqual([{ points: 3, resetInMs: MINUTE }]);
    expect(await stores.counters.hitUntil(rules)).toEqual([{ points: 4, resetInMs: MINUTE }]);
    expect((await stores.counters.peek('wide')).points).toBe(2);
    expect(await stores.counters.hitUntil([])).toEqual([]);
  });

  it('a refused hit in the middle of a batch leaves every later counter as it was, with its costs', async () => {
    const { stores } = ctx();
    await stores.counters.hitMany([{ key: 'later-seen', windowMs: MINUTE, cost: 3 }]);
    const rules = [
      { key: 'first', windowMs: MINUTE, limit: 100, cost: 2 },
      { key: 'middle', windowMs: MINUTE, limit: 4, cost: 5 },
      { key: 'later-seen', windowMs: MINUTE, limit: 100, cost: 7 },
      { key: 'later-new', windowMs: MINUTE, limit: 100, cost: 7 },
    ];
    expect((await stores.counters.hitUntil(rules)).map((c) => c.points)).toEqual([2, 5]);
    expect((await stores.counters.hitUntil(rules)).map((c) => c.points)).toEqual([4, 10]);
    expect(
      (await stores.counters.peekMany(['first', 'middle', 'later-seen', 'later-new'])).map(
        (c) => c.points,
      ),
    ).toEqual([4, 10, 3, 0]);
    // The later counters still count normally afterwards.
    expect(
      (await stores.counters.hitMany([{ key: 'later-new', windowMs: MINUTE }])).map(
        (c) => c.points,
      ),
    ).toEqual([1]);
  });

  it('concurrent hits in order never let more through than the limit', async () => {
    const { stores, openAnother } = ctx();
    const other = await openAnother();
    const rules = [
      { key: 'number', windowMs: MINUTE, limit: 5 },
      { key: 'app', windowMs: MINUTE, limit: 1000 },
    ];
    const results = await times(30, (i) => (i % 2 === 0 ? stores : other).counters.hitUntil(rules));
    await otherConnectionsCommitted();
    expect(
      results.filter((r) => r.length === 2 && r.every((c, j) => c.points <= rules[j]!.limit)),
    ).toHaveLength(5);
    expect((await stores.counters.peek('number')).points).toBe(30);
    expect((await stores.counters.peek('app')).points).toBe(5);
  });

  it('the blocklist matches numbers, prefixes, countries, addresses and every CIDR, unexpired only', async () => {
    const { stores } = ctx();
    const entries = [
      blockEntry({ kind: 'number', value: '+14155550123' }),
      blockEntry({ kind: 'prefix', value: '+1415' }),
      blockEntry({ kind: 'prefix', value: '+1416' }),
      blockEntry({ kind: 'country', value: 'US' }),
      blockEntry({ kind: 'ip', value: '198.51.100.7', action: 'allow' }),
      blockEntry({ kind: 'cidr', value: '203.0.113.0/24' }),
      blockEntry({ kind: 'number', value: '+14155550123', expiresAt: T0 + 10 }),
    ];
    for (const entry of entries) await stores.blocklist.insert(entry);
    const ids = (list: BlockEntry[]) => list.map((e) => e.id).sort();
    expect(
      ids(
        await stores.blocklist.candidates(
          { number: '+14155550123', country: 'US', ip: '198.51.100.7' },
          T0 + 5,
        ),
      ),
    ).toEqual(ids([entries[0]!, entries[1]!, entries[3]!, entries[4]!, entries[5]!, entries[6]!]));
    expect(
      ids(
        await stores.blocklist.candidates(
          { number: '+14155550123', country: undefined, ip: undefined },
          T0 + 10,
        ),
      ),
    ).toEqual(ids([entries[0]!, entries[1]!, entries[5]!]));
    expect((await stores.blocklist.list(T0 + 10, { kind: 'prefix' })).map((e) => e.value)).toEqual([
      '+1415',
      '+1416',
    ]);
    expect((await stores.blocklist.list(T0 + 10, { action: 'allow' })).map((e) => e.id)).toEqual([
      entries[4]!.id,
    ]);
    expect(await times(3, () => stores.blocklist.remove(entries[0]!.id))).toEqual(
      expect.arrayContaining([true, false, false]),
    );
  });

  it('concurrent automatic prefix blocks from two instances create exactly one entry per prefix', async () => {
    const { stores, openAnother } = ctx();
    const other = await openAnother();
    // Several rounds on warm connections: the first round alone is staggered by connection set-up.
    for (let round = 0; round < 5; round++) {
      const value = `+44770090${round}`;
      const results = await times(16, (i) =>
        (i % 2 === 0 ? stores : other).blocklist.insertAutoPrefixBlock(
          blockEntry({
            kind: 'prefix',
            value,
            reason: 'prefix_velocity',
            createdBy: 'auto',
            expiresAt: T0 + MINUTE,
          }),
          T0,
        ),
      );
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    }
    expect(await stores.blocklist.list(T0, { kind: 'prefix' })).toHaveLength(5);
    // Once it expired, a new automatic block may be created.
    expect(
      await stores.blocklist.insertAutoPrefixBlock(
        blockEntry({
          kind: 'prefix',
          value: '+447700900',
          createdBy: 'auto',
          expiresAt: T0 + 2 * MINUTE,
        }),
        T0 + MINUTE,
      ),
    ).toBeDefined();
  });

  it('per-app overrides are replaced as a whole', async () => {
    const { stores } = ctx();
    expect(await stores.appLimits.get('shop')).toBeUndefined();
    await stores.appLimits.put('shop', { rates: { 'number:10m': 2 }, blockVoip: true }, T0);
    await stores.appLimits.put('shop', { allowCountries: ['FR'] }, T0 + 1);
    expect(await stores.appLimits.get('shop')).toEqual({
      app: 'shop',
      overrides: { allowCountries: ['FR'] },
      updatedAt: T0 + 1,
    });
  });
}
