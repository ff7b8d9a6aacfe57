import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { createRedisCounterStore } from '../storage/redis/limits.store.js';
import type { VerificationGuard } from '../verification/guard.js';
import { createAppLimitsService, type AppLimitsService } from './app-limits.service.js';
import { createBlocklistService, type BlocklistService } from './blocklist.service.js';
import type { LimitsConfig } from './limits.config.js';
import { createLimitsMetrics } from './limits.metrics.js';
import { createLimitsGuard } from './limits.service.js';
import type { AppLimitsStore, BlocklistStore, CounterStore } from './limits.store.js';

export interface Limits {
  guard: VerificationGuard;
  blocklist: BlocklistService;
  appLimits: AppLimitsService;
  counters: CounterStore;
  close(): Promise<void>;
}

const FALLBACK_LOG_INTERVAL_MS = 10_000;

/**
 * Picks the limits' implementations (called from deps.ts): counters in Redis when REDIS_URL is set
 * (shared by every instance, with in-memory insurance), in the database's own counter table
 * otherwise (SQLite or PostgreSQL); the blocklist and per-app overrides always in the database
 * every instance shares.
 */
export async function createLimits(options: {
  config: LimitsConfig;
  /** The database's limits stores (storage/stores.ts). */
  stores: { counters: CounterStore; blocklist: BlocklistStore; appLimits: AppLimitsStore };
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
}): Promise<Limits> {
  const { config, stores, clock, logger } = options;
  const metrics = createLimitsMetrics(options.metrics.registry);
  let lastFallbackLog = -Infinity;
  const counters = config.redisUrl
    ? await createRedisCounterStore({
        url: config.redisUrl,
        onFallback: (operation) => {
          metrics.fallbacks.inc({ operation });
          const now = clock.now();
          if (now - lastFallbackLog >= FALLBACK_LOG_INTERVAL_MS) {
            lastFallbackLog = now;
            logger.warn({ operation }, 'Redis unavailable: rate limits answered by the per-instance in-memory insurance limiter');
          }
        },
        onConnectionError: (error) => logger.debug({ err: error.message }, 'Redis connection error'),
      })
    : stores.counters;
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
    close: () => counters.close(),
  };
}
