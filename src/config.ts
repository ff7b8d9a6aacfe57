import { z } from 'zod';
import { parseTrustProxy, type TrustProxy } from './http/client-address.js';
import { parseFlashCallRanges, type FlashCallPlan } from './delivery/flashcall.js';
import { parseSealingKeys, type SealingKey } from './factors/secret-box.js';
import {
  LIMITS_ENV,
  limitsConfig,
  checkLimitsEnv,
  type LimitsConfig,
} from './limits/limits.config.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every environment variable the service reads, with its default. docs/configuration.md is generated from it (config.docs.ts). */
export const ENV_SCHEMA = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: int(0, 65535).default(3000),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    DATA_DIR: z.string().min(1).default('./data'),
    SQLITE_PATH: z.string().min(1).optional(),
    // Set: PostgreSQL (every instance shares it); unset: SQLite at SQLITE_PATH.
    DATABASE_URL: z
      .string()
      .regex(
        /^postgres(ql)?:\/\/[^/?#]+/,
        'must be a postgres:// or postgresql:// URL (leave it unset to use SQLite at SQLITE_PATH)',
      )
      .optional(),
    DATABASE_POOL_SIZE: int(1, 1000).default(10),
    OTP_PEPPER: z.string().optional(),
    ADMIN_API_KEY: z.string().optional(),
    ADMIN_APP: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
      .default('default'),
    CODE_LENGTH: int(4, 10).default(6),
    CODE_TTL_SECONDS: int(300, 600).default(600),
    MAX_CHECK_ATTEMPTS: int(1, 10).default(5),
    RESEND_COOLDOWN_SECONDS: int(0, 3600).default(30),
    MAX_SENDS: int(1, 10).default(5),
    JWT_ISSUER: z.url().optional(),
    JWT_TTL_SECONDS: int(30, 300).default(300),
    JWT_PRIVATE_KEY: z.string().optional(),
    SMS_PROVIDER: z.enum(['log', 'http', 'twilio']).default('log'),
    OUTBOX_PATH: z.string().min(1).optional(),
    LOG_PROVIDER_STDOUT: bool.default(true),
    SMS_HTTP_URL: z.url().optional(),
    SMS_HTTP_SECRET: z.string().optional(),
    SMS_HTTP_TIMEOUT_MS: int(100, 60000).default(5000),
    VOICE_PROVIDER: z.enum(['log', 'http', 'twilio']).default('log'),
    VOICE_HTTP_URL: z.url().optional(),
    VOICE_HTTP_SECRET: z.string().optional(),
    FLASHCALL_RANGES: z.string().optional(),
    FLASHCALL_WEAK_MAX_ATTEMPTS: int(1, 10).default(3),
    FLASHCALL_RING_SECONDS: int(5, 60).default(10),
    FALLBACK_AFTER_SECONDS: int(0, 600).default(45),
    FALLBACK_POLL_MS: int(50, 60000).default(1000),
    PROVIDER_RETRIES: int(0, 5).default(2),
    PROVIDER_RETRY_BASE_MS: int(1, 10000).default(250),
    PROVIDER_BREAKER_THRESHOLD: int(1, 100).default(5),
    PROVIDER_BREAKER_COOLDOWN_SECONDS: int(1, 3600).default(30),
    TWILIO_ACCOUNT_SID: z
      .string()
      .regex(/^AC[0-9a-fA-F]{32}$/)
      .optional(),
    TWILIO_AUTH_TOKEN: z.string().optional(),
    TWILIO_BASE_URL: z.url().default('https://api.twilio.com'),
    TWILIO_FROM: z.string().optional(),
    TWILIO_MESSAGING_SERVICE_SID: z
      .string()
      .regex(/^MG[0-9a-fA-F]{32}$/)
      .optional(),
    PUBLIC_BASE_URL: z.url().optional(),
    BODY_LIMIT_BYTES: int(1024, 1048576).default(65536),
    SHUTDOWN_TIMEOUT_MS: int(100, 120000).default(10000),
    HEADERS_TIMEOUT_MS: int(1000, 120000).default(10000),
    REQUEST_TIMEOUT_MS: int(1000, 300000).default(30000),
    CORS_ORIGINS: z.string().optional(),
    TRUST_PROXY: z.string().optional(),
    FACTOR_ENCRYPTION_KEYS: z.string().optional(),
    FACTOR_LOCKOUT_SECONDS: int(60, 86400).default(900),
    FACTORS_PER_USER: int(1, 50).default(10),
    FACTOR_ENROLMENT_TTL_SECONDS: int(60, 86400).default(900),
    FACTOR_USER_CHECKS_HOUR: int(1, 1_000_000).default(20),
    OPTIN_MAX_CONFIRM_ATTEMPTS: int(1, 10).default(5),
    OPTIN_EXPIRY_POLL_MS: int(1000, 3600000).default(60000),
    // 0 keeps consent evidence forever; otherwise at least 4 years (the TCPA's limitation period, 28 U.S.C. § 1658).
    OPTIN_LEDGER_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .refine((d) => d === 0 || (d >= 1461 && d <= 36500), {
        message:
          'must be 0 (keep forever) or between 1461 (4 years: consent must outlive the TCPA limitation period) and 36500',
      })
      .default(0),
    WEBHOOKS_ALLOW_PRIVATE: bool.default(false),
    WEBHOOKS_TIMEOUT_MS: int(1000, 60000).default(10000),
    WEBHOOKS_POLL_MS: int(50, 60000).default(1000),
    WEBHOOKS_CONCURRENCY: int(1, 256).default(16),
    WEBHOOKS_PER_ENDPOINT: int(1, 64).default(4),
    WEBHOOKS_RETRY_DELAYS: z
      .string()
      .regex(/^\d{1,6}(,\d{1,6}){0,19}$/, {
        message: 'must be comma-separated whole seconds, e.g. 5,30,120',
      })
      .default('5,30,120,600,3600,21600,86400'),
    ...LIMITS_ENV,
    REPORTS_ENCRYPTION_KEY: z.string().optional(),
    REPORTS_SMS_COST: z.coerce.number().min(0).max(100).optional(),
    RETENTION_DAYS: int(1, 3650).default(90),
    RETENTION_BATCH_SIZE: int(100, 100000).default(5000),
    RETENTION_INTERVAL_MINUTES: int(1, 1440).default(60),
  })
  // Rules that need parsed values (numbers, defaults) run once the schema itself passed.
  .superRefine((env, ctx) => {
    const production = env.NODE_ENV === 'production';
    checkLimitsEnv(env, ctx);
    if (env.TRUST_PROXY !== undefined) {
      try {
        parseTrustProxy(env.TRUST_PROXY);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['TRUST_PROXY'], message: (error as Error).message });
      }
    }
    const flashPlan =
      env.FLASHCALL_RANGES === undefined ? undefined : parseFlashCallRanges(env.FLASHCALL_RANGES);
    if (flashPlan && 'problems' in flashPlan) {
      for (const message of flashPlan.problems)
        ctx.addIssue({ code: 'custom', path: ['FLASHCALL_RANGES'], message });
    }
    if (production && flashPlan && env.VOICE_PROVIDER === 'log') {
      ctx.addIssue({
        code: 'custom',
        path: ['VOICE_PROVIDER'],
        message:
          'must not be "log" when NODE_ENV=production and FLASHCALL_RANGES is set: calls would only reach a file',
      });
    }
    if (env.VOICE_PROVIDER === 'http') {
      if (env.VOICE_HTTP_URL === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['VOICE_HTTP_URL'],
          message: 'is required when VOICE_PROVIDER=http',
        });
      const secret = env.VOICE_HTTP_SECRET ?? env.SMS_HTTP_SECRET;
      if (secret === undefined || secret.length < 16) {
        ctx.addIssue({
          code: 'custom',
          path: ['VOICE_HTTP_SECRET'],
          message: 'is required (16+ characters, or SMS_HTTP_SECRET) when VOICE_PROVIDER=http',
        });
      }
    }
    if (env.SMS_PROVIDER === 'twilio' || env.VOICE_PROVIDER === 'twilio') {
      if (env.TWILIO_ACCOUNT_SID === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['TWILIO_ACCOUNT_SID'],
          message: 'is required (AC…) for the twilio provider',
        });
      if (env.TWILIO_AUTH_TOKEN === undefined || env.TWILIO_AUTH_TOKEN.length < 16) {
        ctx.addIssue({
          code: 'custom',
          path: ['TWILIO_AUTH_TOKEN'],
          message: 'is required for the twilio provider',
        });
      }
      if (production && !env.TWILIO_BASE_URL.startsWith('https://')) {
        ctx.addIssue({
          code: 'custom',
          path: ['TWILIO_BASE_URL'],
          message:
            'must be https when NODE_ENV=production: the Auth Token travels in every request',
        });
      }
    }
    if (
      env.SMS_PROVIDER === 'twilio' &&
      env.TWILIO_FROM === undefined &&
      env.TWILIO_MESSAGING_SERVICE_SID === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['TWILIO_FROM'],
        message: 'or TWILIO_MESSAGING_SERVICE_SID is required when SMS_PROVIDER=twilio',
      });
    }
    if (
      production &&
      env.PUBLIC_BASE_URL !== undefined &&
      !env.PUBLIC_BASE_URL.startsWith('https://')
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['PUBLIC_BASE_URL'],
        message: 'must be https when NODE_ENV=production: providers post delivery statuses to it',
      });
    }
  });

/**
 * Rules across variables, checked on the raw strings so they are reported together with the
 * schema's own problems (a schema refinement would only run once everything else parsed).
 */
function crossChecks(env: Record<string, string>): string[] {
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const sms = env.SMS_PROVIDER ?? 'log';
  if (env.DATABASE_URL !== undefined && env.SQLITE_PATH !== undefined) {
    problems.push(
      'DATABASE_URL and SQLITE_PATH are both set: set DATABASE_URL for PostgreSQL or SQLITE_PATH for SQLite, not both',
    );
  }
  if (env.DATABASE_URL !== undefined) {
    // A generated secret lives in one instance's DATA_DIR: a code sent by one instance would be
    // refused by the next, and numbers and authenticator secrets sealed by one unreadable by another.
    const unshared = ['OTP_PEPPER', 'REPORTS_ENCRYPTION_KEY', 'FACTOR_ENCRYPTION_KEYS'].filter(
      (name) => env[name] === undefined,
    );
    if (unshared.length > 0) {
      problems.push(
        `${unshared.join(', ')} must be set when DATABASE_URL is set: every instance sharing the database needs the same secrets (development generates them per DATA_DIR)`,
      );
    }
  }
  if (production && ['true', '1', 'yes'].includes(env.WEBHOOKS_ALLOW_PRIVATE ?? ''))
    problems.push(
      'WEBHOOKS_ALLOW_PRIVATE must not be set when NODE_ENV=production: it lets an admin key send webhooks (and their signatures) to loopback, private and cloud metadata addresses over plain http://',
    );
  if (env.OTP_PEPPER !== undefined && env.OTP_PEPPER.length < 32)
    problems.push('OTP_PEPPER must be at least 32 characters (e.g. `openssl rand -base64 32`)');
  if (production && env.OTP_PEPPER === undefined)
    problems.push(
      'OTP_PEPPER is required when NODE_ENV=production (e.g. `openssl rand -base64 32`)',
    );
  if (env.ADMIN_API_KEY !== undefined && env.ADMIN_API_KEY.length < 32)
    problems.push('ADMIN_API_KEY must be at least 32 characters');
  if (production) {
    for (const name of ['OTP_PEPPER', 'ADMIN_API_KEY'] as const) {
      const value = env[name];
      if (value !== undefined && value.length >= 32 && looksWeak(value)) {
        problems.push(
          `${name} looks like a placeholder or a low-entropy value; set a random one (e.g. \`openssl rand -base64 32\`)`,
        );
      }
    }
  }
  problems.push(...parseOrigins(env.CORS_ORIGINS ?? '').problems);
  if (production && sms === 'log')
    problems.push(
      'SMS_PROVIDER must not be "log" when NODE_ENV=production: codes would only reach a file (set SMS_PROVIDER=http)',
    );
  if (sms === 'http') {
    if (env.SMS_HTTP_URL === undefined)
      problems.push('SMS_HTTP_URL is required when SMS_PROVIDER=http');
    if (env.SMS_HTTP_SECRET === undefined || env.SMS_HTTP_SECRET.length < 16)
      problems.push('SMS_HTTP_SECRET is required (16+ characters) when SMS_PROVIDER=http');
  }
  if (env.REPORTS_ENCRYPTION_KEY !== undefined && env.REPORTS_ENCRYPTION_KEY.length < 32) {
    problems.push(
      'REPORTS_ENCRYPTION_KEY must be at least 32 characters (e.g. `openssl rand -base64 32`)',
    );
  }
  if (production && env.REPORTS_ENCRYPTION_KEY === undefined) {
    problems.push(
      'REPORTS_ENCRYPTION_KEY is required when NODE_ENV=production: it protects the phone numbers of the event record (e.g. `openssl rand -base64 32`)',
    );
  }
  if (env.FACTOR_ENCRYPTION_KEYS !== undefined) {
    for (const message of parseSealingKeys(env.FACTOR_ENCRYPTION_KEYS).problems)
      problems.push(`FACTOR_ENCRYPTION_KEYS ${message}`);
  } else if (production) {
    problems.push(
      'FACTOR_ENCRYPTION_KEYS is required when NODE_ENV=production: authenticator secrets are encrypted with it (e.g. `k1:$(openssl rand -base64 32)`)',
    );
  }
  return problems;
}

// Words found in example and default values, never in `openssl rand` output of this length by chance.
const PLACEHOLDER =
  /change.?me|example|placeholder|replace|default|secret|password|your[-_ ]?(key|pepper)|test[-_ ]?(key|pepper)|x{8}|0123456789/i;

/**
 * A secret copied from documentation or typed by hand rather than generated: a placeholder word,
 * or fewer than 12 distinct characters (base64 of 32 random bytes has about 30).
 */
export function looksWeak(value: string): boolean {
  return PLACEHOLDER.test(value) || new Set(value).size < 12;
}

/** CORS_ORIGINS: comma-separated exact origins; a wildcard or a path is refused. */
function parseOrigins(raw: string): { origins: string[]; problems: string[] } {
  const origins: string[] = [];
  const problems: string[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    if (
      item === '*' ||
      !url ||
      !/^https?:$/.test(url.protocol) ||
      url.origin !== item.replace(/\/$/, '')
    ) {
      problems.push(
        `CORS_ORIGINS: "${item}" is not an origin (scheme://host[:port]; no wildcard, no path)`,
      );
    } else {
      origins.push(url.origin);
    }
  }
  return { origins, problems };
}

export type RawEnv = z.output<typeof ENV_SCHEMA>;
export type EnvName = keyof typeof ENV_SCHEMA.shape;

export interface Config {
  env: RawEnv['NODE_ENV'];
  host: string;
  port: number;
  logLevel: RawEnv['LOG_LEVEL'];
  dataDir: string;
  /** SQLITE_PATH, or DATA_DIR/verify.db; used when `database.kind` is 'sqlite'. */
  sqlitePath: string;
  /** Which database the service keeps its state in: DATABASE_URL selects PostgreSQL, SQLite otherwise. */
  database: DatabaseConfig;
  otpPepper: string | undefined;
  adminApiKey: string | undefined;
  adminApp: string;
  verification: {
    codeLength: number;
    ttlSeconds: number;
    maxCheckAttempts: number;
    resendCooldownSeconds: number;
    maxSends: number;
  };
  jwt: { issuer: string; ttlSeconds: number; privateKeyPem: string | undefined };
  sms:
    | { provider: 'log'; outboxPath: string; stdout: boolean }
    | { provider: 'http'; url: string; secret: string; timeoutMs: number }
    | { provider: 'twilio' };
  voice:
    | { provider: 'log'; outboxPath: string; stdout: boolean }
    | { provider: 'http'; url: string; secret: string; timeoutMs: number }
    | { provider: 'twilio' };
  twilio: {
    accountSid: string;
    authToken: string;
    baseUrl: string;
    from: string | undefined;
    messagingServiceSid: string | undefined;
    ringSeconds: number;
    timeoutMs: number;
  };
  /** Present iff FLASHCALL_RANGES is set: flash calls (and the fallback to them) are available. */
  flashCall: { plan: FlashCallPlan; weakCodeMaxAttempts: number } | undefined;
  fallback: { afterSeconds: number; pollMs: number };
  resilience: {
    retries: number;
    baseDelayMs: number;
    breakerThreshold: number;
    breakerCooldownMs: number;
  };
  /** The URL providers reach this service at; status callback URLs are built from it. */
  publicBaseUrl: string | undefined;
  outboxPath: string;
  logProviderStdout: boolean;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  /** A client must send its headers within `headersTimeoutMs` and its whole request (body included) within `requestTimeoutMs`. */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; trustProxy: TrustProxy };
  /** CORS_ORIGINS: browser origins allowed to call /v1 (exact `scheme://host[:port]`); empty: CORS off. */
  corsOrigins: string[];
  limits: LimitsConfig;
  factors: {
    /** FACTOR_ENCRYPTION_KEYS parsed; the first seals. Undefined: a development key kept in DATA_DIR. */
    encryptionKeys: SealingKey[] | undefined;
    lockoutSeconds: number;
    maxPerUser: number;
    enrolmentTtlSeconds: number;
    /** Authenticator code checks per user per hour, across their factors. */
    userChecksPerHour: number;
  };
  reports: {
    encryptionKey: string | undefined;
    smsUnitCost: number | undefined;
    retentionDays: number;
    retentionBatchSize: number;
    retentionIntervalMinutes: number;
  };
  optin: { maxConfirmAttempts: number; expiryPollMs: number; ledgerRetentionDays: number };
  webhooks: {
    allowPrivate: boolean;
    timeoutMs: number;
    pollMs: number;
    concurrency: number;
    perEndpoint: number;
    retryDelaysMs: number[];
  };
}

export type DatabaseConfig =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; poolSize: number };

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The name of every environment variable the service reads (deployment files are checked against it). */
export const ENV_NAMES: readonly string[] = Object.keys(ENV_SCHEMA.shape);

/** Reads the configuration from an environment. Pure; throws ConfigError listing every problem at once. */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = ENV_SCHEMA.safeParse(cleaned);
  const problems = [
    ...(parsed.success
      ? []
      : parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'} ${i.message}`)),
    ...crossChecks(cleaned as Record<string, string>),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  const outboxPath = e.OUTBOX_PATH ?? `${e.DATA_DIR}/outbox.jsonl`;
  const sqlitePath = e.SQLITE_PATH ?? `${e.DATA_DIR}/verify.db`;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    sqlitePath,
    database:
      e.DATABASE_URL === undefined
        ? { kind: 'sqlite', path: sqlitePath }
        : { kind: 'postgres', url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE },
    otpPepper: e.OTP_PEPPER,
    adminApiKey: e.ADMIN_API_KEY,
    adminApp: e.ADMIN_APP,
    verification: {
      codeLength: e.CODE_LENGTH,
      ttlSeconds: e.CODE_TTL_SECONDS,
      maxCheckAttempts: e.MAX_CHECK_ATTEMPTS,
      resendCooldownSeconds: e.RESEND_COOLDOWN_SECONDS,
      maxSends: e.MAX_SENDS,
    },
    jwt: {
      issuer: e.JWT_ISSUER ?? `http://localhost:${e.PORT}`,
      ttlSeconds: e.JWT_TTL_SECONDS,
      privateKeyPem: e.JWT_PRIVATE_KEY,
    },
    sms:
      e.SMS_PROVIDER === 'http'
        ? {
            provider: 'http',
            url: e.SMS_HTTP_URL ?? '',
            secret: e.SMS_HTTP_SECRET ?? '',
            timeoutMs: e.SMS_HTTP_TIMEOUT_MS,
          }
        : e.SMS_PROVIDER === 'twilio'
          ? { provider: 'twilio' }
          : { provider: 'log', outboxPath, stdout: e.LOG_PROVIDER_STDOUT },
    voice:
      e.VOICE_PROVIDER === 'http'
        ? {
            provider: 'http',
            url: e.VOICE_HTTP_URL ?? '',
            secret: e.VOICE_HTTP_SECRET ?? e.SMS_HTTP_SECRET ?? '',
            timeoutMs: e.SMS_HTTP_TIMEOUT_MS,
          }
        : e.VOICE_PROVIDER === 'twilio'
          ? { provider: 'twilio' }
          : { provider: 'log', outboxPath, stdout: e.LOG_PROVIDER_STDOUT },
    twilio: {
      accountSid: e.TWILIO_ACCOUNT_SID ?? '',
      authToken: e.TWILIO_AUTH_TOKEN ?? '',
      baseUrl: e.TWILIO_BASE_URL,
      from: e.TWILIO_FROM,
      messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID,
      ringSeconds: e.FLASHCALL_RING_SECONDS,
      timeoutMs: e.SMS_HTTP_TIMEOUT_MS,
    },
    flashCall: flashCallPlan(e.FLASHCALL_RANGES, e.FLASHCALL_WEAK_MAX_ATTEMPTS),
    fallback: { afterSeconds: e.FALLBACK_AFTER_SECONDS, pollMs: e.FALLBACK_POLL_MS },
    resilience: {
      retries: e.PROVIDER_RETRIES,
      baseDelayMs: e.PROVIDER_RETRY_BASE_MS,
      breakerThreshold: e.PROVIDER_BREAKER_THRESHOLD,
      breakerCooldownMs: e.PROVIDER_BREAKER_COOLDOWN_SECONDS * 1000,
    },
    publicBaseUrl: e.PUBLIC_BASE_URL?.replace(/\/+$/, ''),
    outboxPath,
    logProviderStdout: e.LOG_PROVIDER_STDOUT,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    http: {
      headersTimeoutMs: Math.min(e.HEADERS_TIMEOUT_MS, e.REQUEST_TIMEOUT_MS),
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      trustProxy: e.TRUST_PROXY === undefined ? { kind: 'none' } : parseTrustProxy(e.TRUST_PROXY),
    },
    corsOrigins: parseOrigins(e.CORS_ORIGINS ?? '').origins,
    limits: limitsConfig(e),
    factors: {
      encryptionKeys:
        e.FACTOR_ENCRYPTION_KEYS === undefined
          ? undefined
          : parseSealingKeys(e.FACTOR_ENCRYPTION_KEYS).keys,
      lockoutSeconds: e.FACTOR_LOCKOUT_SECONDS,
      maxPerUser: e.FACTORS_PER_USER,
      enrolmentTtlSeconds: e.FACTOR_ENROLMENT_TTL_SECONDS,
      userChecksPerHour: e.FACTOR_USER_CHECKS_HOUR,
    },
    reports: {
      encryptionKey: e.REPORTS_ENCRYPTION_KEY,
      smsUnitCost: e.REPORTS_SMS_COST,
      retentionDays: e.RETENTION_DAYS,
      retentionBatchSize: e.RETENTION_BATCH_SIZE,
      retentionIntervalMinutes: e.RETENTION_INTERVAL_MINUTES,
    },
    optin: {
      maxConfirmAttempts: e.OPTIN_MAX_CONFIRM_ATTEMPTS,
      expiryPollMs: e.OPTIN_EXPIRY_POLL_MS,
      ledgerRetentionDays: e.OPTIN_LEDGER_RETENTION_DAYS,
    },
    webhooks: {
      allowPrivate: e.WEBHOOKS_ALLOW_PRIVATE,
      timeoutMs: e.WEBHOOKS_TIMEOUT_MS,
      pollMs: e.WEBHOOKS_POLL_MS,
      concurrency: e.WEBHOOKS_CONCURRENCY,
      perEndpoint: e.WEBHOOKS_PER_ENDPOINT,
      retryDelaysMs: e.WEBHOOKS_RETRY_DELAYS.split(',').map((s) => Number(s) * 1000),
    },
  };
}

function flashCallPlan(
  ranges: string | undefined,
  weakCodeMaxAttempts: number,
): Config['flashCall'] {
  if (ranges === undefined) return undefined;
  const parsed = parseFlashCallRanges(ranges);
  return 'plan' in parsed ? { plan: parsed.plan, weakCodeMaxAttempts } : undefined;
}
