import { describe, expect, it } from 'vitest';
import { isId, newId } from '../../src/platform/ids.js';

describe('ids', () => {
  it('are 26 Crockford base32 characters after the prefix, and unique', () => {
    const ids = Array.from({ length: 5000 }, () => newId('ver', Date.now()));
    expect(ids.every((id) => isId('ver', id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(isId('dlv', ids[0]!)).toBe(false);
  });

  it('sort by the time they were made (new rows go to the right edge of an index)', () => {
    const times = [
      0,
      1,
      31,
      32,
      1_700_000_000_000,
      1_700_000_000_001,
      1_800_000_000_000,
      2 ** 48 - 1,
    ];
    const ids = times.map((t) => newId('ver', t));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]!.slice(4, 14)).toBe('0000000000');
    expect(ids.at(-1)!.slice(4, 14)).toBe('7zzzzzzzzz'); // 48 bits in 50: the ULID layout
  });

  it('keep 80 random bits: ids of the same millisecond differ in their random part, evenly spread', () => {
    const ids = Array.from({ length: 2000 }, () => newId('x', 1_700_000_000_000));
    expect(new Set(ids.map((id) => id.slice(2, 12))).size).toBe(1);
    expect(new Set(ids.map((id) => id.slice(12))).size).toBe(ids.length);
    // Every character of the random part takes each of the 32 values about equally often.
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(12)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    const expected = (ids.length * 16) / 32;
    for (const n of counts.values()) expect(Math.abs(n - expected) / expected).toBeLessThan(0.15);
  });
});
