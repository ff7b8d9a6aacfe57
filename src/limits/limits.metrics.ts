import { Counter, Gauge, type Registry } from 'prom-client';

export interface LimitsMetrics {
  refusals: Counter<'reason' | 'rule'>;
  fallbacks: Counter<'operation'>;
}

/** The limits' own counters, on the app's registry (GET /metrics). */
export function createLimitsMetrics(registry: Registry): LimitsMetrics {
  return {
    refusals: new Counter({
      name: 'limit_refusals_total',
      help: 'Starts and checks refused by a rate limit or abuse rule, by reason and rule',
      labelNames: ['reason', 'rule'],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'rate_limiter_fallbacks_total',
      help: 'Rate-limiter operations answered by the in-memory insurance because Redis was unavailable',
      labelNames: ['operation'],
      registers: [registry],
    }),
  };
}

/** `rate_limiter_redis_available`: 1 while Redis answers, 0 while the insurance does (read at each scrape). */
export function registerRedisGauge(registry: Registry, available: () => boolean): void {
  new Gauge({
    name: 'rate_limiter_redis_available',
    help: 'Whether the rate limiters reach Redis (1) or answer from the per-instance insurance (0)',
    registers: [registry],
    collect() {
      this.set(available() ? 1 : 0);
    },
  });
}
