import { eventWriting } from '../shared/events.js';
import type { StoreOptions, Stores } from '../stores.js';
import { createSqliteApiKeyStore, createSqliteAppStore } from './admin.store.js';
import type { SqliteHandle } from './db.js';
import { createSqliteDeliveryStore } from './delivery.store.js';
import { createSqliteEventRecorder } from './events.store.js';
import { createSqliteFactorStore } from './factors.store.js';
import {
  createSqliteAppLimitsStore,
  createSqliteBlocklistStore,
  createSqliteCounterSnapshot,
  createSqliteCounterStore,
} from './limits.store.js';
import { createSqliteOptinStore } from './optin.store.js';
import { createSqliteReportsStore } from './reports.store.js';
import { createSqliteEventRetentionStore } from './retention.store.js';
import { createSqliteSigningKeyStore } from './signing-keys.store.js';
import { createSqliteVerificationStore } from './verification.store.js';
import { createSqliteWebhookStore } from './webhooks.store.js';

/** Every store on one SQLite database. */
export function createSqliteStores(handle: SqliteHandle, options: StoreOptions): Stores {
  const protector = eventWriting(options);
  const { db } = handle;
  // One implementation keeps delivery statuses and fallbacks (the same tables).
  const delivery = createSqliteDeliveryStore(db);
  return {
    delivery,
    fallbacks: delivery,
    apps: createSqliteAppStore(db),
    apiKeys: createSqliteApiKeyStore(db),
    signingKeys: createSqliteSigningKeyStore(db),
    verifications: createSqliteVerificationStore(db, protector),
    events: createSqliteEventRecorder(db, protector),
    eventRetention: createSqliteEventRetentionStore(db),
    counters: createSqliteCounterStore(db, options.clock),
    counterSnapshot: createSqliteCounterSnapshot(db),
    blocklist: createSqliteBlocklistStore(db),
    appLimits: createSqliteAppLimitsStore(db),
    factors: createSqliteFactorStore(db),
    optin: createSqliteOptinStore(db),
    reports: createSqliteReportsStore(db),
    webhooks: createSqliteWebhookStore(db),
    ping() {
      handle.raw.prepare('SELECT 1').get();
      return Promise.resolve();
    },
    // A local file: there is no connection to lose.
    isUnavailable: () => false,
  };
}
