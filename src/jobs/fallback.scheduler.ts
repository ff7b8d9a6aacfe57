import type { FlashCalls } from '../delivery/flashcall.service.js';
import type { Logger } from '../platform/logger.js';

export interface FallbackScheduler {
  /** Starts polling every `intervalMs`; ticks never overlap. */
  start(): void;
  /** Stops polling and resolves once the tick in flight (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * Places due flash-call fallbacks. Every instance runs one; the database hands each due fallback
 * to exactly one of them (DeliveryStore.claimDue), so running several is safe and a restart picks
 * up whatever was due meanwhile.
 */
export function createFallbackScheduler(flashCalls: FlashCalls, options: { intervalMs: number; logger: Logger }): FallbackScheduler {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const tick = (): void => {
    if (running) return;
    running = flashCalls
      .runDue()
      .then((placed) => {
        if (placed > 0) options.logger.info({ placed }, 'fallback flash calls placed');
      })
      .catch((error: unknown) => options.logger.error({ err: error }, 'fallback tick failed'))
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
