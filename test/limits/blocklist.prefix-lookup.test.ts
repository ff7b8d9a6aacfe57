/**
 * Exploitable without this: a blocked prefix that stops matching lets pumping resume; a lookup that
 * reads every prefix entry makes each start slower as automatic blocks pile up over the years.
 * The store finds prefix entries by the number's own prefixes (an index lookup per prefix).
 */
import { describe, expect, it } from 'vitest';
import type { BlockEntry } from '../../src/limits/limits.store.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createSqliteBlocklistStore } from '../../src/storage/sqlite/limits.store.js';

const NOW = Date.UTC(2026, 0, 1);

function entry(value: string, expiresAt: number | null = null): BlockEntry {
  return {
    id: `blk_${value}_${expiresAt ?? 'never'}`,
    kind: 'prefix',
    value,
    action: 'block',
    reason: 'test',
    createdBy: 'test',
    createdAt: NOW,
    expiresAt,
  };
}

describe('blocklist candidates for a number', () => {
  it('returns exactly the unexpired prefix entries that begin the number, from "+" and one digit to the whole number', async () => {
    const store = createSqliteBlocklistStore(openSqlite(':memory:').db);
    const matching = ['+3', '+33', '+336', '+3361234', '+3361234567', '+33612345678'];
    const other = ['+4', '+337', '+33612345679', '+336123456789', '+44612345678', '3361'];
    for (const value of [...matching, ...other]) await store.insert(entry(value));
    await store.insert(entry('+3361', NOW - 1));
    await store.insert(entry('+33612', NOW + 60_000));
    const found = await store.candidates(
      { number: '+33612345678', country: undefined, ip: undefined },
      NOW,
    );
    expect(found.map((e) => e.value).sort()).toEqual([...matching, '+33612'].sort());
  });

  it('matches the longest E.164 number (15 digits) by its whole value', async () => {
    const store = createSqliteBlocklistStore(openSqlite(':memory:').db);
    const longest = '+123456789012345';
    await store.insert(entry(longest));
    await store.insert(entry('+1234567890123456'));
    const found = await store.candidates(
      { number: longest, country: undefined, ip: undefined },
      NOW,
    );
    expect(found.map((e) => e.value)).toEqual([longest]);
  });
});
