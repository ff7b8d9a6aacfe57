import type { FactorStore } from '../../factors/factors.store.js';
import type { OptinStore } from '../../optin/optin.store.js';
import type { ReportsStore } from '../../reports/reports.store.js';
import type { StoreOptions, Stores } from '../stores.js';
import { createPostgresApiKeyStore, createPostgresAppStore } from './admin.store.js';
import type { PostgresHandle } from './db.js';
import { createPostgresDeliveryStore } from './delivery.store.js';
import { isPostgresUnavailable } from './errors.js';
import { createPostgresEventRecorder } from './events.store.js';
import { createPostgresAppLimitsStore, createPostgresBlocklistStore, createPostgresCounterStore } from './limits.store.js';
import { createPostgresEventRetentionStore } from './retention.store.js';
import { createPostgresSigningKeyStore } from './signing-keys.store.js';
import { createPostgresVerificationStore } from './verification.store.js';

const PING_TIMEOUT_MS = 2000;

/** Every store on one PostgreSQL database. */
export function createPostgresStores(handle: PostgresHandle, options: StoreOptions): Stores {
  const { db, pool } = handle;
  return {
    apps: createPostgresAppStore(db),
    apiKeys: createPostgresApiKeyStore(db),
    signingKeys: createPostgresSigningKeyStore(db),
    verifications: createPostgresVerificationStore(db),
    delivery: createPostgresDeliveryStore(db),
    events: createPostgresEventRecorder(db, options.protector),
    eventRetention: createPostgresEventRetentionStore(db),
    counters: createPostgresCounterStore(db, options.clock),
    blocklist: createPostgresBlocklistStore(db),
    appLimits: createPostgresAppLimitsStore(db),
    // ── Slots for the PostgreSQL stores of another branch: replace each with its create…(db). ──
    factors: notYetOnPostgres<FactorStore>('factors'),
    optin: notYetOnPostgres<OptinStore>('optin'),
    reports: notYetOnPostgres<ReportsStore>('reports'),
    async ping() {
      // A server that accepts connections but never answers must not hold /readyz for long.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
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

/**
 * A placeholder for a store not yet written for PostgreSQL: the service wires and serves every
 * other capability, and any call into this one rejects saying so (answered as a 500).
 */
function notYetOnPostgres<T extends object>(name: string): T {
  return new Proxy({} as T, {
    get: (_target, property) =>
      typeof property === 'string' && property !== 'then'
        ? () => Promise.reject(new Error(`the ${name} store is not yet implemented on PostgreSQL (src/storage/postgres/index.ts)`))
        : undefined,
  });
}
