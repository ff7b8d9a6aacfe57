import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { createPeriodicTask } from './periodic.js';
import type { EventRetentionStore } from './retention.store.js';

const DAY_MS = 86_400_000;

export interface RetentionJobDeps {
  store: EventRetentionStore;
  clock: Clock;
  logger: Logger;
  retentionDays: number;
  batchSize: number;
}

export interface RetentionJob {
  /** Purges every record older than the retention period, batch by batch; resolves with the count. */
  runOnce(): Promise<number>;
  /** Runs `runOnce` now and then every `intervalMs`, never two at a time. Returns a stop function. */
  start(intervalMs: number): () => void;
}

/** Lets requests run between two batches: a large purge never holds the event loop or the write lock for long. */
const yieldToRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Deletes event records older than RETENTION_DAYS (GDPR art. 5(1)(e): kept no longer than needed). */
export function createRetentionJob(deps: RetentionJobDeps): RetentionJob {
  let running: Promise<number> | undefined;

  async function purge(): Promise<number> {
    const cutoff = deps.clock.now() - deps.retentionDays * DAY_MS;
    let total = 0;
    for (;;) {
      const deleted = await deps.store.deleteOlderThan(cutoff, deps.batchSize);
      total += deleted;
      if (deleted < deps.batchSize) break;
      await yieldToRequests();
    }
    if (total > 0)
      deps.logger.info(
        {
          deleted: total,
          cutoff: new Date(cutoff).toISOString(),
          retentionDays: deps.retentionDays,
        },
        'retention: purged event records',
      );
    return total;
  }

  function runOnce(): Promise<number> {
    running ??= purge().finally(() => {
      running = undefined;
    });
    return running;
  }

  return {
    runOnce,
    start(intervalMs) {
      const task = createPeriodicTask(
        async () => {
          await runOnce();
        },
        { name: 'retention: purge', intervalMs, logger: deps.logger },
      );
      task.start();
      return () => void task.stop();
    },
  };
}
