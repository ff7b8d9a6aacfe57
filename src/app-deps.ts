import type { AdminService } from './admin/admin.service.js';
import type { DeliveryStatusService } from './delivery/status.service.js';
import type { WebhookSecrets } from './delivery/webhooks.auth.js';
import type { EventRecorder } from './events/events.js';
import type { FactorService } from './factors/factors.service.js';
import type { TrustProxy } from './http/client-address.js';
import type { ReadinessChecks } from './http/system.router.js';
import type { AppLimitsService } from './limits/app-limits.service.js';
import type { BlocklistService } from './limits/blocklist.service.js';
import type { OptinService } from './optin/optin.service.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import type { Metrics } from './platform/metrics.js';
import type { ReportsService } from './reports/reports.service.js';
import type { TokenIssuer } from './tokens/tokens.js';
import type { FlashCalls } from './verification/fallback.service.js';
import type { VerificationService } from './verification/verification.service.js';
import type { WebhookService } from './webhooks/webhooks.service.js';
import type { Jobs } from './wiring/jobs.js';

/**
 * What createApp consumes: the services and settings the HTTP layer is built on. deps.ts builds it
 * (createDeps); tests and the bench build it the same way.
 */
/** Everything createApp needs. */
export interface AppDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  admin: AdminService;
  verification: VerificationService;
  factors: FactorService;
  events: EventRecorder;
  tokens: TokenIssuer;
  rotateSigningKey: () => Promise<string>;
  /** The state of each dependency when the service can serve (/readyz); rejects when it cannot. */
  ready: () => Promise<ReadinessChecks>;
  /** True for an error meaning the database cannot be reached right now: answered 503 storage_unavailable with Retry-After. */
  storageUnavailable: (error: unknown) => boolean;
  openapiYaml: string;
  bodyLimitBytes: number;
  blocklist: BlocklistService;
  appLimits: AppLimitsService;
  /** Origins allowed to call /v1 from a browser (CORS_ORIGINS); none when empty or absent. */
  corsOrigins?: readonly string[];
  /** Which peers may set the client's address (TRUST_PROXY). */
  trustProxy: TrustProxy;
  /** Releases connections the dependencies hold (Redis); the database is closed by its owner. */
  close: () => Promise<void>;
  /**
   * Resolves once every write made so far is durable; the HTTP layer answers only after it. SQLite
   * commits a turn's writes together (storage/sqlite/commit-group.ts); absent: writes are durable when made.
   */
  settled?: () => Promise<void>;
  delivery: DeliveryDeps;
  reports: ReportsService;
  /** Keys of this app read every app's reports. */
  adminApp: string;
  /** Every background job (wiring/jobs.ts); main.ts starts them, tests run them once. */
  jobs: Jobs;
  optin: OptinDeps;
  /** Outgoing webhook endpoints and their deliveries (docs/webhooks.md). */
  webhooks: WebhookService;
}

/** Marketing lists with double opt-in. */
export interface OptinDeps {
  service: OptinService;
  /** The unsigned development inbound route is served only with SMS_PROVIDER=log. */
  logInbound: boolean;
}

/** Flash calls, fallbacks and provider callbacks. */
export interface DeliveryDeps {
  /** Absent when FLASHCALL_RANGES is not set. `runDue()` is one scheduler tick (tests call it with the fake clock). */
  flashCalls: FlashCalls | undefined;
  statuses: DeliveryStatusService;
  webhooks: WebhookSecrets;
}
