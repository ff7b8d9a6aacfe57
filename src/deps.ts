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
import { createNumberProtector } from './events/number-protection.js';
import { createRetentionJob, type RetentionJob } from './jobs/retention.js';
import type { Clock } from './platform/clock.js';
import type { Logger } from './platform/logger.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { createSqliteApiKeyStore, createSqliteAppStore } from './storage/sqlite/admin.store.js';
import type { SqliteHandle } from './storage/sqlite/db.js';
import { createSqliteEventRecorder } from './storage/sqlite/events.store.js';
import { createSqliteSigningKeyStore } from './storage/sqlite/signing-keys.store.js';
import { createSqliteVerificationStore } from './storage/sqlite/verification.store.js';
import { createSqliteReportsStore } from './storage/sqlite/reports.store.js';
import { createSqliteEventRetentionStore } from './storage/sqlite/retention.store.js';
import type { BlockStatusReader } from './reports/block-status.js';
import { createReportsService, type ReportsService } from './reports/reports.service.js';
import { createTokenIssuer, rotateSigningKey, type TokenIssuer } from './verification/tokens.js';
import { createVerificationService, type VerificationService } from './verification/verification.service.js';

/** Everything createApp needs. Only this file picks implementations. */
export interface AppDeps {
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  admin: AdminService;
  verification: VerificationService;
  events: EventRecorder;
  tokens: TokenIssuer;
  rotateSigningKey: () => Promise<string>;
  ready: () => Promise<void>;
  openapiYaml: string;
  bodyLimitBytes: number;
  reports: ReportsService;
  /** Keys of this app read every app's reports. */
  adminApp: string;
  /** Purges expired event records; main.ts schedules it, tests run it once. */
  retention: RetentionJob;
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
  /** The secret protecting numbers in the event record; resolveReportsSecret(config) when absent. */
  reportsSecret?: Buffer;
  /** The blocklist's view for the abuse report; every target is `unknown` when absent. */
  blockStatus?: BlockStatusReader;
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
 * The secret protecting phone numbers in the event record: REPORTS_ENCRYPTION_KEY when set (required
 * in production); otherwise generated once and kept in DATA_DIR/reports-key (mode 0600).
 */
export function resolveReportsSecret(config: Config): Buffer {
  if (config.reports.encryptionKey) return Buffer.from(config.reports.encryptionKey, 'utf8');
  const path = join(config.dataDir, 'reports-key');
  if (!existsSync(path)) {
    mkdirSync(config.dataDir, { recursive: true });
    writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'utf8');
}

export async function createDeps(options: WiringOptions): Promise<AppDeps> {
  const { config, database, clock, logger, pepper } = options;
  const metrics = options.metrics ?? createMetrics({ collectDefault: false });
  const db = database.db;
  const protector = createNumberProtector(options.reportsSecret ?? resolveReportsSecret(config));
  const events = createSqliteEventRecorder(db, protector);
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
  const verification = createVerificationService({
    store: createSqliteVerificationStore(db),
    apps,
    sms,
    events: {
      record: async (event) => {
        await events.record(event);
        metrics.events.inc({ kind: event.kind, reason: event.reason });
      },
    },
    tokens,
    clock,
    pepper,
    defaults: config.verification,
    onDelivery: (channel, provider, status) => metrics.deliveries.inc({ channel, provider, status }),
  });
  return {
    clock,
    logger,
    metrics,
    admin,
    verification,
    events,
    tokens,
    rotateSigningKey: () => rotateSigningKey(signingKeys, clock.now()),
    ready: () => {
      database.raw.prepare('SELECT 1').get();
      return Promise.resolve();
    },
    openapiYaml: existsSync(OPENAPI_PATH) ? readFileSync(OPENAPI_PATH, 'utf8') : '',
    bodyLimitBytes: config.bodyLimitBytes,
    reports: createReportsService({
      store: createSqliteReportsStore(db),
      protector,
      events,
      clock,
      blockStatus: options.blockStatus,
      smsUnitCost: config.reports.smsUnitCost,
    }),
    adminApp: config.adminApp,
    retention: createRetentionJob({
      store: createSqliteEventRetentionStore(db),
      clock,
      logger,
      retentionDays: config.reports.retentionDays,
      batchSize: config.reports.retentionBatchSize,
    }),
  };
}
