import { createAdminService } from './admin/admin.service.js';
import type { Config } from './config.js';
import { createDeliveryStatusService } from './delivery/status.service.js';
import type { SmsProvider, VoiceProvider } from './delivery/provider.js';
import type { EventRecorder } from './events/events.js';
import { createNumberProtector } from './events/number-protection.js';
import type { FactorGuard } from './factors/factors.guard.js';
import { createOptinService } from './optin/optin.service.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { accountSidFor } from './platform/twilio-sids.js';
import { createBlockStatusReader, type BlockStatusReader } from './reports/block-status.js';
import { createReportsService } from './reports/reports.service.js';
import type { Database } from './storage/database.js';
import { createTokenIssuer } from './tokens/tokens.js';
import { createVerificationService } from './verification/verification.service.js';
import { createDelivery } from './wiring/delivery.js';
import { createFactors } from './wiring/factors.js';
import { createJobs } from './wiring/jobs.js';
import { createLimits } from './wiring/limits.js';
import { createWiredStores } from './wiring/stores.js';
import { createWebhooks } from './wiring/webhooks.js';
import type { Sender } from './webhooks/send.js';
import { webhookSecrets } from './wiring/providers.js';
import type { Secrets } from './wiring/secrets.js';
import type { AppDeps } from './app-deps.js';

export type { AppDeps } from './app-deps.js';

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

/** Builds every service; picks implementations but touches nothing outside the process (no files, no jobs). */
export async function createDeps(options: WiringOptions): Promise<AppDeps> {
  const { config, database, clock, logger } = options;
  const { pepper } = options.secrets;
  const metrics = options.metrics ?? createMetrics({ collectDefault: false });
  const protector = createNumberProtector(options.secrets.reportsSecret);
  const wired = await createWiredStores(database, { clock, logger, protector });
  const { stores, subscriptions, cacheVersion } = wired;
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
  const webhooks = createWebhooks(
    { config: config.webhooks, stores, secrets: options.secrets },
    {
      clock,
      logger,
      metrics,
      subscriptions,
      send: options.webhookSender,
    },
  );
  const factors = createFactors({
    config,
    stores,
    secrets: options.secrets,
    counters: limits.counters,
    events: recorder,
    tokens,
    clock,
    guard: options.factorGuard,
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
    close: async () => {
      await Promise.all([limits.close(), cacheVersion.close()]);
    },
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
