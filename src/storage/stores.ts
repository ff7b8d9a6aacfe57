import type { ApiKeyStore, AppStore } from '../admin/admin.store.js';
import type { DeliveryStore } from '../delivery/delivery.store.js';
import type { EventRecorder } from '../events/events.js';
import type { NumberProtector } from '../events/number-protection.js';
import type { FactorStore } from '../factors/factors.store.js';
import type { EventRetentionStore } from '../jobs/retention.store.js';
import type { AppLimitsStore, BlocklistStore, CounterStore } from '../limits/limits.store.js';
import type { OptinStore } from '../optin/optin.store.js';
import type { Clock } from '../platform/clock.js';
import type { ReportsStore } from '../reports/reports.store.js';
import type { SigningKeyStore } from '../verification/tokens.js';
import type { VerificationStore } from '../verification/verification.store.js';
import type { Database } from './database.js';
import { createPostgresStores } from './postgres/index.js';
import { createSqliteStores } from './sqlite/index.js';

/** Every store of the service, on one database. deps.ts builds the services on these. */
export interface Stores {
  apps: AppStore;
  apiKeys: ApiKeyStore;
  signingKeys: SigningKeyStore;
  verifications: VerificationStore;
  delivery: DeliveryStore;
  events: EventRecorder;
  eventRetention: EventRetentionStore;
  /** Rate-limit counters in the database, used when REDIS_URL is unset. */
  counters: CounterStore;
  blocklist: BlocklistStore;
  appLimits: AppLimitsStore;
  factors: FactorStore;
  optin: OptinStore;
  reports: ReportsStore;
  /** Resolves when the database answers a trivial query; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** True for an error meaning the database cannot be reached right now: answered 503 storage_unavailable, not 500. */
  isUnavailable(error: unknown): boolean;
}

export interface StoreOptions {
  clock: Clock;
  /** Protects the phone numbers of the event record. */
  protector: NumberProtector;
}

/** The stores of the database's dialect: the one place that picks SQLite or PostgreSQL. */
export function createStores(database: Database, options: StoreOptions): Stores {
  return database.kind === 'postgres' ? createPostgresStores(database, options) : createSqliteStores(database, options);
}
