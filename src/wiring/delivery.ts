import type { Config } from '../config.js';
import { smsAfterCommit, voiceAfterCommit } from '../delivery/after-commit.js';
import type { SmsProvider, VoiceProvider } from '../delivery/provider.js';
import { withResilience, withVoiceResilience } from '../delivery/resilience.js';
import type { EventRecorder } from '../events/events.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Stores } from '../storage/stores.js';
import {
  createFlashCalls,
  STRONG_CODE_LENGTH,
  type FlashCalls,
} from '../verification/fallback.service.js';
import { createSmsProvider, createVoiceProvider } from './providers.js';

export interface DeliveryInput {
  config: Config;
  clock: Clock;
  logger: Logger;
  stores: Stores;
  events: EventRecorder;
  pepper: Buffer;
  /** Resolves once every write made so far is committed (database.settled). */
  settled: () => Promise<void>;
  /** Overrides of the configured providers (tests inject fakes). */
  sms?: SmsProvider | undefined;
  voice?: VoiceProvider | undefined;
  onDelivery: (channel: string, provider: string, status: string) => void;
}

/**
 * The SMS provider and the flash calls as the configuration asks for them: retries and a circuit
 * breaker around each provider, and nothing leaving the process before the writes it depends on are
 * committed (after-commit.ts). Flash calls are absent without FLASHCALL_RANGES.
 */
export function createDelivery(input: DeliveryInput): {
  sms: SmsProvider;
  flashCalls: FlashCalls | undefined;
} {
  const { config, clock, logger, settled } = input;
  const resilience = {
    ...config.resilience,
    clock,
    onBreaker: (provider: string, state: 'open' | 'closed') =>
      logger.warn({ provider, state }, `provider circuit breaker ${state}`),
  };
  const sms = smsAfterCommit(
    withResilience(input.sms ?? createSmsProvider(config, clock), resilience),
    settled,
  );
  if (!config.flashCall) return { sms, flashCalls: undefined };
  const { plan, weakCodeMaxAttempts } = config.flashCall;
  const voice = voiceAfterCommit(
    withVoiceResilience(input.voice ?? createVoiceProvider(config, clock), resilience),
    settled,
  );
  const { retries, baseDelayMs } = config.resilience;
  // A claim is taken over only once its instance has surely given up: twice the longest send.
  const longestSendMs =
    config.twilio.timeoutMs * (retries + 1) + baseDelayMs * 1.5 * (2 ** retries - 1);
  const flashCalls = createFlashCalls({
    plan,
    voice,
    verifications: input.stores.verifications,
    store: input.stores.fallbacks,
    events: input.events,
    clock,
    pepper: input.pepper,
    weakCodeMaxAttempts,
    defaultMaxAttempts: config.verification.maxCheckAttempts,
    leaseMs: Math.max(60_000, 2 * longestSendMs),
    onDelivery: input.onDelivery,
  });
  if (plan.codeLength < STRONG_CODE_LENGTH) {
    logger.warn(
      { codeLength: plan.codeLength, maxAttempts: flashCalls.maxAttempts },
      `FLASHCALL_RANGES give ${plan.codeLength}-digit codes, under the 20 bits of OWASP ASVS 2.7.6: flash-call verifications get ${flashCalls.maxAttempts} attempts; use ranges of a million numbers for 6 digits`,
    );
  }
  return { sms, flashCalls };
}
