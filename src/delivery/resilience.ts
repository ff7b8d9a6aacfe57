import type { Clock } from '../platform/clock.js';
import type { SendResult, SmsProvider, VoiceProvider } from './provider.js';

export interface ResilienceOptions {
  clock: Clock;
  /** Retries after the first try, for transient failures only (5xx, timeouts, network errors). */
  retries: number;
  /** First backoff; doubled per retry, with ±50 % jitter so instances do not retry in lockstep. */
  baseDelayMs: number;
  /** Consecutive transient failures (after retries) that open the breaker. */
  breakerThreshold: number;
  /** How long an open breaker refuses sends before letting one trial through. */
  breakerCooldownMs: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Told when the breaker opens or closes (for logs and metrics). */
  onBreaker?: (provider: string, state: 'open' | 'closed') => void;
}

export interface CircuitBreaker {
  /** True while sends are refused without trying. */
  isOpen(): boolean;
  success(): void;
  failure(): void;
}

/**
 * Per-provider, per-process circuit breaker: after `threshold` consecutive failures it opens for
 * `cooldownMs`, then lets one trial through (half-open); a success closes it, a failure opens it
 * again. While open, a send fails at once with `circuit_open`, so the fallback happens now instead
 * of after a timeout per request.
 */
export function createCircuitBreaker(
  name: string,
  options: Pick<
    ResilienceOptions,
    'clock' | 'breakerThreshold' | 'breakerCooldownMs' | 'onBreaker'
  >,
): CircuitBreaker {
  let failures = 0;
  let openUntil = 0;
  let trialInFlight = false;
  return {
    isOpen() {
      if (failures < options.breakerThreshold) return false;
      if (options.clock.now() < openUntil || trialInFlight) return true;
      trialInFlight = true; // half-open: this caller is the one trial
      return false;
    },
    success() {
      const wasOpen = failures >= options.breakerThreshold;
      failures = 0;
      trialInFlight = false;
      if (wasOpen) options.onBreaker?.(name, 'closed');
    },
    failure() {
      failures += 1;
      trialInFlight = false;
      if (failures >= options.breakerThreshold) {
        if (options.clock.now() >= openUntil) options.onBreaker?.(name, 'open');
        openUntil = options.clock.now() + options.breakerCooldownMs;
      }
    },
  };
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function resilient<T>(
  name: string,
  send: (input: T) => Promise<SendResult>,
  options: ResilienceOptions,
): (input: T) => Promise<SendResult> {
  const breaker = createCircuitBreaker(name, options);
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  return async function sendWithRetries(input) {
    if (breaker.isOpen()) {
      return {
        status: 'failed',
        errorCode: 'circuit_open',
        errorMessage: `${name} failed repeatedly; not tried until its breaker closes`,
        transient: false,
      };
    }
    let result: SendResult = await send(input);
    for (
      let retry = 0;
      retry < options.retries && result.status === 'failed' && result.transient === true;
      retry++
    ) {
      await sleep(Math.round(options.baseDelayMs * 2 ** retry * (0.5 + random())));
      result = await send(input);
    }
    if (result.status === 'sent') breaker.success();
    else if (result.transient === true) breaker.failure();
    else breaker.success(); // a 4xx is the request's fault, not the gateway's health
    return result;
  };
}

/** Wraps an SMS provider with retries (transient failures only) and a circuit breaker. */
export function withResilience(provider: SmsProvider, options: ResilienceOptions): SmsProvider {
  return {
    name: provider.name,
    send: resilient(`sms:${provider.name}`, (m) => provider.send(m), options),
  };
}

/** Wraps a voice provider with retries (transient failures only) and a circuit breaker. */
export function withVoiceResilience(
  provider: VoiceProvider,
  options: ResilienceOptions,
): VoiceProvider {
  return {
    name: provider.name,
    call: resilient(`voice:${provider.name}`, (c) => provider.call(c), options),
  };
}
