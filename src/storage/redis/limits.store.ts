import { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import type { CounterState, CounterStore, LimitedHit } from '../../limits/limits.store.js';
import { hitUntilOneByOne } from '../../limits/limits.counters.js';
import { assertDistinct } from '../shared/limits.js';

export interface RedisCounterStoreOptions {
  url: string;
  /** Prefix of every key, so several deployments can share one Redis. */
  keyPrefix?: string;
  /** Called whenever an operation was answered by the in-memory insurance because Redis failed. */
  onFallback: (operation: string) => void;
  /** Called on connection errors (ioredis emits them while reconnecting). */
  onConnectionError?: (error: Error) => void;
  /** Called each time the connection becomes ready: the first time, and after every outage. */
  onReady?: () => void;
  /** How long to wait for the first connection before answering from the insurance (ms). */
  connectTimeoutMs?: number;
  /** A command unanswered this long fails and the insurance answers (ms; default 500). */
  commandTimeoutMs?: number;
  /**
   * While the insurance answers, the count of a budget key is reported `instances` times over, so
   * each of `instances` instances lets through 1/instances of the budget and together they stay
   * within it (LIMITS_INSTANCES). Other keys (abuse signals) count per instance.
   */
  insuranceShare?: { instances: number; isBudgetKey: (key: string) => boolean };
}

/** Redis counters, and whether Redis is answering right now (for /readyz and metrics). */
export interface RedisCounterStore extends CounterStore {
  /** True while the connection is ready; false while the insurance answers. */
  available(): boolean;
}

// Limits are compared by the caller (limits.service.ts), so each limiter counts without a ceiling.
const UNLIMITED = Number.MAX_SAFE_INTEGER;

/**
 * hitUntil in one round trip: rate-limiter-flexible's own increment (set NX with the window's TTL,
 * INCRBY, PTTL; RateLimiterRedis's incrTtlLuaScript) applied to each key in order, stopping after
 * the first total over its limit. Atomic as any script; the keys must live on one Redis (no
 * Cluster, which this service does not support). ARGV: points, window seconds, limit per key.
 * Sent by SHA once loaded (ioredis defineCommand).
 */
const HIT_UNTIL_SCRIPT = `local out = {}
for i, key in ipairs(KEYS) do
  local sec = ARGV[3 * i - 1]
  redis.call('set', key, 0, 'EX', sec, 'NX')
  local consumed = redis.call('incrby', key, ARGV[3 * i - 2])
  local ttl = redis.call('pttl', key)
  if ttl == -1 then
    redis.call('expire', key, sec)
    ttl = 1000 * sec
  end
  out[#out + 1] = consumed
  out[#out + 1] = ttl
  if consumed > tonumber(ARGV[3 * i]) then break end
end
return out`;

/**
 * peekMany in one round trip: each key's count and remaining TTL, as RateLimiterRedis's get reads
 * them (GET and PTTL in a MULTI), for every key at once. A missing key gives false (a nil reply),
 * which keeps its place in the array. Sent by SHA once loaded (ioredis defineCommand).
 */
const PEEK_MANY_SCRIPT = `local out = {}
for i, key in ipairs(KEYS) do
  out[2 * i - 1] = redis.call('get', key)
  out[2 * i] = redis.call('pttl', key)
end
return out`;

// Keeps an existing longer hold: sets the key only when its remaining TTL is shorter than asked.
const HOLD_SCRIPT = `local ttl = redis.call('pttl', KEYS[1])
if ttl < tonumber(ARGV[1]) then redis.call('set', KEYS[1], 1, 'PX', ARGV[1]) end
return 1`;

interface InsuranceOptions {
  duration: number;
  prefix: string;
  report: (operation: string) => void;
  share: RedisCounterStoreOptions['insuranceShare'];
}

/**
 * The insurance limiter: rate-limiter-flexible answers from it whenever Redis rejects or is not
 * ready. Subclassed (the library's extension point) to report each use, so the fallback is logged
 * and counted, and to divide budgets among instances (see `insuranceShare`).
 */
function insurance(options: InsuranceOptions): RateLimiterMemory {
  const { report, share } = options;
  class ReportingMemoryLimiter extends RateLimiterMemory {
    override async consume(
      key: string | number,
      points?: number,
      consumeOptions?: Record<string, unknown>,
    ): Promise<RateLimiterRes> {
      report('consume');
      const res = await super.consume(key, points, consumeOptions);
      if (!share || share.instances <= 1 || !share.isBudgetKey(String(key))) return res;
      return new RateLimiterRes(
        res.remainingPoints,
        res.msBeforeNext,
        res.consumedPoints * share.instances,
        res.isFirstInDuration,
      );
    }
    override get(
      key: string | number,
      getOptions?: Record<string, unknown>,
    ): Promise<RateLimiterRes | null> {
      report('get');
      return super.get(key, getOptions);
    }
  }
  return new ReportingMemoryLimiter({
    points: UNLIMITED,
    duration: options.duration,
    keyPrefix: options.prefix,
  });
}

/**
 * Counters in Redis through rate-limiter-flexible's RateLimiterRedis (an atomic Lua INCRBY + TTL,
 * so every instance shares one budget), each with an in-memory insurance limiter that keeps the
 * service answering when Redis is unavailable: refused, unreachable, or not answering within
 * `commandTimeoutMs`. A Redis that stops answering on an open connection is disconnected, so the
 * requests after the first timed-out one are answered at once from the insurance instead of each
 * waiting out the timeout; ioredis reconnects in the background and the counters go back to Redis
 * as soon as it answers.
 */
export async function createRedisCounterStore(
  options: RedisCounterStoreOptions,
): Promise<RedisCounterStore> {
  const prefix = options.keyPrefix ?? 'otp';
  const connectTimeout = options.connectTimeoutMs ?? 2000;
  const client = new Redis(options.url, {
    // Fail fast instead of queueing: a request must not wait for Redis to come back.
    enableOfflineQueue: false,
    // Commands issued in the same tick (a batch's peeks and hits) leave in one write: one round trip.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 1,
    connectTimeout,
    commandTimeout: options.commandTimeoutMs ?? 500,
    // A dropped connection to a frozen Redis never gets its FIN answered: destroy it at once.
    disconnectTimeout: 50,
    lazyConnect: true,
  });
  let dropping = false;
  client.on('close', () => (dropping = false));
  client.on('error', (error: Error) => options.onConnectionError?.(error));
  client.on('ready', () => options.onReady?.());
  await Promise.race([
    client.connect().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, connectTimeout).unref()),
  ]);

  const drop = (): void => {
    // Answered by the insurance although the connection looks ready: a command timed out (a frozen
    // or partitioned Redis) or failed. Dropping the connection makes the next operations fail fast
    // (not ready) until a reconnect, ready check included, succeeds.
    if (client.status === 'ready' && !dropping) {
      dropping = true;
      client.disconnect(true);
    }
  };
  const report = (operation: string): void => {
    drop();
    options.onFallback(operation);
  };
  client.defineCommand('otpHitUntil', { lua: HIT_UNTIL_SCRIPT });
  client.defineCommand('otpPeekMany', { lua: PEEK_MANY_SCRIPT });
  client.defineCommand('otpHold', { lua: HOLD_SCRIPT, numberOfKeys: 1 });
  const scripts = client as unknown as {
    otpHitUntil: (...args: (string | number)[]) => Promise<number[]>;
    otpPeekMany: (...args: (string | number)[]) => Promise<(string | number | null)[]>;
    otpHold: (key: string, durationMs: string) => Promise<number>;
  };
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
        insuranceLimiter: insurance({ duration, prefix, report, share: options.insuranceShare }),
      });
      limiters.set(duration, limiter);
    }
    return limiter;
  };
  const holdMemory = insurance({ duration: 1, prefix, report, share: undefined });
  const holds: RateLimiterAbstract = new RateLimiterRedis({
    storeClient: client,
    points: UNLIMITED,
    duration: 1,
    keyPrefix: prefix,
    rejectIfRedisNotReady: true,
    insuranceLimiter: holdMemory,
  });

  async function hit(key: string, windowMs: number, cost = 1): Promise<CounterState> {
    const res = await limiterFor(windowMs).consume(key, cost);
    return { points: res.consumedPoints, resetInMs: Math.max(0, res.msBeforeNext) };
  }

  /** One key through RateLimiterRedis, which answers from the insurance when Redis cannot (peekMany's fallback). */
  async function peekThroughLimiter(key: string): Promise<CounterState> {
    const res = await holds.get(key);
    return res && res.msBeforeNext !== 0
      ? { points: res.consumedPoints, resetInMs: Math.max(0, res.msBeforeNext) }
      : { points: 0, resetInMs: 0 };
  }

  /** Every key in one script (PEEK_MANY_SCRIPT): a start reads seven counters here before it counts anything. */
  async function peekMany(keys: readonly string[]): Promise<CounterState[]> {
    if (keys.length === 0) return [];
    try {
      if (client.status !== 'ready' || dropping) throw new Error('Redis connection is not ready');
      const out = await scripts.otpPeekMany(keys.length, ...keys.map((key) => `${prefix}:${key}`));
      return keys.map((_, i): CounterState => {
        const points = out[2 * i];
        const ttl = Number(out[2 * i + 1]);
        // As RateLimiterRedis's get reads it: no key, or a key expiring now, counts nothing.
        return points === null || points === undefined || ttl === 0
          ? { points: 0, resetInMs: 0 }
          : { points: Number.parseInt(String(points), 10), resetInMs: Math.max(0, ttl) };
      });
    } catch {
      // Each key through the limiter, which answers from the insurance (each counted as a fallback).
      drop();
      return Promise.all(keys.map((key) => peekThroughLimiter(key)));
    }
  }

  /** One script (HIT_UNTIL_SCRIPT): whether a hit happens depends on the total before it. */
  async function hitUntil(batch: readonly LimitedHit[]): Promise<CounterState[]> {
    if (batch.length === 0) return [];
    assertDistinct(batch);
    // Windows of whole seconds, as RateLimiterRedis counts them (its duration is ceil(ms / 1000)).
    const seconds = batch.map((h) => Math.max(1, Math.ceil(h.windowMs / 1000)));
    try {
      if (client.status !== 'ready' || dropping) throw new Error('Redis connection is not ready');
      const args = batch.flatMap((h, i) => [
        String(h.cost ?? 1),
        String(seconds[i]),
        String(h.limit),
      ]);
      const out = await scripts.otpHitUntil(
        batch.length,
        ...batch.map((h) => `${prefix}:${h.key}`),
        ...args,
      );
      const totals: CounterState[] = [];
      for (let i = 0; i + 1 < out.length; i += 2)
        totals.push({ points: Number(out[i]), resetInMs: Math.max(0, Number(out[i + 1])) });
      return totals;
    } catch {
      // As for any single hit, the insurance answers (each hit below is counted as a fallback);
      // a connection that timed out is dropped first, so they do not each wait for Redis again.
      drop();
      return hitUntilOneByOne({ hit }, batch);
    }
  }

  return {
    available: () => client.status === 'ready' && !dropping,
    hit,
    peek: async (key) => (await peekMany([key]))[0] as CounterState,
    peekMany,

    // The same script with no limit: every key counted, in one round trip.
    hitMany: (batch) => hitUntil(batch.map((h) => ({ ...h, limit: UNLIMITED }))),
    hitUntil,

    async hold(key, durationMs) {
      try {
        if (client.status !== 'ready') throw new Error('Redis connection is not ready');
        await scripts.otpHold(`${prefix}:${key}`, String(durationMs));
      } catch {
        report('hold');
        // The unreported get: this fallback is already counted once, as 'hold'.
        const current = await RateLimiterMemory.prototype.get.call(holdMemory, key);
        if (!current || current.msBeforeNext < durationMs)
          await holdMemory.set(key, 1, Math.ceil(durationMs / 1000));
      }
    },

    async close() {
      client.disconnect();
      return Promise.resolve();
    },
  };
}
