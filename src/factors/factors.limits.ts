import type { FactorGuard } from './factors.guard.js';
import { DomainError } from '../platform/errors.js';
import { canonicalIp } from '../platform/ip.js';
import { counterKeys } from '../limits/limits.counters.js';
import type { CounterStore } from '../limits/limits.store.js';

const HOUR_MS = 3_600_000;

export interface FactorLimits {
  /** Authenticator code checks per user (across all their factors) per hour. */
  userChecksPerHour: number;
  /** Code checks per end-user IP per hour: the same budget as verification checks from that IP. */
  ipChecksPerHour: number;
}

/**
 * Per-user and per-IP limits on authenticator codes, on the same atomic counters as the
 * verification limits. The IP budget is shared with verification checks (same counter key), so an
 * attacker cannot double their guesses by alternating SMS and TOTP checks from one address.
 */
export function createFactorLimitsGuard(deps: {
  counters: CounterStore;
  limits: FactorLimits;
  onRefusal?: (reason: string, rule: string) => void;
}): FactorGuard {
  async function take(name: string, key: string, limit: number): Promise<void> {
    const counter = await deps.counters.hit(key, HOUR_MS);
    if (counter.points <= limit) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(counter.resetInMs / 1000));
    deps.onRefusal?.('rate_limited', `limit:${name}`);
    throw new DomainError('rate_limited', {
      details: { limit: name, retryAfterSeconds },
      retryAfterSeconds,
      rule: `limit:${name}`,
      figures: { count: counter.points, limit, windowSeconds: 3600 },
    });
  }

  return {
    async beforeAttempt(attempt) {
      await take(
        'factor-user-checks:hour',
        counterKeys.rate('factor-user-checks:hour', attempt.app, attempt.user),
        deps.limits.userChecksPerHour,
      );
      const ip = attempt.ip === undefined ? undefined : canonicalIp(attempt.ip);
      if (ip !== undefined)
        await take(
          'ip-checks:hour',
          counterKeys.rate('ip-checks:hour', attempt.app, ip),
          deps.limits.ipChecksPerHour,
        );
    },
    afterAttempt: () => Promise.resolve(),
  };
}
