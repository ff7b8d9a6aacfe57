import { afterEach, describe, expect, it } from 'vitest';
import { createRetentionJob } from '../../src/jobs/retention.js';
import type { EventRetentionStore } from '../../src/jobs/retention.store.js';
import { createLogger } from '../../src/platform/logger.js';
import { createSqliteEventRetentionStore } from '../../src/storage/sqlite/retention.store.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const DAY = 86_400_000;

describe('retention: records older than RETENTION_DAYS are purged in batches', () => {
  let t: TestApp;
  afterEach(() => t.close());

  async function seed(count: number, at: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      await t.deps.events.record({
        at: at + i,
        kind: 'failure',
        reason: 'incorrect_code',
        number: '+33612345678',
        ip: '203.0.113.5',
      });
    }
  }

  const remaining = (): number =>
    (t.database.raw.prepare('select count(*) as n from events').get() as { n: number }).n;

  it('deletes exactly the records past the retention period, at the boundary too', async () => {
    t = await createTestApp({ env: { RETENTION_DAYS: '30' } });
    const now = t.clock.now();
    await seed(3, now - 31 * DAY);
    await t.deps.events.record({ at: now - 30 * DAY - 1, kind: 'failure', reason: 'expired' });
    await t.deps.events.record({ at: now - 30 * DAY, kind: 'failure', reason: 'expired' });
    await seed(2, now - DAY);
    expect(await t.deps.jobs.retention.runOnce()).toBe(4);
    expect(remaining()).toBe(3);
    expect(await t.deps.jobs.retention.runOnce()).toBe(0);

    t.clock.advance(DAY);
    expect(await t.deps.jobs.retention.runOnce()).toBe(1);
    expect(remaining()).toBe(2);
  });

  it('works in batches of RETENTION_BATCH_SIZE and lets requests through between batches', async () => {
    t = await createTestApp({ env: { RETENTION_DAYS: '90', RETENTION_BATCH_SIZE: '100' } });
    await seed(1000, t.clock.now() - 100 * DAY);
    await seed(5, t.clock.now() - DAY);
    const sqlite = createSqliteEventRetentionStore(t.database.db);
    const batches: number[] = [];
    const store: EventRetentionStore = {
      async deleteOlderThan(cutoff, limit) {
        const deleted = await sqlite.deleteOlderThan(cutoff, limit);
        batches.push(deleted);
        return deleted;
      },
    };
    const job = createRetentionJob({
      store,
      clock: t.clock,
      logger: createLogger({ level: 'silent' }),
      retentionDays: 90,
      batchSize: 100,
    });

    const order: string[] = [];
    const purge = job.runOnce().then((n) => order.push(`purged ${n}`));
    const again = job.runOnce();
    const request = t.call('GET', '/healthz').then((r) => order.push(`request ${r.status}`));
    await Promise.all([purge, request, again]);

    expect(order).toEqual(['request 200', 'purged 1000']);
    expect(batches).toEqual([100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 0]);
    expect(remaining()).toBe(5);
  });
});
