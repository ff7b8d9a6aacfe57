import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createWriteBehindCounters } from '../storage/memory/counters.js';
import { createRedisCounterStore } from '../storage/redis/limits.store.js';
import type { VerificationGuard } from '../limits/guard.js';
import { createAppLimitsService, type AppLimitsService } from '../limits/app-limits.service.js';
import { createBlocklistService, type BlocklistService } from '../limits/blocklist.service.js';
import type { LimitsConfig } from '../limits/limits.config.js';
import { isBudgetKey, isDurableKey, splitCounters } from '../limits/limits.counters.js';
import { createLimitsMetrics, registerRedisGauge } from '../limits/limits.metrics.js';
import { createLimitsGuard } from '../limits/limits.service.js';
import type {
  AppLimitsStore,
  BlocklistStore,
  CounterSnapshot,
  CounterStore,
} from '../limits/limits.store.js';

/** What /readyz reports of the limits' stores: `redis` only when REDIS_URL is set. */
export interface LimitsHealth {
  /** `unavailable`: every instance limits on its own, with budgets divided by LIMITS_INSTANCES. */
  redis?: 'ok' | 'unavailable';
}

export interface Limits {
  guard: VerificationGuard;
  blocklist: BlocklistService;
  appLimits: AppLimitsService;
  counters: CounterStore;
  health(): LimitsHealth;
  close(): Promise<void>;
}

/**
 * Picks the limits' implementations (called from deps.ts): counters in Redis when REDIS_URL is set
 * (shared by every instance, with in-memory insurance), in the database's own counter table
 * otherwise (PostgreSQL: counted in SQL; SQLite: counted in memory, written behind); lock-out state, the blocklist and per-app overrides always in
 * the database every instance shares.
 *
 * A Redis outage is logged twice, whatever the request rate: once when the first request is
 * answered by the insurance, once when Redis answers again (with how many operations the
 * insurance answered meanwhile); each of those operations is counted in rate_limiter_fallbacks_total.
 */
export async function createLimits(options: {
  config: LimitsConfig;
  /** The database's limits stores (storage/stores.ts). */
  stores: {
    counters: CounterStore;
    /** SQLite: the counters are kept in memory and written behind to this table (one instance). */
    counterSnapshot?: CounterSnapshot | undefined;
    blocklist: BlocklistStore;
    appLimits: AppLimitsStore;
  };
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}): Promise<Limits> {
  const { config, stores, clock, logger } = options;
  const metrics = createLimitsMetrics(options.metrics.registry);
  // SQLite without Redis is one instance: its counters live in memory, written behind every second
  // (and at once for lock-out state). PostgreSQL's table, and SQLite's under instances sharing a
  // Redis, is shared by every instance and counts in SQL.
  const database =
    stores.counterSnapshot && !config.redisUrl
      ? createWriteBehindCounters({
          snapshot: stores.counterSnapshot,
          clock,
          writeThrough: isDurableKey,
          onFlushError: (error) =>
            logger.error({ err: error }, 'writing rate-limit counters behind failed; retried'),
        })
      : stores.counters;
  let outage: { since: number; fallbacks: number } | undefined;
  const beginOutage = (operation: string): { since: number; fallbacks: number } => {
    if (!outage) {
      outage = { since: clock.now(), fallbacks: 0 };
      logger.warn(
        { operation, instances: config.instances },
        `Redis unavailable: rate limits answered by each instance's in-memory insurance, every budget divided by LIMITS_INSTANCES=${config.instances}`,
      );
    }
    return outage;
  };
  const redis = config.redisUrl
    ? await createRedisCounterStore({
        url: config.redisUrl,
        keyPrefix: config.redisKeyPrefix,
        commandTimeoutMs: config.redisCommandTimeoutMs,
        insuranceShare: { instances: config.instances, isBudgetKey },
        onFallback: (operation) => {
          metrics.fallbacks.inc({ operation });
          beginOutage(operation).fallbacks += 1;
        },
        onReady: () => {
          if (!outage) return;
          logger.warn(
            { fallbacks: outage.fallbacks, downMs: clock.now() - outage.since },
            'Redis available again: rate limits counted in Redis',
          );
          outage = undefined;
        },
        onConnectionError: (error) =>
          logger.debug({ err: error.message }, 'Redis connection error'),
      })
    : undefined;
  if (redis) registerRedisGauge(options.metrics.registry, () => redis.available());
  // Unreachable at start: the service starts anyway (the insurance answers) and says so once.
  if (redis && !redis.available()) beginOutage('connect');
  const counters = redis ? splitCounters({ shared: redis, durable: database }) : database;
  const blocklistStore = stores.blocklist;
  const appLimitsStore = stores.appLimits;
  return {
    guard: createLimitsGuard({
      counters,
      blocklist: blocklistStore,
      appLimits: appLimitsStore,
      clock,
      config,
      onRefusal: (reason, rule) => metrics.refusals.inc({ reason, rule }),
    }),
    blocklist: createBlocklistService({ store: blocklistStore, clock }),
    appLimits: createAppLimitsService({ store: appLimitsStore, clock, config }),
    counters,
    health: () => (redis ? { redis: redis.available() ? 'ok' : 'unavailable' } : {}),
    close: () => counters.close(),
  };
}
