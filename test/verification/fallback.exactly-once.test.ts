/**
 * Threat: racing fallback triggers (provider failure, status callback, the client's request, the
 * scheduler on several instances) each placing a call: several paid calls for one verification,
 * and an attacker multiplying calls to a victim's phone. Exactly one trigger may win; a claim
 * whose instance died is taken over only after its lease.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNumberProtector } from '../../src/events/number-protection.js';
import { createStores } from '../../src/storage/index.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import {
  createTestApp,
  RELAXED_LIMITS,
  REPORTS_KEY,
  startVerification,
  TEST_STORAGE,
  type TestApp,
} from '../helpers/test-app.js';
import { flashCallsIn, RANGES } from '../delivery/helpers.js';

describe('a fallback is placed once, whatever races for it', () => {
  const apps: TestApp[] = [];
  // The second instance first: the first one owns (and on PostgreSQL drops) the database.
  afterEach(() =>
    apps
      .splice(0)
      .reverse()
      .forEach((a) => a.close()),
  );

  /** Two instances on one database: a SQLite file, or (TEST_STORAGE=postgres) one PostgreSQL database with a pool each. */
  async function twoInstances(): Promise<[TestApp, TestApp]> {
    const sqlitePath =
      TEST_STORAGE === 'sqlite'
        ? join(mkdtempSync(join(tmpdir(), 'otp-once-')), 'verify.db')
        : undefined;
    const clock = createFakeClock();
    const a = await createTestApp({
      env: { ...RELAXED_LIMITS, FLASHCALL_RANGES: RANGES },
      sqlitePath,
      clock,
    });
    const b = await createTestApp({
      env: { ...RELAXED_LIMITS, FLASHCALL_RANGES: RANGES },
      sameDatabaseAs: a,
      clock,
    });
    apps.push(a, b);
    return [a, b];
  }

  it('two schedulers sharing a database split 40 due fallbacks without a duplicate', async () => {
    const [a, b] = await twoInstances();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++)
      ids.push(
        (
          await startVerification(i % 2 ? a : b, {
            to: `+336123456${String(i).padStart(2, '0')}`,
            channel: 'auto',
          })
        ).id,
      );
    a.clock.advance(45_000);
    const placed = await Promise.all([
      a.deps.delivery.flashCalls!.runDue(10),
      b.deps.delivery.flashCalls!.runDue(10),
      a.deps.delivery.flashCalls!.runDue(),
      b.deps.delivery.flashCalls!.runDue(),
    ]);
    expect(placed.reduce((x, y) => x + y, 0)).toBe(40);
    const calls = [...a.outbox(), ...b.outbox()].filter((l) => l.channel === 'flashcall');
    expect(calls).toHaveLength(40);
    expect(new Set(calls.map((c) => c.verificationId)).size).toBe(40);
  });

  it('a provider failure, a failed-status callback, the client and the scheduler racing place one call', async () => {
    const [a, b] = await twoInstances();
    const started = await startVerification(a, { to: '+33612345678', channel: 'auto' });
    a.clock.advance(45_000);
    const fa = a.deps.delivery.flashCalls!;
    const fb = b.deps.delivery.flashCalls!;
    const outcomes = await Promise.all([
      fa.fallBack(started.id, 'provider_failed'),
      fb.fallBack(started.id, 'delivery_failed'),
      fb.fallBack(started.id, 'requested'),
      fa.runDue(),
      fb.runDue(),
    ]);
    expect(outcomes.filter((o) => o === true || o === 1)).toHaveLength(1);
    expect(flashCallsIn(a) + flashCallsIn(b)).toBe(1);
  });

  it('takes over a claim whose instance died before calling, only once its lease has passed', async () => {
    const [a] = await twoInstances();
    const started = await startVerification(a, { to: '+33612345678', channel: 'auto' });
    a.clock.advance(45_000);
    const store = createStores(a.storage, {
      clock: a.clock,
      protector: createNumberProtector(Buffer.from(REPORTS_KEY)),
    }).fallbacks;
    // An instance claims the fallback, then crashes before placing the call.
    expect(await store.claimDue(a.clock.now(), 'ins_dead', 60_000, 10)).toEqual([
      { verificationId: started.id, reason: 'no_check' },
    ]);
    const flash = a.deps.delivery.flashCalls!;
    a.clock.advance(59_999);
    expect(await flash.runDue()).toBe(0);
    a.clock.advance(1);
    expect(await flash.runDue()).toBe(1);
    expect(await flash.runDue()).toBe(0);
    expect(flashCallsIn(a, started.id)).toBe(1);
  });
});
