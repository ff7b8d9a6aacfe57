// The contract every limit relies on: a hit returns a distinct total under concurrency, a hold is
// never shortened, and a restart-proof store does not grow without bound.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CounterStore } from '../../src/limits/limits.store.js';
import { createRedisCounterStore } from '../../src/storage/redis/limits.store.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createSqliteCounterStore } from '../../src/storage/sqlite/limits.store.js';
import { createFakeClock } from '../helpers/fake-clock.js';

const REDIS_URL = process.env.REDIS_URL;
if (!REDIS_URL) console.warn('limits.counter-store.test.ts: REDIS_URL is not set, so the Redis run of the counter contract is skipped.');

const stores: [string, () => Promise<CounterStore>, boolean][] = [
  ['sqlite', () => Promise.resolve(createSqliteCounterStore(openSqlite(':memory:').db, createFakeClock())), true],
  ['redis', () => createRedisCounterStore({ url: REDIS_URL ?? '', keyPrefix: `test-${randomUUID().slice(0, 8)}`, onFallback: () => undefined }), REDIS_URL !== undefined],
];

describe.each(stores)('counter store contract: %s', (_name, create, enabled) => {
  it.skipIf(!enabled)('returns N distinct totals to N concurrent hits', async () => {
    const store = await create();
    const totals = await Promise.all(Array.from({ length: 50 }, () => store.hit('k', 60_000)));
    expect(totals.map((t) => t.points).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(totals.every((t) => t.resetInMs > 0 && t.resetInMs <= 60_000)).toBe(true);
    await store.close();
  });

  it.skipIf(!enabled)('batches: hits and peeks in the order given, and hits in order stop after the first over its limit', async () => {
    const store = await create();
    await store.hit('b', 60_000, 2);
    expect((await store.hitMany([{ key: 'a', windowMs: 60_000 }, { key: 'b', windowMs: 60_000, cost: 3 }])).map((c) => c.points)).toEqual([1, 5]);
    expect((await store.peekMany(['b', 'none', 'a'])).map((c) => c.points)).toEqual([5, 0, 1]);
    const rules = [
      { key: 'narrow', windowMs: 60_000, limit: 1 },
      { key: 'wide', windowMs: 60_000, limit: 100 },
    ];
    expect((await store.hitUntil(rules)).map((c) => c.points)).toEqual([1, 1]);
    expect((await store.hitUntil(rules)).map((c) => c.points)).toEqual([2]);
    expect((await store.peek('wide')).points).toBe(1);
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => store.hitMany([{ key: 'x', windowMs: 60_000 }, { key: 'y', windowMs: 60_000 }])));
    expect(concurrent.map(([x]) => x?.points).sort((p, q) => (p ?? 0) - (q ?? 0))).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await store.close();
  });

  it.skipIf(!enabled)('a batch of peeks gives each key its own count and remaining window; a hit of cost 0 opens a window at 0', async () => {
    const store = await create();
    await store.hitMany([
      { key: 'minute', windowMs: 60_000, cost: 2 },
      { key: 'hour', windowMs: 3_600_000 },
      { key: 'opened', windowMs: 60_000, cost: 0 },
    ]);
    const [minute, missing, hour, opened] = await store.peekMany(['minute', 'missing', 'hour', 'opened']);
    expect(minute?.points).toBe(2);
    expect(minute?.resetInMs).toBeGreaterThan(50_000);
    expect(minute?.resetInMs).toBeLessThanOrEqual(60_000);
    expect(missing).toEqual({ points: 0, resetInMs: 0 });
    expect(hour?.points).toBe(1);
    expect(hour?.resetInMs).toBeGreaterThan(3_500_000);
    expect(hour?.resetInMs).toBeLessThanOrEqual(3_600_000);
    expect(opened?.points).toBe(0);
    expect(await store.peekMany([])).toEqual([]);
    await store.close();
  });

  it.skipIf(!enabled)('reads without counting, and a hold is never shortened', async () => {
    const store = await create();
    expect(await store.peek('absent')).toEqual({ points: 0, resetInMs: 0 });
    await store.hit('c', 60_000, 3);
    expect((await store.hit('c', 60_000, 0)).points).toBe(3);
    await store.hold('h', 120_000);
    await store.hold('h', 10_000);
    const held = await store.peek('h');
    expect(held.points).toBeGreaterThan(0);
    expect(held.resetInMs).toBeGreaterThan(100_000);
    await store.close();
  });
});

describe('SQLite counter store', () => {
  it('starts a new window when the old one has ended', async () => {
    const clock = createFakeClock();
    const store = createSqliteCounterStore(openSqlite(':memory:').db, clock);
    await store.hit('k', 60_000);
    clock.advance(30_000);
    expect(await store.hit('k', 60_000)).toEqual({ points: 2, resetInMs: 30_000 });
    clock.advance(30_000);
    expect(await store.hit('k', 60_000)).toEqual({ points: 1, resetInMs: 60_000 });
  });

  it('purges ended windows as it goes', async () => {
    const clock = createFakeClock();
    const handle = openSqlite(':memory:');
    const store = createSqliteCounterStore(handle.db, clock);
    for (let i = 0; i < 999; i++) await store.hit(`old-${i}`, 1_000);
    clock.advance(2_000);
    await store.hit('fresh', 1_000);
    const rows = handle.raw.prepare('SELECT count(*) AS n FROM rate_counters').get() as { n: number };
    expect(rows.n).toBe(1);
  });
});
