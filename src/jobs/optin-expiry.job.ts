import type { OptinService } from '../optin/optin.service.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';

export interface OptinExpiryJob {
  start(): void;
  /** Stops and resolves once the tick in flight (if any) has finished. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

/**
 * Expires pending sign-ups whose window ended (each gets its `expired` ledger entry, written with
 * the change) and applies the ledger retention policy. Safe on every instance: the store hands each
 * expired row to exactly one sweep. Reads also sweep, so the job only keeps the ledger timely.
 */
export function createOptinExpiryJob(optin: OptinService, options: { intervalMs: number; retentionDays: number; clock: Clock; logger: Logger }): OptinExpiryJob {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function run(): Promise<void> {
    const expired = await optin.expireDue();
    if (expired > 0) options.logger.info({ expired }, 'pending opt-in sign-ups expired');
    if (options.retentionDays > 0) {
      const purged = await optin.purgeLedger(options.clock.now() - options.retentionDays * DAY_MS);
      if (purged > 0) options.logger.info({ purged, retentionDays: options.retentionDays }, 'consent ledger entries past retention deleted');
    }
  }

  const tick = (): void => {
    if (running) return;
    running = run()
      .catch((error: unknown) => options.logger.error({ err: error }, 'opt-in expiry tick failed'))
      .finally(() => {
        running = undefined;
      });
  };

  return {
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, options.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
