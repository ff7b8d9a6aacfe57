import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Gauge } from 'prom-client';
import type { Config } from '../config.js';
import { createSecretBox } from '../factors/secret-box.js';
import type { Stores } from '../storage/stores.js';
import type { Secrets } from './secrets.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createSender, type Sender } from '../webhooks/send.js';
import type { SubscriptionSnapshot } from '../webhooks/subscriptions.js';
import { createWebhookService, type WebhookService } from '../webhooks/webhooks.service.js';
import { createWebhookWorker, type WebhookWorker } from '../webhooks/worker.js';

export interface WebhookWiringInput {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  subscriptions: SubscriptionSnapshot;
  /** Replaces the HTTP sender (tests). */
  send?: Sender | undefined;
}

/** The endpoint management service and the outbox worker (started with the other jobs: wiring/jobs.ts). */
export function createWebhooks(
  from: { config: Config['webhooks']; stores: Pick<Stores, 'webhooks' | 'apps'>; secrets: Secrets },
  input: WebhookWiringInput,
): {
  service: WebhookService;
  worker: WebhookWorker;
} {
  const { config } = from;
  const { clock, metrics } = input;
  const store = from.stores.webhooks;
  // Endpoint secrets are sealed with the factors' keys (FACTOR_ENCRYPTION_KEYS), bound to the endpoint id.
  const box = createSecretBox(from.secrets.factorKeys);
  const service = createWebhookService({
    store,
    apps: from.stores.apps,
    box,
    clock,
    allowPrivate: config.allowPrivate,
    changed: () => input.subscriptions.refresh(),
  });
  const worker = createWebhookWorker({
    store,
    box,
    clock,
    logger: input.logger,
    send:
      input.send ??
      createSender({ timeoutMs: config.timeoutMs, allowPrivate: config.allowPrivate }),
    owner: `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`,
    pollMs: config.pollMs,
    concurrency: config.concurrency,
    perEndpoint: config.perEndpoint,
    retryDelaysMs: config.retryDelaysMs,
    // An attempt takes at most the timeout; a claim waiting behind others of its endpoint a few more.
    leaseMs: config.timeoutMs * 3,
    onAttempt: (status) => metrics.webhookDeliveries.inc({ status }),
  });
  let stats: Promise<{ depth: number; oldestCreatedAt: number | null }> | undefined;
  // One query serves both gauges of a scrape.
  const read = () => {
    stats ??= store.queueStats().finally(() => setTimeout(() => (stats = undefined), 100));
    return stats;
  };
  new Gauge({
    name: 'webhook_queue_depth',
    help: 'Webhook deliveries pending or in flight, all instances together',
    registers: [metrics.registry],
    async collect() {
      this.set((await read()).depth);
    },
  });
  new Gauge({
    name: 'webhook_oldest_pending_age_seconds',
    help: 'Age of the oldest webhook delivery pending or in flight (0 when none)',
    registers: [metrics.registry],
    async collect() {
      const { oldestCreatedAt } = await read();
      this.set(oldestCreatedAt === null ? 0 : Math.max(0, (clock.now() - oldestCreatedAt) / 1000));
    },
  });
  return { service, worker };
}
