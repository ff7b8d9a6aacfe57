import type { Logger } from '../platform/logger.js';

export interface PeriodicTask {
  /** Runs the task now and then every `intervalMs`; runs never overlap (a tick during a run is skipped). */
  start(): void;
  /** Stops the timer and resolves once the run in flight (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * A background job's loop, shared by every job: an unref'd timer (it never keeps the process
 * alive), no overlapping runs, and a failed run logged with the job's name instead of thrown.
 */
export function createPeriodicTask(
  run: () => Promise<void>,
  options: { name: string; intervalMs: number; logger: Logger },
): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const tick = (): void => {
    if (running) return;
    running = run()
      .catch((error: unknown) =>
        options.logger.error({ err: error, job: options.name }, `${options.name} failed`),
      )
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
