import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import type { CounterStore } from '../../limits/limits.store.js';

export interface RedisCounterStoreOptions {
  url: string;
  /** Prefix of every key, so several deployments can share one Redis. */
  keyPrefix?: string;
  /** Called whenever an operation was answered by the in-memory insurance because Redis failed. */
  onFallback: (operation: string) => void;
  /** Called on connection errors (ioredis emits them while reconnecting). */
  onConnectionError?: (error: Error) => void;
  /** How long to wait for the first connection before answering from the insurance (ms). */
  connectTimeoutMs?: number;
}

// Limits are compared by the caller (limits.service.ts), so each limiter counts without a ceiling.
const UNLIMITED = Number.MAX_SAFE_INTEGER;

// Keeps an existing longer hold: sets the key only when its remaining TTL is shorter than asked.
const HOLD_SCRIPT = `local ttl = redis.call('pttl', KEYS[1])
if ttl < tonumber(ARGV[1]) then redis.call('set', KEYS[1], 1, 'PX', ARGV[1]) end
return 1`;

/**
 * The insurance limiter: rate-limiter-flexible answers from it whenever Redis rejects or is not
 * ready. Subclassed (the library's extension point) only to report each use, so the fallback is
 * logged and counted. While Redis is down each instance counts on its own: a shared budget of N
 * becomes at most N per instance until Redis is back.
 */
function insurance(duration: number, prefix: string, report: (operation: string) => void): RateLimiterMemory {
  class ReportingMemoryLimiter extends RateLimiterMemory {
    override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
      report('consume');
      return super.consume(key, points, options);
    }
    override get(key: string | number, options?: Record<string, unknown>): Promise<RateLimiterRes | null> {
      report('get');
      return super.get(key, options);
    }
  }
  return new ReportingMemoryLimiter({ points: UNLIMITED, duration, keyPrefix: prefix });
}

/**
 * Counters in Redis through rate-limiter-flexible's RateLimiterRedis (an atomic Lua INCRBY + TTL,
 * so every instance shares one budget), each with an in-memory insurance limiter that keeps the
 * service answering when Redis is unavailable.
 */
export async function createRedisCounterStore(options: RedisCounterStoreOptions): Promise<CounterStore> {
  const prefix = options.keyPrefix ?? 'otp';
  const client = new Redis(options.url, {
    // Fail fast instead of queueing: a request must not wait for Redis to come back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    lazyConnect: true,
  });
  client.on('error', (error: Error) => options.onConnectionError?.(error));
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  await Promise.race([client.connect().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, connectTimeout).unref())]);

  const report = options.onFallback;
  const limiters = new Map<number, RateLimiterRedis>();
  const limiterFor = (windowMs: number): RateLimiterRedis => {
    const duration = Math.max(1, Math.ceil(windowMs / 1000));
    let limiter = limiters.get(duration);
    if (!limiter) {
      limiter = new RateLimiterRedis({
        storeClient: client,
        points: UNLIMITED,
        duration,
        keyPrefix: prefix,
        rejectIfRedisNotReady: true,
        insuranceLimiter: insurance(duration, prefix, report),
      });
      limiters.set(duration, limiter);
    }
    return limiter;
  };
  const holdMemory = insurance(1, prefix, report);
  const holds: RateLimiterAbstract = new RateLimiterRedis({ storeClient: client, points: UNLIMITED, duration: 1, keyPrefix: prefix, rejectIfRedisNotReady: true, insuranceLimiter: holdMemory });

  return {
    async hit(key, windowMs, cost = 1) {
      const res = await limiterFor(windowMs).consume(key, cost);
      return { points: res.consumedPoints, resetInMs: Math.max(0, res.msBeforeNext) };
    },

    async peek(key) {
      const res = await holds.get(key);
      return res && res.msBeforeNext !== 0 ? { points: res.consumedPoints, resetInMs: Math.max(0, res.msBeforeNext) } : { points: 0, resetInMs: 0 };
    },

    async hold(key, durationMs) {
      try {
        if (client.status !== 'ready') throw new Error('Redis connection is not ready');
        await client.eval(HOLD_SCRIPT, 1, `${prefix}:${key}`, String(durationMs));
      } catch {
        report('hold');
        // The unreported get: this fallback is already counted once, as 'hold'.
        const current = await RateLimiterMemory.prototype.get.call(holdMemory, key);
        if (!current || current.msBeforeNext < durationMs) await holdMemory.set(key, 1, Math.ceil(durationMs / 1000));
      }
    },

    async close() {
      client.disconnect();
      return Promise.resolve();
    },
  };
}
