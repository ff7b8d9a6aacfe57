import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdminService, type AdminService } from './admin/admin.service.js';
import type { Config } from './config.js';
import { createFlashCalls, STRONG_CODE_LENGTH, type FlashCalls } from './verification/fallback.service.js';
import { smsAfterCommit, voiceAfterCommit } from './delivery/after-commit.js';
import { createHttpSmsProvider, createHttpVoiceProvider } from './delivery/http.provider.js';
import { createLogSmsProvider, createLogVoiceProvider } from './delivery/log.provider.js';
import type { SmsProvider, VoiceProvider } from './delivery/provider.js';
import { withResilience, withVoiceResilience } from './delivery/resilience.js';
import { createDeliveryStatusService, type DeliveryStatusService } from './delivery/status.service.js';
import { createTwilioSmsProvider, createTwilioVoiceProvider, type TwilioOptions } from './delivery/twilio.provider.js';
import type { WebhookSecrets } from './delivery/webhooks.router.js';
import type { EventRecorder } from './events/events.js';
import type { ReadinessChecks } from './http/system.router.js';
import type { AppLimitsService } from './limits/app-limits.service.js';
import type { BlocklistService } from './limits/blocklist.service.js';
import type { TrustProxy } from './http/client-address.js';
import { createFactorLimitsGuard } from './factors/factors.limits.js';
import { createLimits } from './wiring/limits.js';
import type { FactorGuard } from './factors/factors.guard.js';
import { createFactorService, type FactorService } from './factors/factors.service.js';
import { createOptinService, type OptinService } from './optin/optin.service.js';
import { createSecretBox, parseSealingKeys, type SealingKey } from './factors/secret-box.js';
import { createNumberProtector, withRecentNumbers } from './events/number-protection.js';
import { createRetentionJob, type RetentionJob } from './jobs/retention.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import type { Database } from './storage/database.js';
import { createStores, type Stores } from './storage/index.js';
import { createBlockStatusReader, type BlockStatusReader } from './reports/block-status.js';
import { createReportsService, type ReportsService } from './reports/reports.service.js';
import { createTokenIssuer, type TokenIssuer } from './tokens/tokens.js';
import { accountSidFor } from './platform/twilio-sids.js';
import { createVerificationService, type VerificationService } from './verification/verification.service.js';

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
  /** Purges expired event records; main.ts schedules it, tests run it once. */
  retention: RetentionJob;
  optin: OptinDeps;
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

export const WEBHOOK_PATHS = { http: '/v1/webhooks/http/status', twilio: '/v1/webhooks/twilio/status' } as const;

export const OPENAPI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../openapi.yaml');

export interface WiringOptions {
  config: Config;
  /** SQLite or PostgreSQL (storage/database.ts); its stores are picked by createStores. */
  database: Database;
  clock: Clock;
  logger: Logger;
  pepper: Buffer;
  metrics?: Metrics;
  /** Overrides the provider the configuration names (tests inject fakes here). */
  sms?: SmsProvider;
  /** Per-user and per-IP limits on factor codes; refuses nothing when absent. */
  factorGuard?: FactorGuard;
  voice?: VoiceProvider;
  /** The secret protecting numbers in the event record; resolveReportsSecret(config) when absent. */
  reportsSecret?: Buffer;
  /** The blocklist's view for the abuse report; the real blocklist when absent. */
  blockStatus?: BlockStatusReader;
}

function twilioOptions(config: Config): TwilioOptions {
  return {
    ...config.twilio,
    statusCallbackUrl: config.publicBaseUrl ? `${config.publicBaseUrl}${WEBHOOK_PATHS.twilio}` : undefined,
  };
}

export function createSmsProvider(config: Config, clock: Clock): SmsProvider {
  const statusCallbackUrl = config.publicBaseUrl ? `${config.publicBaseUrl}${WEBHOOK_PATHS.http}` : undefined;
  switch (config.sms.provider) {
    case 'http':
      return createHttpSmsProvider({ url: config.sms.url, secret: config.sms.secret, timeoutMs: config.sms.timeoutMs, clock, statusCallbackUrl });
    case 'twilio':
      return createTwilioSmsProvider(twilioOptions(config));
    case 'log':
      return createLogSmsProvider({ outboxPath: config.sms.outboxPath, stdout: config.sms.stdout, clock });
  }
}

export function createVoiceProvider(config: Config, clock: Clock): VoiceProvider {
  const statusCallbackUrl = config.publicBaseUrl ? `${config.publicBaseUrl}${WEBHOOK_PATHS.http}` : undefined;
  switch (config.voice.provider) {
    case 'http':
      return createHttpVoiceProvider({ url: config.voice.url, secret: config.voice.secret, timeoutMs: config.voice.timeoutMs, clock, statusCallbackUrl });
    case 'twilio':
      return createTwilioVoiceProvider(twilioOptions(config));
    case 'log':
      return createLogVoiceProvider({ outboxPath: config.voice.outboxPath, stdout: config.voice.stdout, clock });
  }
}

/**
 * A development secret kept in a file (mode 0600), generated by whichever instance needs it first.
 * It is written whole under a temporary name and then linked into place, so instances starting
 * together on one DATA_DIR read either no file or the complete one, and all end up with one value
 * (writing in place let a second instance read the file empty, or fail on EEXIST).
 */
function readOrCreateSecret(path: string, generate: () => string): string {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(temporary, generate(), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temporary, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temporary);
    }
  }
  return readFileSync(path, 'utf8').trim();
}

/**
 * The OTP pepper: OTP_PEPPER when set (required in production); otherwise generated once and kept
 * in DATA_DIR/otp-pepper (mode 0600) so codes stay checkable across restarts in development.
 */
export function resolvePepper(config: Config): Buffer {
  if (config.otpPepper) return Buffer.from(config.otpPepper, 'utf8');
  return Buffer.from(readOrCreateSecret(join(config.dataDir, 'otp-pepper'), () => randomBytes(32).toString('base64')), 'utf8');
}

/**
 * The keys that encrypt authenticator secrets: FACTOR_ENCRYPTION_KEYS when set (required in
 * production); otherwise one generated once and kept in DATA_DIR/factor-encryption-keys (mode 0600).
 */
export function resolveFactorKeys(config: Config): SealingKey[] {
  if (config.factors.encryptionKeys) return config.factors.encryptionKeys;
  const path = join(config.dataDir, 'factor-encryption-keys');
  const { keys, problems } = parseSealingKeys(readOrCreateSecret(path, () => `dev:${randomBytes(32).toString('base64')}`));
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
  return keys;
}

/**
 * The secret protecting phone numbers in the event record: REPORTS_ENCRYPTION_KEY when set (required
 * in production); otherwise generated once and kept in DATA_DIR/reports-key (mode 0600).
 */
export function resolveReportsSecret(config: Config): Buffer {
  if (config.reports.encryptionKey) return Buffer.from(config.reports.encryptionKey, 'utf8');
  return Buffer.from(readOrCreateSecret(join(config.dataDir, 'reports-key'), () => randomBytes(32).toString('base64')), 'utf8');
}

export async function createDeps(options: WiringOptions): Promise<AppDeps> {
  const { config, database, clock, logger, pepper } = options;
  const metrics = options.metrics ?? createMetrics({ collectDefault: false });
  const protector = createNumberProtector(options.reportsSecret ?? resolveReportsSecret(config));
  const stores: Stores = createStores(database, { clock, protector: withRecentNumbers(protector) });
  const { events, signingKeys, apps } = stores;
  const tokens = await createTokenIssuer({
    store: signingKeys,
    clock,
    issuer: config.jwt.issuer,
    ttlSeconds: config.jwt.ttlSeconds,
    privateKeyPem: config.jwt.privateKeyPem,
  });
  const admin = createAdminService({ keys: stores.apiKeys, apps, clock, adminApiKey: config.adminApiKey, adminApp: config.adminApp, accountSid: accountSidFor(pepper) });
  const resilience = {
    ...config.resilience,
    clock,
    onBreaker: (provider: string, state: 'open' | 'closed') => logger.warn({ provider, state }, `provider circuit breaker ${state}`),
  };
  const settled = (): Promise<void> => database.settled();
  // Nothing leaves the process before the writes it depends on are committed.
  const sms = smsAfterCommit(withResilience(options.sms ?? createSmsProvider(config, clock), resilience), settled);
  const limits = await createLimits({ config: config.limits, stores, clock, logger, metrics });
  const recorder: EventRecorder = {
    record: async (event) => {
      await events.record(event);
      metrics.events.inc({ kind: event.kind, reason: event.reason });
    },
    counted: (event) => metrics.events.inc({ kind: event.kind, reason: event.reason }),
  };
  const factors = createFactorService({
    store: stores.factors,
    apps,
    box: createSecretBox(resolveFactorKeys(config)),
    events: recorder,
    tokens,
    clock,
    pepper,
    guard:
      options.factorGuard ??
      createFactorLimitsGuard({
        counters: limits.counters,
        limits: { userChecksPerHour: config.factors.userChecksPerHour, ipChecksPerHour: config.limits.rates['ip-checks:hour'] },
      }),
    limits: {
      maxAttempts: config.verification.maxCheckAttempts,
      lockoutSeconds: config.factors.lockoutSeconds,
      maxPerUser: config.factors.maxPerUser,
      enrolmentTtlSeconds: config.factors.enrolmentTtlSeconds,
    },
  });
  const verificationStore = stores.verifications;
  const deliveryStore = stores.delivery;
  const onDelivery = (channel: string, provider: string, status: string) => metrics.deliveries.inc({ channel, provider, status });
  let flashCalls: FlashCalls | undefined;
  if (config.flashCall) {
    const { plan, weakCodeMaxAttempts } = config.flashCall;
    const voice = voiceAfterCommit(withVoiceResilience(options.voice ?? createVoiceProvider(config, clock), resilience), settled);
    const { retries, baseDelayMs } = config.resilience;
    // A claim is taken over only once its instance has surely given up: twice the longest send.
    const longestSendMs = config.twilio.timeoutMs * (retries + 1) + baseDelayMs * 1.5 * (2 ** retries - 1);
    flashCalls = createFlashCalls({
      plan,
      voice,
      verifications: verificationStore,
      store: stores.fallbacks,
      events: recorder,
      clock,
      pepper,
      weakCodeMaxAttempts,
      defaultMaxAttempts: config.verification.maxCheckAttempts,
      leaseMs: Math.max(60_000, 2 * longestSendMs),
      onDelivery,
    });
    if (plan.codeLength < STRONG_CODE_LENGTH) {
      logger.warn(
        { codeLength: plan.codeLength, maxAttempts: flashCalls.maxAttempts },
        `FLASHCALL_RANGES give ${plan.codeLength}-digit codes, under the 20 bits of OWASP ASVS 2.7.6: flash-call verifications get ${flashCalls.maxAttempts} attempts; use ranges of a million numbers for 6 digits`,
      );
    }
  }
  const statuses = createDeliveryStatusService({ store: deliveryStore, events: recorder, clock, fallBack: flashCalls ? (id, reason) => flashCalls.fallBack(id, reason) : undefined, onDelivery });
  const verification = createVerificationService({
    store: verificationStore,
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
    openapiYaml: existsSync(OPENAPI_PATH) ? readFileSync(OPENAPI_PATH, 'utf8') : '',
    bodyLimitBytes: config.bodyLimitBytes,
    blocklist: limits.blocklist,
    appLimits: limits.appLimits,
    trustProxy: config.http.trustProxy,
    corsOrigins: config.corsOrigins,
    close: () => limits.close(),
    settled,
    optin: { service: optin, logInbound: config.sms.provider === 'log' },
    delivery: {
      flashCalls,
      statuses,
      webhooks: {
        httpSecrets: [config.sms.provider === 'http' ? config.sms.secret : undefined, config.voice.provider === 'http' ? config.voice.secret : undefined].filter(
          (x): x is string => x !== undefined && x.length > 0,
        ),
        twilioAuthToken: config.sms.provider === 'twilio' || config.voice.provider === 'twilio' ? config.twilio.authToken : undefined,
        publicBaseUrl: config.publicBaseUrl,
      },
    },
    reports: createReportsService({
      store: stores.reports,
      protector,
      events,
      clock,
      blockStatus: options.blockStatus ?? createBlockStatusReader(limits.blocklist),
      smsUnitCost: config.reports.smsUnitCost,
    }),
    adminApp: config.adminApp,
    retention: createRetentionJob({
      store: stores.eventRetention,
      clock,
      logger,
      retentionDays: config.reports.retentionDays,
      batchSize: config.reports.retentionBatchSize,
    }),
  };
}
