import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdminService, type AdminService } from './admin/admin.service.js';
import type { Config } from './config.js';
import { createHttpSmsProvider } from './delivery/http.provider.js';
import { createLogSmsProvider } from './delivery/log.provider.js';
import type { SmsProvider } from './delivery/provider.js';
import type { EventRecorder } from './events/events.js';
import type { AppLimitsService } from './limits/app-limits.service.js';
import type { BlocklistService } from './limits/blocklist.service.js';
import type { TrustProxy } from './limits/ip.js';
import { createLimits } from './limits/limits.wiring.js';
import type { FactorGuard } from './factors/factors.guard.js';
import { createFactorService, type FactorService } from './factors/factors.service.js';
import { createSecretBox, parseSealingKeys, type SealingKey } from './factors/secret-box.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { createSqliteApiKeyStore, createSqliteAppStore } from './storage/sqlite/admin.store.js';
import type { SqliteHandle } from './storage/sqlite/db.js';
import { createSqliteEventRecorder } from './storage/sqlite/events.store.js';
import { createSqliteFactorStore } from './storage/sqlite/factors.store.js';
import { createSqliteSigningKeyStore } from './storage/sqlite/signing-keys.store.js';
import { createSqliteVerificationStore } from './storage/sqlite/verification.store.js';
import { createTokenIssuer, rotateSigningKey, type TokenIssuer } from './verification/tokens.js';
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
  ready: () => Promise<void>;
  openapiYaml: string;
  bodyLimitBytes: number;
  blocklist: BlocklistService;
  appLimits: AppLimitsService;
  /** Which peers may set the client's address (TRUST_PROXY). */
  trustProxy: TrustProxy;
  /** Releases connections the dependencies hold (Redis); the database is closed by its owner. */
  close: () => Promise<void>;
}

export const OPENAPI_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../openapi.yaml');

export interface WiringOptions {
  config: Config;
  database: SqliteHandle;
  clock: Clock;
  logger: Logger;
  pepper: Buffer;
  metrics?: Metrics;
  /** Overrides the provider the configuration names (tests inject fakes here). */
  sms?: SmsProvider;
  /** Per-user and per-IP limits on factor codes; refuses nothing when absent. */
  factorGuard?: FactorGuard;
}

export function createSmsProvider(config: Config, clock: Clock): SmsProvider {
  return config.sms.provider === 'http'
    ? createHttpSmsProvider({ url: config.sms.url, secret: config.sms.secret, timeoutMs: config.sms.timeoutMs, clock })
    : createLogSmsProvider({ outboxPath: config.sms.outboxPath, stdout: config.sms.stdout, clock });
}

/**
 * The OTP pepper: OTP_PEPPER when set (required in production); otherwise generated once and kept
 * in DATA_DIR/otp-pepper (mode 0600) so codes stay checkable across restarts in development.
 */
export function resolvePepper(config: Config): Buffer {
  if (config.otpPepper) return Buffer.from(config.otpPepper, 'utf8');
  const path = join(config.dataDir, 'otp-pepper');
  if (!existsSync(path)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'utf8');
}

/**
 * The keys that encrypt authenticator secrets: FACTOR_ENCRYPTION_KEYS when set (required in
 * production); otherwise one generated once and kept in DATA_DIR/factor-encryption-keys (mode 0600).
 */
export function resolveFactorKeys(config: Config): SealingKey[] {
  if (config.factors.encryptionKeys) return config.factors.encryptionKeys;
  const path = join(config.dataDir, 'factor-encryption-keys');
  if (!existsSync(path)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(path, `dev:${randomBytes(32).toString('base64')}`, { mode: 0o600, flag: 'wx' });
  }
  const { keys, problems } = parseSealingKeys(readFileSync(path, 'utf8').trim());
  if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
  return keys;
}

export async function createDeps(options: WiringOptions): Promise<AppDeps> {
  const { config, database, clock, logger, pepper } = options;
  const metrics = options.metrics ?? createMetrics({ collectDefault: false });
  const db = database.db;
  const events = createSqliteEventRecorder(db);
  const signingKeys = createSqliteSigningKeyStore(db);
  const apps = createSqliteAppStore(db);
  const tokens = await createTokenIssuer({
    store: signingKeys,
    clock,
    issuer: config.jwt.issuer,
    ttlSeconds: config.jwt.ttlSeconds,
    privateKeyPem: config.jwt.privateKeyPem,
  });
  const admin = createAdminService({ keys: createSqliteApiKeyStore(db), apps, clock, adminApiKey: config.adminApiKey, adminApp: config.adminApp });
  const sms = options.sms ?? createSmsProvider(config, clock);
  const limits = await createLimits({ config: config.limits, db, clock, logger, metrics });
  const recordAndCount: EventRecorder = {
    record: async (event) => {
      await events.record(event);
      metrics.events.inc({ kind: event.kind, reason: event.reason });
    },
  };
  const factors = createFactorService({
    store: createSqliteFactorStore(db),
    apps,
    box: createSecretBox(resolveFactorKeys(config)),
    events: recordAndCount,
    tokens,
    clock,
    pepper,
    guard: options.factorGuard,
    limits: {
      maxAttempts: config.verification.maxCheckAttempts,
      lockoutSeconds: config.factors.lockoutSeconds,
      maxPerUser: config.factors.maxPerUser,
      enrolmentTtlSeconds: config.factors.enrolmentTtlSeconds,
    },
  });
  const verification = createVerificationService({
    store: createSqliteVerificationStore(db),
    apps,
    sms,
    events: recordAndCount,
    tokens,
    clock,
    pepper,
    defaults: config.verification,
    guard: limits.guard,
    onDelivery: (channel, provider, status) => metrics.deliveries.inc({ channel, provider, status }),
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
    rotateSigningKey: () => rotateSigningKey(signingKeys, clock.now()),
    ready: () => {
      database.raw.prepare('SELECT 1').get();
      return Promise.resolve();
    },
    openapiYaml: existsSync(OPENAPI_PATH) ? readFileSync(OPENAPI_PATH, 'utf8') : '',
    bodyLimitBytes: config.bodyLimitBytes,
    blocklist: limits.blocklist,
    appLimits: limits.appLimits,
    trustProxy: config.limits.trustProxy,
    close: () => limits.close(),
  };
}
