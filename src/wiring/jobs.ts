import type { Config } from '../config.js';
import { createFallbackScheduler } from '../jobs/fallback.scheduler.js';
import { createOptinExpiryJob } from '../jobs/optin-expiry.job.js';
import { createRetentionJob, type RetentionJob } from '../jobs/retention.js';
import type { EventRetentionStore } from '../jobs/retention.store.js';
import type { OptinService } from '../optin/optin.service.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { FlashCalls } from '../verification/fallback.service.js';
import type { WebhookWorker } from '../webhooks/worker.js';

/** Every background job of an instance, built in one place; main.ts starts and stops them, tests run them once. */
export interface Jobs {
  /** Purges expired event records (tests call runOnce). */
  retention: RetentionJob;
  /** Delivers the webhook outbox (tests call runOnce). */
  webhooks: WebhookWorker;
  /** Starts every job's timer (never from createApp: building an app has no side effects). */
  start(): void;
  /** Stops every timer and resolves once the runs in flight have finished. */
  stop(): Promise<void>;
}

export interface JobsInput {
  config: Config;
  clock: Clock;
  logger: Logger;
  eventRetention: EventRetentionStore;
  optin: OptinService;
  /** Absent without FLASHCALL_RANGES: no fallback scheduler then. */
  flashCalls: FlashCalls | undefined;
  webhooks: WebhookWorker;
  /** Keeps this instance's view of the webhook subscriptions within a second of the database's. */
  webhookSubscriptions?: { start(): () => void };
}

export function createJobs(input: JobsInput): Jobs {
  const { config, clock, logger } = input;
  const retention = createRetentionJob({
    store: input.eventRetention,
    clock,
    logger,
    retentionDays: config.reports.retentionDays,
    batchSize: config.reports.retentionBatchSize,
  });
  const scheduler = input.flashCalls
    ? createFallbackScheduler(input.flashCalls, { intervalMs: config.fallback.pollMs, logger })
    : undefined;
  const optinExpiry = createOptinExpiryJob(input.optin, {
    intervalMs: config.optin.expiryPollMs,
    retentionDays: config.optin.ledgerRetentionDays,
    clock,
    logger,
  });
  let stopRetention: (() => void) | undefined;
  let stopSubscriptions: (() => void) | undefined;
  return {
    retention,
    webhooks: input.webhooks,
    start() {
      scheduler?.start();
      input.webhooks.start();
      stopSubscriptions ??= input.webhookSubscriptions?.start();
      optinExpiry.start();
      stopRetention ??= retention.start(config.reports.retentionIntervalMinutes * 60_000);
    },
    async stop() {
      stopRetention?.();
      stopRetention = undefined;
      stopSubscriptions?.();
      stopSubscriptions = undefined;
      // No new fallback is claimed from now on; one in flight finishes (or its lease lets another instance take it).
      // Webhook attempts in flight finish and record their outcome; the rest waits in the outbox.
      await Promise.all([scheduler?.stop(), optinExpiry.stop(), input.webhooks.stop()]);
    },
  };
}
