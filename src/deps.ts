import { createAdminService, type AdminService } from './admin/admin.service.js';
import type { Config } from './config.js';
import {
  createDeliveryStatusService,
  type DeliveryStatusService,
} from './delivery/status.service.js';
import type { SmsProvider, VoiceProvider } from './delivery/provider.js';
import type { WebhookSecrets } from './delivery/webhooks.auth.js';
import type { EventRecorder } from './events/events.js';
import { createNumberProtector, withRecentNumbers } from './events/number-protection.js';
import { createFactorLimitsGuard } from './factors/factors.limits.js';
import type { FactorGuard } from './factors/factors.guard.js';
import { createFactorService, type FactorService } from './factors/factors.service.js';
import { createSecretBox } from './factors/secret-box.js';
import type { TrustProxy } from './http/client-address.js';
import type { ReadinessChecks } from './http/system.router.js';
import type { AppLimitsService } from './limits/app-limits.service.js';
import type { BlocklistService } from './limits/blocklist.service.js';
import { createOptinService, type OptinService } from './optin/optin.service.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { accountSidFor } from './platform/twilio-sids.js';
import { createBlockStatusReader, type BlockStatusReader } from './reports/block-status.js';
import { createReportsService, type ReportsService } from './reports/reports.service.js';
import type { Database } from './storage/database.js';
import { createStores } from './storage/index.js';
import type { Stores } from './storage/stores.js';
import { createTokenIssuer, type TokenIssuer } from './tokens/tokens.js';
import type { FlashCalls } from './verification/fallback.service.js';
import {
  createVerificationService,
  type VerificationService,
} from './verification/verification.service.js';
import { createDelivery } from './wiring/delivery.js';
import { createJobs, type Jobs } from './wiring/jobs.js';
import { createLimits } from './wiring/limits.js';
import { createWebhooks } from './wiring/webhooks.js';
import { webhookFor } from './events/webhooks.js';
import { createSubscriptionSnapshot } from './webhooks/subscriptions.js';
import type { WebhookService } from './webhooks/webhooks.service.js';
import type { Sender } from './webhooks/send.js';
import { webhookSecrets } from './wiring/providers.js';
import type { Secrets } from './wiring/secrets.js';

/** Everything createApp needs. Only this file picks implementations. */
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

export interface WiringOptions {
  config: Config;
  /** SQLite or PostgreSQL (storage/database.ts); its stores are picked by createStores. */
  database: Database;
  clock: Clock;
  logger: Logger;
  /** resolveSecrets(config) in main.ts and the CLI (wiring/secrets.ts); tests pass their own. */
  secrets: Secrets;
  /** The published openapi.yaml, served at /openapi.yaml (readPublishedSpec); empty when absent. */
  openapiYaml?: string;
  metrics?: Metrics;
  /** Overrides the provider the configuration names (tests inject fakes here). */
  sms?: SmsProvider;
  /** Per-user and per-IP limits on factor codes; refuses nothing when absent. */
  factorGuard?: FactorGuard;
  voice?: VoiceProvider;
  /** The blocklist's view for the abuse report; the real blocklist when absent. */
  blockStatus?: BlockStatusReader;
  /** Replaces the webhook HTTP sender (tests). */
  webhookSender?: Sender;
}

/**
 * Builds every service on the database's stores. Chooses implementations (the only place besides
 * wiring/) but touches nothing outside the process: secrets and the spec come in as options, and no
 * job starts here.
 */
export async function createDeps(options: WiringOptions): Promise<AppDeps> {
  const { config, database, clock, logger } = options;
  const { pepper } = options.secrets;
  const metrics = options.metrics ?? createMetrics({ collectDefault: false });
  const protector = createNumberProtector(options.secrets.reportsSecret);
  // Which apps' endpoints want which events: read on every event record as it is written.
  const subscriptions = createSubscriptionSnapshot(() => stores.webhooks.subscriptions());
  const stores: Stores = createStores(database, {
    clock,
    protector: withRecentNumbers(protector),
    webhookFor: (event) => webhookFor(subscriptions, event),
  });
  await subscriptions.refresh();
  const { events, apps } = stores;
  const tokens = await createTokenIssuer({
    store: stores.signingKeys,
    clock,
    issuer: config.jwt.issuer,
    ttlSeconds: config.jwt.ttlSeconds,
    privateKeyPem: config.jwt.privateKeyPem,
  });
  const admin = createAdminService({
    keys: stores.apiKeys,
    apps,
    clock,
    adminApiKey: config.adminApiKey,
    adminApp: config.adminApp,
    accountSid: accountSidFor(pepper),
  });
  const settled = (): Promise<void> => database.settled();
  const limits = await createLimits({ config: config.limits, stores, clock, logger, metrics });
  const recorder: EventRecorder = {
    record: async (event) => {
      await events.record(event);
      metrics.events.inc({ kind: event.kind, reason: event.reason });
    },
    counted: (event) => metrics.events.inc({ kind: event.kind, reason: event.reason }),
  };
  const onDelivery = (channel: string, provider: string, status: string) =>
    metrics.deliveries.inc({ channel, provider, status });
  const { sms, flashCalls } = createDelivery({
    config,
    clock,
    logger,
    stores,
    events: recorder,
    pepper,
    settled,
    sms: options.sms,
    voice: options.voice,
    onDelivery,
  });
  const box = createSecretBox(options.secrets.factorKeys);
  const webhooks = createWebhooks({
    config: config.webhooks,
    store: stores.webhooks,
    apps,
    box,
    clock,
    logger,
    metrics,
    subscriptions,
    send: options.webhookSender,
  });
  const factors = createFactorService({
    store: stores.factors,
    apps,
    box,
    events: recorder,
    tokens,
    clock,
    pepper,
    guard:
      options.factorGuard ??
      createFactorLimitsGuard({
        counters: limits.counters,
        limits: {
          userChecksPerHour: config.factors.userChecksPerHour,
          ipChecksPerHour: config.limits.rates['ip-checks:hour'],
        },
      }),
    limits: {
      maxAttempts: config.verification.maxCheckAttempts,
      lockoutSeconds: config.factors.lockoutSeconds,
      maxPerUser: config.factors.maxPerUser,
      enrolmentTtlSeconds: config.factors.enrolmentTtlSeconds,
    },
  });
  const statuses = createDeliveryStatusService({
    store: stores.delivery,
    events: recorder,
    clock,
    fallBack: flashCalls ? (id, reason) => flashCalls.fallBack(id, reason) : undefined,
    onDelivery,
  });
  const verification = createVerificationService({
    store: stores.verifications,
    apps,
    sms,
    events: recorder,
    flashCalls,
    fallbackAfterMs: config.fallback.afterSeconds * 1000,
    tokens,
    clock,
    pepper,
    defaults: config.verification,
    guard: limits.guard,
    onDelivery,
  });
  const optin = createOptinService({
    store: stores.optin,
    sms,
    events: recorder,
    clock,
    pepper,
    guard: limits.guard,
    settings: { codeLength: 6, maxConfirmAttempts: config.optin.maxConfirmAttempts },
  });
  return {
    clock,
    logger,
    metrics,
    admin,
    verification,
    factors,
    events,
    tokens,
    rotateSigningKey: () => tokens.rotate(),
    ready: async () => {
      await stores.ping();
      return { database: 'ok' as const, ...limits.health() };
    },
    storageUnavailable: (error) => stores.isUnavailable(error),
    openapiYaml: options.openapiYaml ?? '',
    bodyLimitBytes: config.bodyLimitBytes,
    blocklist: limits.blocklist,
    appLimits: limits.appLimits,
    trustProxy: config.http.trustProxy,
    corsOrigins: config.corsOrigins,
    close: () => limits.close(),
    settled,
    optin: { service: optin, logInbound: config.sms.provider === 'log' },
    delivery: { flashCalls, statuses, webhooks: webhookSecrets(config) },
    reports: createReportsService({
      store: stores.reports,
      protector,
      events,
      clock,
      blockStatus: options.blockStatus ?? createBlockStatusReader(limits.blocklist),
      smsUnitCost: config.reports.smsUnitCost,
    }),
    adminApp: config.adminApp,
    jobs: createJobs({
      config,
      clock,
      logger,
      eventRetention: stores.eventRetention,
      optin,
      flashCalls,
      webhooks: webhooks.worker,
      webhookSubscriptions: subscriptions,
    }),
    webhooks: webhooks.service,
  };
}
