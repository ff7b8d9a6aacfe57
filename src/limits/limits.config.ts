import { z } from 'zod';
import {
  DEFAULT_DENY_COUNTRIES,
  RATE_RULE_NAMES,
  RATE_RULES,
  type RateRuleName,
} from './limits.rules.js';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const COUNTRY = /^[A-Z]{2}$/;

const rateEnv = Object.fromEntries(
  RATE_RULE_NAMES.map((name) => [
    RATE_RULES[name].env,
    int(1, 1_000_000_000).default(RATE_RULES[name].points),
  ]),
) as {
  [K in RateRuleName as (typeof RATE_RULES)[K]['env']]: z.ZodDefault<ReturnType<typeof int>>;
};

/** The environment variables of rate limiting and abuse detection, merged into config.ts's schema. */
export const LIMITS_ENV = {
  ...rateEnv,
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  // How many instances share REDIS_URL: while Redis is down each one allows 1/N of every budget.
  LIMITS_INSTANCES: int(1, 1000).default(1),
  REDIS_COMMAND_TIMEOUT_MS: int(50, 10_000).default(500),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'must be 1-64 letters, digits, colons, dashes or underscores')
    .default('otp'),
  LOCKOUT_BASE_SECONDS: int(1, 86_400).default(900),
  LOCKOUT_MAX_SECONDS: int(1, 30 * 86_400).default(86_400),
  GEO_DENY_COUNTRIES: z.string().default(DEFAULT_DENY_COUNTRIES.join(',')),
  GEO_DENY_NON_GEOGRAPHIC: bool.default(true),
  BLOCK_VOIP: bool.default(false),
  ABUSE_PREFIX_SUFFIX_DIGITS: int(1, 6).default(3),
  ABUSE_PREFIX_STARTS_10M: int(1, 1_000_000).default(10),
  ABUSE_IP_FANOUT_HOUR: int(1, 1_000_000).default(10),
  ABUSE_SEQUENTIAL_HOUR: int(1, 1_000_000).default(3),
  ABUSE_BLOCK_SCORE: int(1, 1000).default(100),
  ABUSE_CONVERSION_MIN_STARTS: int(1, 1_000_000).default(20),
  ABUSE_CONVERSION_MIN_PERCENT: int(0, 100).default(20),
  ABUSE_COUNTRY_CONVERSION_MIN_STARTS: int(1, 10_000_000).default(200),
  ABUSE_AUTO_BLOCK_SECONDS: int(60, 30 * 86_400).default(86_400),
};

type LimitsEnv = z.output<z.ZodObject<typeof LIMITS_ENV>>;

/** Scores of the abuse signals; a start whose scores add up to `blockScore` is refused. */
export const SIGNAL_SCORES = {
  prefixVelocity: 60,
  ipFanout: 60,
  sequential: 50,
  countryConversion: 50,
} as const;

export interface LimitsConfig {
  rates: Record<RateRuleName, number>;
  redisUrl: string | undefined;
  /** Prefix of every Redis key (REDIS_KEY_PREFIX): deployments or tests sharing one Redis keep apart. */
  redisKeyPrefix: string;
  /**
   * LIMITS_INSTANCES: the instances sharing Redis. While Redis is unavailable each instance counts
   * on its own (rate-limiter-flexible's insurance) and lets through 1/instances of every rate
   * limit, so all of them together stay within the budget.
   */
  instances: number;
  /** A Redis command unanswered this long is answered by the insurance instead (REDIS_COMMAND_TIMEOUT_MS). */
  redisCommandTimeoutMs: number;
  lockout: { baseSeconds: number; maxSeconds: number };
  geo: { denyCountries: string[]; denyNonGeographic: boolean };
  blockVoip: boolean;
  abuse: {
    prefixSuffixDigits: number;
    prefixStartsPer10m: number;
    ipFanoutPerHour: number;
    sequentialPerHour: number;
    blockScore: number;
    conversionMinStarts: number;
    conversionMinPercent: number;
    countryConversionMinStarts: number;
    autoBlockSeconds: number;
  };
}

function countryList(value: string): string[] {
  return value.trim().toLowerCase() === 'none'
    ? []
    : value
        .split(',')
        .map((c) => c.trim().toUpperCase())
        .filter(Boolean);
}

/** Adds one issue per unsafe or malformed limits setting (config.ts reports them all at once). */
export function checkLimitsEnv(
  env: Partial<LimitsEnv> & { NODE_ENV?: string },
  ctx: z.RefinementCtx,
): void {
  const bad = countryList(env.GEO_DENY_COUNTRIES ?? '').filter((c) => !COUNTRY.test(c));
  if (bad.length > 0)
    ctx.addIssue({
      code: 'custom',
      path: ['GEO_DENY_COUNTRIES'],
      message: `must be ISO 3166-1 alpha-2 codes separated by commas, or "none" (bad: ${bad.join(', ')})`,
    });
  if ((env.LOCKOUT_MAX_SECONDS ?? 0) < (env.LOCKOUT_BASE_SECONDS ?? 0)) {
    ctx.addIssue({
      code: 'custom',
      path: ['LOCKOUT_MAX_SECONDS'],
      message: 'must be at least LOCKOUT_BASE_SECONDS',
    });
  }
}

export function limitsConfig(env: LimitsEnv): LimitsConfig {
  const rates = Object.fromEntries(
    RATE_RULE_NAMES.map((name) => [name, env[RATE_RULES[name].env]]),
  ) as Record<RateRuleName, number>;
  return {
    rates,
    redisUrl: env.REDIS_URL,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    instances: env.LIMITS_INSTANCES,
    redisCommandTimeoutMs: env.REDIS_COMMAND_TIMEOUT_MS,
    lockout: { baseSeconds: env.LOCKOUT_BASE_SECONDS, maxSeconds: env.LOCKOUT_MAX_SECONDS },
    geo: {
      denyCountries: countryList(env.GEO_DENY_COUNTRIES),
      denyNonGeographic: env.GEO_DENY_NON_GEOGRAPHIC,
    },
    blockVoip: env.BLOCK_VOIP,
    abuse: {
      prefixSuffixDigits: env.ABUSE_PREFIX_SUFFIX_DIGITS,
      prefixStartsPer10m: env.ABUSE_PREFIX_STARTS_10M,
      ipFanoutPerHour: env.ABUSE_IP_FANOUT_HOUR,
      sequentialPerHour: env.ABUSE_SEQUENTIAL_HOUR,
      blockScore: env.ABUSE_BLOCK_SCORE,
      conversionMinStarts: env.ABUSE_CONVERSION_MIN_STARTS,
      conversionMinPercent: env.ABUSE_CONVERSION_MIN_PERCENT,
      countryConversionMinStarts: env.ABUSE_COUNTRY_CONVERSION_MIN_STARTS,
      autoBlockSeconds: env.ABUSE_AUTO_BLOCK_SECONDS,
    },
  };
}
