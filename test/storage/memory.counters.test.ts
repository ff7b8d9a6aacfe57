/**
 * Exploitable without this: counters kept in memory (SQLite without Redis, one instance) that are
 * not written behind, or not loaded back, hand every restart a fresh budget of starts and guesses;
 * lock-out state written behind could be lifted by a crash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNumberProtector } from '../../src/events/number-protection.js';
import { isDurableKey } from '../../src/limits/limits.counters.js';
import { createStores } from '../../src/storage/index.js';
import { createWriteBehindCounters } from '../../src/storage/memory/counters.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createFakeClock } from '../helpers/fake-clock.js';

const protector = createNumberProtector(Buffer.alloc(32, 7));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(path: string) {
  const database = openSqlite(path);
  const clock = createFakeClock();
  const stores = createStores(database, { clock, protector });
  const rows = (): { key: string; points: number }[] =>
    database.raw.prepare('SELECT key, points FROM rate_counters ORDER BY key').all() as {
      key: string;
      points: number;
    }[];
  return { database, clock, snapshot: stores.counterSnapshot!, rows };
}

describe('counters in memory, written behind to SQLite', () => {
  it('writes pending counts on flush and on close, and loads them back at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-memory-counters-'));
    dirs.push(dir);
    const path = join(dir, 'verify.db');
    const first = open(path);
    const counters = createWriteBehindCounters({
      snapshot: first.snapshot,
      clock: first.clock,
      writeThrough: isDurableKey,
      flushEveryMs: 60_000,
    });
    await counters.hitMany([
      { key: 'rate:a', windowMs: 60_000, cost: 2 },
      { key: 'rate:b', windowMs: 60_000 },
    ]);
    expect(first.rows()).toEqual([]);
    counters.flush();
    expect(first.rows()).toEqual([
      { key: 'rate:a', points: 2 },
      { key: 'rate:b', points: 1 },
    ]);
    await counters.hit('rate:a', 60_000);
    await counters.close();
    first.database.close();

    const second = open(path);
    const again = createWriteBehindCounters({
      snapshot: second.snapshot,
      clock: second.clock,
      writeThrough: isDurableKey,
    });
    expect((await again.peekMany(['rate:a', 'rate:b'])).map((c) => c.points)).toEqual([3, 1]);
    await again.close();
    second.database.close();
  });

  it('writes lock-out state through at once (a crash cannot lift a hold)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-memory-counters-'));
    dirs.push(dir);
    const { database, clock, snapshot, rows } = open(join(dir, 'verify.db'));
    const counters = createWriteBehindCounters({
      snapshot,
      clock,
      writeThrough: isDurableKey,
      flushEveryMs: 60_000,
    });
    await counters.hold('hold:acme:+33612345678', 60_000);
    await counters.hit('lockouts:acme:+33612345678', 86_400_000);
    await counters.hit('rate:number:10m:acme:+33612345678', 600_000);
    expect(rows()).toEqual([
      { key: 'hold:acme:+33612345678', points: 1 },
      { key: 'lockouts:acme:+33612345678', points: 1 },
    ]);
    await counters.close();
    database.close();
  });

  it('writes behind at least every flushEveryMs on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'otp-memory-counters-'));
    dirs.push(dir);
    const { database, clock, snapshot, rows } = open(join(dir, 'verify.db'));
    const counters = createWriteBehindCounters({
      snapshot,
      clock,
      writeThrough: isDurableKey,
      flushEveryMs: 50,
    });
    await counters.hit('rate:x', 60_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(rows()).toEqual([{ key: 'rate:x', points: 1 }]);
    await counters.close();
    database.close();
  });
});
