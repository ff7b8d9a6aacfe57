import type { CounterState } from '../limits/limits.store.js';

/** A rate_counters row as both dialects return it from raw SQL (PostgreSQL's bigint comes as a string). */
export interface CounterRow {
  key: string;
  points: number | string;
  expires_at: number | string;
}

/**
 * A batch's rows (in whatever order the statement returned them) in the order of its keys; a key
 * without a row is absent or expired (peeks).
 */
export function inOrder(keys: readonly string[], rows: readonly CounterRow[], now: number, expectEvery: boolean): CounterState[] {
  const byKey = new Map(rows.map((row) => [row.key, row]));
  return keys.map((key) => {
    const row = byKey.get(key);
    if (!row) {
      if (expectEvery) throw new Error(`counter batch returned no row for ${key}`);
      return { points: 0, resetInMs: 0 };
    }
    return { points: Number(row.points), resetInMs: Math.max(0, Number(row.expires_at) - now) };
  });
}

/**
 * Refuses a batch that names a key twice, before it runs: one upsert of a key twice would apply
 * both (SQLite) or fail (PostgreSQL), and the two totals could not be told apart.
 */
export function assertDistinct(batch: readonly { key: string }[]): void {
  if (new Set(batch.map((h) => h.key)).size !== batch.length) throw new Error('counter batch with duplicate keys');
}
