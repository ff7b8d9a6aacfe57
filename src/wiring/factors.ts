import type { Config } from '../config.js';
import type { EventRecorder } from '../events/events.js';
import type { FactorGuard } from '../factors/factors.guard.js';
import { createFactorLimitsGuard } from '../factors/factors.limits.js';
import { createFactorService, type FactorService } from '../factors/factors.service.js';
import { createSecretBox } from '../factors/secret-box.js';
import type { CounterStore } from '../limits/limits.store.js';
import type { Clock } from '../platform/clock.js';
import type { Stores } from '../storage/stores.js';
import type { TokenIssuer } from '../tokens/tokens.js';
import type { Secrets } from './secrets.js';

/**
 * TOTP factors (called from deps.ts): secrets sealed with FACTORS_ENCRYPTION_KEY's keys, per-user
 * and per-IP limits on the shared counters unless a test passes its own guard.
 */
export function createFactors(options: {
  config: Config;
  stores: Stores;
  secrets: Secrets;
  counters: CounterStore;
  events: EventRecorder;
  tokens: TokenIssuer;
  clock: Clock;
  guard?: FactorGuard;
}): FactorService {
  const { config, stores, secrets } = options;
  return createFactorService({
    store: stores.factors,
    apps: stores.apps,
    box: createSecretBox(secrets.factorKeys),
    events: options.events,
    tokens: options.tokens,
    clock: options.clock,
    pepper: secrets.pepper,
    guard:
      options.guard ??
      createFactorLimitsGuard({
        counters: options.counters,
        limits: {
          userChecksPerHour: config.factors.userChecksPerHour,
          ipChecksPerHour: config.limits.rates['ip-checks:hour'],
        },
      }),
    limits: {
      maxAttempts: config.verification.maxCheckAttempts,
      lockoutSeconds: config.factors.lockoutSeconds,
      maxPerUser: config.factors.maxPerUser,
      enrolmentTtlSeconds: config.factors.enrolmentTtlSeconds,
    },
  });
}
