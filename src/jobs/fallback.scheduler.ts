import type { FlashCalls } from '../verification/fallback.service.js';
import type { Logger } from '../platform/logger.js';
import { createPeriodicTask, type PeriodicTask } from './periodic.js';

export type FallbackScheduler = PeriodicTask;

/**
 * Places due flash-call fallbacks. Every instance runs one; the database hands each due fallback
 * to exactly one of them (DeliveryStore.claimDue), so running several is safe and a restart picks
 * up whatever was due meanwhile.
 */
export function createFallbackScheduler(
  flashCalls: FlashCalls,
  options: { intervalMs: number; logger: Logger },
): FallbackScheduler {
  return createPeriodicTask(
    async () => {
      const placed = await flashCalls.runDue();
      if (placed > 0) options.logger.info({ placed }, 'fallback flash calls placed');
    },
    { name: 'fallback tick', ...options },
  );
}
