import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every environment variable the service reads, with its default. README's table mirrors this. */
const ENV_SCHEMA = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: int(0, 65535).default(3000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    DATA_DIR: z.string().min(1).default('./data'),
    SQLITE_PATH: z.string().min(1).optional(),
    OTP_PEPPER: z.string().optional(),
    ADMIN_API_KEY: z.string().optional(),
    ADMIN_APP: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).default('default'),
    CODE_LENGTH: int(4, 10).default(6),
    CODE_TTL_SECONDS: int(300, 600).default(600),
    MAX_CHECK_ATTEMPTS: int(1, 10).default(5),
    RESEND_COOLDOWN_SECONDS: int(0, 3600).default(30),
    MAX_SENDS: int(1, 10).default(5),
    JWT_ISSUER: z.url().optional(),
    JWT_TTL_SECONDS: int(30, 300).default(300),
    JWT_PRIVATE_KEY: z.string().optional(),
    SMS_PROVIDER: z.enum(['log', 'http']).default('log'),
    OUTBOX_PATH: z.string().min(1).optional(),
    LOG_PROVIDER_STDOUT: bool.default(true),
    SMS_HTTP_URL: z.url().optional(),
    SMS_HTTP_SECRET: z.string().optional(),
    SMS_HTTP_TIMEOUT_MS: int(100, 60000).default(5000),
    BODY_LIMIT_BYTES: int(1024, 1048576).default(65536),
    SHUTDOWN_TIMEOUT_MS: int(100, 120000).default(10000),
    REPORTS_ENCRYPTION_KEY: z.string().optional(),
    REPORTS_SMS_COST: z.coerce.number().min(0).max(100).optional(),
    RETENTION_DAYS: int(1, 3650).default(90),
    RETENTION_BATCH_SIZE: int(100, 100000).default(5000),
    RETENTION_INTERVAL_MINUTES: int(1, 1440).default(60),
  })
  .superRefine((env, ctx) => {
    const production = env.NODE_ENV === 'production';
    if (env.OTP_PEPPER !== undefined && env.OTP_PEPPER.length < 32) {
      ctx.addIssue({ code: 'custom', path: ['OTP_PEPPER'], message: 'must be at least 32 characters (e.g. `openssl rand -base64 32`)' });
    }
    if (production && env.OTP_PEPPER === undefined) {
      ctx.addIssue({ code: 'custom', path: ['OTP_PEPPER'], message: 'is required when NODE_ENV=production (e.g. `openssl rand -base64 32`)' });
    }
    if (env.REPORTS_ENCRYPTION_KEY !== undefined && env.REPORTS_ENCRYPTION_KEY.length < 32) {
      ctx.addIssue({ code: 'custom', path: ['REPORTS_ENCRYPTION_KEY'], message: 'must be at least 32 characters (e.g. `openssl rand -base64 32`)' });
    }
    if (production && env.REPORTS_ENCRYPTION_KEY === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REPORTS_ENCRYPTION_KEY'],
        message: 'is required when NODE_ENV=production: it protects the phone numbers of the event record (e.g. `openssl rand -base64 32`)',
      });
    }
    if (env.ADMIN_API_KEY !== undefined && env.ADMIN_API_KEY.length < 32) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_API_KEY'], message: 'must be at least 32 characters' });
    }
    if (production && env.SMS_PROVIDER === 'log') {
      ctx.addIssue({ code: 'custom', path: ['SMS_PROVIDER'], message: 'must not be "log" when NODE_ENV=production: codes would only reach a file (set SMS_PROVIDER=http)' });
    }
    if (env.SMS_PROVIDER === 'http') {
      if (env.SMS_HTTP_URL === undefined) ctx.addIssue({ code: 'custom', path: ['SMS_HTTP_URL'], message: 'is required when SMS_PROVIDER=http' });
      if (env.SMS_HTTP_SECRET === undefined || env.SMS_HTTP_SECRET.length < 16) {
        ctx.addIssue({ code: 'custom', path: ['SMS_HTTP_SECRET'], message: 'is required (16+ characters) when SMS_PROVIDER=http' });
      }
    }
  });

export type RawEnv = z.output<typeof ENV_SCHEMA>;

export interface Config {
  env: RawEnv['NODE_ENV'];
  host: string;
  port: number;
  logLevel: RawEnv['LOG_LEVEL'];
  dataDir: string;
  sqlitePath: string;
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
    | { provider: 'http'; url: string; secret: string; timeoutMs: number };
  outboxPath: string;
  logProviderStdout: boolean;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  reports: {
    encryptionKey: string | undefined;
    smsUnitCost: number | undefined;
    retentionDays: number;
    retentionBatchSize: number;
    retentionIntervalMinutes: number;
  };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads the configuration from an environment. Pure; throws ConfigError listing every problem at once. */
export function loadConfig(source: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = ENV_SCHEMA.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'} ${i.message}`));
  }
  const e = parsed.data;
  const outboxPath = e.OUTBOX_PATH ?? `${e.DATA_DIR}/outbox.jsonl`;
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    dataDir: e.DATA_DIR,
    sqlitePath: e.SQLITE_PATH ?? `${e.DATA_DIR}/verify.db`,
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
    jwt: { issuer: e.JWT_ISSUER ?? `http://localhost:${e.PORT}`, ttlSeconds: e.JWT_TTL_SECONDS, privateKeyPem: e.JWT_PRIVATE_KEY },
    sms:
      e.SMS_PROVIDER === 'http'
        ? { provider: 'http', url: e.SMS_HTTP_URL ?? '', secret: e.SMS_HTTP_SECRET ?? '', timeoutMs: e.SMS_HTTP_TIMEOUT_MS }
        : { provider: 'log', outboxPath, stdout: e.LOG_PROVIDER_STDOUT },
    outboxPath,
    logProviderStdout: e.LOG_PROVIDER_STDOUT,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    reports: {
      encryptionKey: e.REPORTS_ENCRYPTION_KEY,
      smsUnitCost: e.REPORTS_SMS_COST,
      retentionDays: e.RETENTION_DAYS,
      retentionBatchSize: e.RETENTION_BATCH_SIZE,
      retentionIntervalMinutes: e.RETENTION_INTERVAL_MINUTES,
    },
  };
}
