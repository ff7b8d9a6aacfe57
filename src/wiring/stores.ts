import { webhookFor } from '../events/webhooks.js';
import { withRecentNumbers, type NumberProtector } from '../events/number-protection.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import { withCaches, type CacheVersion } from '../storage/cache/caches.js';
import type { Database } from '../storage/database.js';
import { createStores } from '../storage/index.js';
import type { Stores } from '../storage/stores.js';
import {
  createSubscriptionSnapshot,
  type SubscriptionSnapshot,
} from '../webhooks/subscriptions.js';
import { createCacheVersion } from './caches.js';

/**
 * The database's stores as the services use them (called from deps.ts): apps, API keys, per-app
 * limits and the blocklist cached in process and dropped on any change (wiring/caches.ts says how
 * soon across instances); every event record written with its webhook entry when an endpoint of
 * its app subscribes (the subscription snapshot, refreshed before the first request).
 */
export async function createWiredStores(
  database: Database,
  options: { clock: Clock; logger: Logger; protector: NumberProtector },
): Promise<{ stores: Stores; subscriptions: SubscriptionSnapshot; cacheVersion: CacheVersion }> {
  const subscriptions = createSubscriptionSnapshot(() => stores.webhooks.subscriptions());
  const cacheVersion = await createCacheVersion(database, options.logger);
  const stores: Stores = withCaches(
    createStores(database, {
      clock: options.clock,
      protector: withRecentNumbers(options.protector),
      webhookFor: (event) => webhookFor(subscriptions, event),
    }),
    cacheVersion,
  );
  await subscriptions.refresh();
  return { stores, subscriptions, cacheVersion };
}
