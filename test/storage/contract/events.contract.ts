import { expect, it } from 'vitest';
import { protector, type StoreContext } from './backends.js';
import { T0, times } from './fixtures.js';

/**
 * The event record and its retention. Exploitable if broken: a phone number stored in clear, a
 * retention purge that deletes recent records or the same record twice.
 */
export function eventsContract(ctx: () => StoreContext): void {
  it('never stores a number in clear: a keyed hash, a ciphertext and the prefix', async () => {
    const { stores, query } = ctx();
    await stores.events.record({
      at: T0,
      kind: 'failure',
      reason: 'incorrect_code',
      app: 'shop',
      number: '+14155550123',
      rule: 'r',
      details: { attempts: 2 },
      ip: '198.51.100.7',
    });
    await stores.events.record({ at: T0 + 1, kind: 'success', reason: 'approved', details: {} });
    const rows = await query<Record<string, unknown>>('SELECT * FROM events ORDER BY id');
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toContain('4155550123');
    const [first, second] = rows;
    const expected = protector.protect('+14155550123');
    expect(first).toMatchObject({
      app: 'shop',
      kind: 'failure',
      reason: 'incorrect_code',
      rule: 'r',
      details: '{"attempts":2}',
      number_hash: expected.hash,
      prefix: expected.prefix,
      ip: '198.51.100.7',
    });
    expect(protector.reveal(first!.number_enc as string)).toBe('+14155550123');
    expect(Number(first!.at)).toBe(T0);
    expect(second).toMatchObject({ details: null, number_hash: null, number_enc: null });
  });

  it('deletes only records older than the cutoff, at most `limit` per call, never one twice under concurrency', async () => {
    const { stores, query } = ctx();
    for (let i = 0; i < 30; i++)
      await stores.events.record({ at: T0 + i, kind: 'failure', reason: 'incorrect_code' });
    expect(await stores.eventRetention.deleteOlderThan(T0 + 5, 3)).toBe(3);
    const concurrent = await times(4, () => stores.eventRetention.deleteOlderThan(T0 + 25, 10));
    expect(concurrent.reduce((a, b) => a + b, 0)).toBe(22);
    const left = await query<{ at: number | string }>('SELECT at FROM events ORDER BY at');
    expect(left.map((r) => Number(r.at))).toEqual([25, 26, 27, 28, 29].map((i) => T0 + i));
  });
}
