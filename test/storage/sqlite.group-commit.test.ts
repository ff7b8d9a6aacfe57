/**
 * Exploitable or harmful without these: SQLite commits a turn's writes together
 * (src/storage/sqlite/commit-group.ts). If the API answered before that commit, a crash could lose
 * an acknowledged approval or attempt (a brute-forcer gets fresh guesses) or a failure record; if a
 * code left before its verification was committed, a crash could leave a code in the world for a
 * verification that no longer exists, or a fallback call placed twice because its claim was lost;
 * if two connections of one process waited on each other, every request would stall.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { SmsProvider } from '../../src/delivery/provider.js';
import { openSqlite, type SqliteHandle } from '../../src/storage/sqlite/db.js';
import { createSqliteCounterStore } from '../../src/storage/sqlite/limits.store.js';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createTestApp, RELAXED_LIMITS } from '../helpers/test-app.js';

const dbFile = (): string => join(mkdtempSync(join(tmpdir(), 'otp-group-')), 'verify.db');

describe('group commit on SQLite', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((close) => close()));

  function open(path: string): SqliteHandle {
    const handle = openSqlite(path);
    cleanup.push(() => handle.close());
    return handle;
  }

  function observer(path: string): Database.Database {
    const db = new Database(path, { readonly: true });
    cleanup.push(() => db.close());
    return db;
  }

  it('the writing connection reads its write at once; others see it once settled() resolves', async () => {
    const path = dbFile();
    const handle = open(path);
    const other = observer(path);
    const counters = createSqliteCounterStore(handle.db, createFakeClock());
    await counters.hit('k', 60_000);
    expect((await counters.peek('k')).points).toBe(1);
    const seen = () =>
      other.prepare("SELECT count(*) AS n FROM rate_counters WHERE key = 'k'").get() as {
        n: number;
      };
    expect(seen().n).toBe(0);
    await handle.settled();
    expect(seen().n).toBe(1);
  });

  it('answers a start only once the verification, its delivery and its events are committed', async () => {
    const path = dbFile();
    const t = await createTestApp({ sqlitePath: path, env: RELAXED_LIMITS });
    cleanup.push(() => t.close());
    const other = observer(path);
    const response = await t.call('POST', '/v1/verifications', { body: { to: '+33612345678' } });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    // Read from another connection right away, as another instance or a restarted process would.
    expect(other.prepare('SELECT status FROM verifications WHERE id = ?').get(id)).toEqual({
      status: 'pending',
    });
    expect(
      other.prepare('SELECT status FROM deliveries WHERE verification_id = ?').get(id),
    ).toEqual({ status: 'sent' });
    const reasons = other
      .prepare('SELECT reason FROM events WHERE verification_id = ? ORDER BY id')
      .all(id) as { reason: string }[];
    expect(reasons.map((r) => r.reason)).toEqual(['started', 'sent']);
  });

  it('answers a wrong code only once the spent attempt and its failure record are committed', async () => {
    const path = dbFile();
    const t = await createTestApp({ sqlitePath: path, env: RELAXED_LIMITS });
    cleanup.push(() => t.close());
    const other = observer(path);
    const started = await t.call('POST', '/v1/verifications', { body: { to: '+33612345678' } });
    const { id } = (await started.json()) as { id: string };
    const wrong = t.codeFor(id) === '000000' ? '000001' : '000000';
    const response = await t.call('POST', `/v1/verifications/${id}/check`, {
      body: { code: wrong },
    });
    expect(response.status).toBe(422);
    expect(other.prepare('SELECT attempts FROM verifications WHERE id = ?').get(id)).toEqual({
      attempts: 1,
    });
    expect(
      other
        .prepare(
          "SELECT count(*) AS n FROM events WHERE verification_id = ? AND reason = 'incorrect_code'",
        )
        .get(id),
    ).toEqual({ n: 1 });
  });

  it('hands a code to the provider only once its verification and delivery are committed', async () => {
    const path = dbFile();
    let other: Database.Database | undefined;
    const seenAtSend: unknown[] = [];
    const sms: SmsProvider = {
      name: 'spy',
      send(message) {
        other ??= observer(path);
        const verification = other
          .prepare('SELECT status FROM verifications WHERE id = ?')
          .get(message.verificationId);
        const delivery = other
          .prepare('SELECT status FROM deliveries WHERE verification_id = ?')
          .get(message.verificationId);
        seenAtSend.push({ verification, delivery });
        return Promise.resolve({ status: 'sent', providerMessageId: 'spy-1' });
      },
    };
    const t = await createTestApp({ sqlitePath: path, env: RELAXED_LIMITS, sms });
    cleanup.push(() => t.close());
    const response = await t.call('POST', '/v1/verifications', { body: { to: '+33612345678' } });
    expect(response.status).toBe(201);
    expect(seenAtSend).toEqual([
      { verification: { status: 'pending' }, delivery: { status: 'queued' } },
    ]);
  });

  it('two connections of one process writing in the same turn neither wait on each other nor lose a write', async () => {
    const path = dbFile();
    const clock = createFakeClock();
    const a = createSqliteCounterStore(open(path).db, clock);
    const b = createSqliteCounterStore(open(path).db, clock);
    const started = performance.now();
    // No await in between: every hit runs in this one turn, alternating connections.
    const hits = Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).hit('shared', 60_000));
    const totals = (await Promise.all(hits)).map((h) => h.points);
    // busy_timeout is 5 s: a connection waiting for the other's lock would take that long, then fail.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect([...totals].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('a commit that fails rejects settled(), and the connection keeps working', async () => {
    const handle = open(dbFile());
    const clock = createFakeClock();
    // A foreign key checked at COMMIT: a recovery code for a factor that does not exist.
    handle.raw.pragma('defer_foreign_keys = ON');
    handle.raw
      .prepare(
        "INSERT INTO factor_recovery_codes (id, factor_id, code_hash, created_at) VALUES ('r1', 'no-such-factor', 'h', 0)",
      )
      .run();
    await expect(handle.settled()).rejects.toThrow(/FOREIGN KEY/);
    expect(handle.raw.inTransaction).toBe(false);
    expect(handle.raw.prepare('SELECT count(*) AS n FROM factor_recovery_codes').get()).toEqual({
      n: 0,
    });
    const counters = createSqliteCounterStore(handle.db, clock);
    await counters.hit('after', 60_000);
    await expect(handle.settled()).resolves.toBeUndefined();
    expect((await counters.peek('after')).points).toBe(1);
  });

  it('close() commits what is pending', () => {
    const path = dbFile();
    const handle = openSqlite(path);
    handle.raw
      .prepare("INSERT INTO rate_counters (key, points, expires_at) VALUES ('closing', 1, 9e15)")
      .run();
    handle.close();
    const other = observer(path);
    expect(other.prepare("SELECT points FROM rate_counters WHERE key = 'closing'").get()).toEqual({
      points: 1,
    });
  });
});
