import { eventWriting } from '../shared/events.js';
import type { StoreOptions, Stores } from '../stores.js';
import { createPostgresApiKeyStore, createPostgresAppStore } from './admin.store.js';
import type { PostgresHandle } from './db.js';
import { createPostgresDeliveryStore } from './delivery.store.js';
import { isPostgresUnavailable } from './errors.js';
import { createPostgresFactorStore } from './factors.store.js';
import { createPostgresOptinStore } from './optin.store.js';
import { createPostgresReportsStore } from './reports.store.js';
import { createPostgresEventRecorder } from './events.store.js';
import {
  createPostgresAppLimitsStore,
  createPostgresBlocklistStore,
  createPostgresCounterStore,
} from './limits.store.js';
import { createPostgresEventRetentionStore } from './retention.store.js';
import { createPostgresSigningKeyStore } from './signing-keys.store.js';
import { createPostgresVerificationStore } from './verification.store.js';
import { createPostgresWebhookStore } from './webhooks.store.js';

const PING_TIMEOUT_MS = 2000;

/** Every store on one PostgreSQL database. */
export function createPostgresStores(handle: PostgresHandle, options: StoreOptions): Stores {
  const protector = eventWriting(options);
  const { db, pool } = handle;
  // One implementation keeps delivery statuses and fallbacks (the same tables).
  const delivery = createPostgresDeliveryStore(db);
  return {
    delivery,
    fallbacks: delivery,
    apps: createPostgresAppStore(db),
    apiKeys: createPostgresApiKeyStore(db),
    signingKeys: createPostgresSigningKeyStore(db),
    verifications: createPostgresVerificationStore(db, protector),
    events: createPostgresEventRecorder(db, protector),
    eventRetention: createPostgresEventRetentionStore(db),
    counters: createPostgresCounterStore(db, options.clock),
    blocklist: createPostgresBlocklistStore(db),
    appLimits: createPostgresAppLimitsStore(db),
    factors: createPostgresFactorStore(db),
    optin: createPostgresOptinStore(db),
    reports: createPostgresReportsStore(db),
    webhooks: createPostgresWebhookStore(db),
    async ping() {
      // A server that accepts connections but never answers must not hold /readyz for long.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`PostgreSQL did not answer within ${PING_TIMEOUT_MS} ms`)),
          PING_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([pool.query('SELECT 1'), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    isUnavailable: isPostgresUnavailable,
  };
}
