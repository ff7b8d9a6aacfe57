import type { OptinService } from '../optin/optin.service.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { createPeriodicTask, type PeriodicTask } from './periodic.js';

export type OptinExpiryJob = PeriodicTask;

const DAY_MS = 86_400_000;

/**
 * Expires pending sign-ups whose window ended (each gets its `expired` ledger entry, written with
 * the change) and applies the ledger retention policy. Safe on every instance: the store hands each
 * expired row to exactly one sweep. Reads also sweep, so the job only keeps the ledger timely.
 */
export function createOptinExpiryJob(
  optin: OptinService,
  options: { intervalMs: number; retentionDays: number; clock: Clock; logger: Logger },
): OptinExpiryJob {
  const { logger, retentionDays, clock } = options;
  return createPeriodicTask(
    async () => {
      const expired = await optin.expireDue();
      if (expired > 0) logger.info({ expired }, 'pending opt-in sign-ups expired');
      if (retentionDays > 0) {
        const purged = await optin.purgeLedger(clock.now() - retentionDays * DAY_MS);
        if (purged > 0)
          logger.info({ purged, retentionDays }, 'consent ledger entries past retention deleted');
      }
    },
    { name: 'opt-in expiry tick', intervalMs: options.intervalMs, logger },
  );
}
