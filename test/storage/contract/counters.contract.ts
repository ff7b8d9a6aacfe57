import { expect, it } from 'vitest';
import type { CounterContext } from './backends.js';

/**
 * The counter contract every limit relies on, on every counter backend (the database's table, or
 * Redis when REDIS_URL is set): a hit returns a distinct total under concurrency, batches count as
 * hits one by one and stop after the first over its limit, a peek never counts, a hold is never
 * shortened. Broken, a rate limit lets through more than its budget. These cases run on each
 * backend's own clock (Redis keeps its windows by its own TTLs), so they assert bounds, not exact times.
 */
export function countersContract(ctx: () => CounterContext): void {
  it('returns N distinct totals to N concurrent hits', async () => {
    const { counters } = ctx();
    const totals = await Promise.all(Array.from({ length: 50 }, () => counters.hit('k', 60_000)));
    expect(totals.map((t) => t.points).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(totals.every((t) => t.resetInMs > 0 && t.resetInMs <= 60_000)).toBe(true);
  });

  it('batches: hits and peeks in the order given, and hits in order stop after the first over its limit', async () => {
    const { counters } = ctx();
    await counters.hit('b', 60_000, 2);
    expect(
      (
        await counters.hitMany([
          { key: 'a', windowMs: 60_000 },
          { key: 'b', windowMs: 60_000, cost: 3 },
        ])
      ).map((c) => c.points),
    ).toEqual([1, 5]);
    expect((await counters.peekMany(['b', 'none', 'a'])).map((c) => c.points)).toEqual([5, 0, 1]);
    const rules = [
      { key: 'narrow', windowMs: 60_000, limit: 1 },
      { key: 'wide', windowMs: 60_000, limit: 100 },
    ];
    expect((await counters.hitUntil(rules)).map((c) => c.points)).toEqual([1, 1]);
    expect((await counters.hitUntil(rules)).map((c) => c.points)).toEqual([2]);
    expect((await counters.peek('wide')).points).toBe(1);
    const concurrent = await Promise.all(
      Array.from({ length: 20 }, () =>
        counters.hitMany([
          { key: 'x', windowMs: 60_000 },
          { key: 'y', windowMs: 60_000 },
        ]),
      ),
    );
    expect(concurrent.map(([x]) => x?.points).sort((p, q) => (p ?? 0) - (q ?? 0))).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
  });

  it('a batch of peeks gives each key its own count and remaining window; a hit of cost 0 opens a window at 0', async () => {
    const { counters } = ctx();
    await counters.hitMany([
      { key: 'minute', windowMs: 60_000, cost: 2 },
      { key: 'hour', windowMs: 3_600_000 },
      { key: 'opened', windowMs: 60_000, cost: 0 },
    ]);
    const [minute, missing, hour, opened] = await counters.peekMany([
      'minute',
      'missing',
      'hour',
      'opened',
    ]);
    expect(minute?.points).toBe(2);
    expect(minute?.resetInMs).toBeGreaterThan(50_000);
    expect(minute?.resetInMs).toBeLessThanOrEqual(60_000);
    expect(missing).toEqual({ points: 0, resetInMs: 0 });
    expect(hour?.points).toBe(1);
    expect(hour?.resetInMs).toBeGreaterThan(3_500_000);
    expect(hour?.resetInMs).toBeLessThanOrEqual(3_600_000);
    expect(opened?.points).toBe(0);
    expect(await counters.peekMany([])).toEqual([]);
  });

  it('reads without counting, and a hold is never shortened', async () => {
    const { counters } = ctx();
    expect(await counters.peek('absent')).toEqual({ points: 0, resetInMs: 0 });
    await counters.hit('c', 60_000, 3);
    expect((await counters.hit('c', 60_000, 0)).points).toBe(3);
    await counters.hold('h', 120_000);
    await counters.hold('h', 10_000);
    const held = await counters.peek('h');
    expect(held.points).toBeGreaterThan(0);
    expect(held.resetInMs).toBeGreaterThan(100_000);
  });
}
