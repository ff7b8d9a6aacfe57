import type { ApiKeyStore, AppStore } from '../admin/admin.store.js';
import type { DeliveryStore } from '../delivery/delivery.store.js';
import type { FallbackStore } from '../verification/fallback.store.js';
import type { EventRecord, EventRecorder } from '../events/events.js';
import type { NumberProtector } from '../events/number-protection.js';
import type { FactorStore } from '../factors/factors.store.js';
import type { EventRetentionStore } from '../jobs/retention.store.js';
import type {
  AppLimitsStore,
  BlocklistStore,
  CounterSnapshot,
  CounterStore,
} from '../limits/limits.store.js';
import type { OptinStore } from '../optin/optin.store.js';
import type { Clock } from '../platform/clock.js';
import type { ReportsStore } from '../reports/reports.store.js';
import type { SigningKeyStore } from '../tokens/signing-keys.store.js';
import type { VerificationStore } from '../verification/verification.store.js';
import type { WebhookStore } from '../webhooks/webhooks.store.js';

/**
 * Every store of the service, on one database: the interfaces only, which each dialect's index
 * implements. storage/index.ts picks the dialect; this file imports none, so no dialect depends
 * back on the module that chooses between them.
 */
export interface Stores {
  apps: AppStore;
  apiKeys: ApiKeyStore;
  signingKeys: SigningKeyStore;
  verifications: VerificationStore;
  delivery: DeliveryStore;
  fallbacks: FallbackStore;
  events: EventRecorder;
  eventRetention: EventRetentionStore;
  /** Rate-limit counters in the database, used when REDIS_URL is unset. */
  counters: CounterStore;
  /**
   * SQLite only: the counter table as a snapshot, for counters kept in process memory and written
   * behind (a SQLite database has one instance). Absent on PostgreSQL, where instances share the table.
   */
  counterSnapshot?: CounterSnapshot;
  blocklist: BlocklistStore;
  appLimits: AppLimitsStore;
  factors: FactorStore;
  optin: OptinStore;
  reports: ReportsStore;
  /** Webhook endpoints and the outbox of their deliveries. */
  webhooks: WebhookStore;
  /** Resolves when the database answers a trivial query; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** True for an error meaning the database cannot be reached right now: answered 503 storage_unavailable, not 500. */
  isUnavailable(error: unknown): boolean;
}

export interface StoreOptions {
  clock: Clock;
  /** Protects the phone numbers of the event record. */
  protector: NumberProtector;
  /**
   * The outbox entry of the webhook event an event record stands for, when an endpoint subscribes
   * to it (events/webhooks.ts webhookFor); written with the record, in the same statement.
   */
  webhookFor?: ((event: EventRecord) => string | undefined) | undefined;
}
