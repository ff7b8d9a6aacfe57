import type { SmsProvider, VoiceProvider } from './provider.js';

/**
 * Hands a message to the provider only once every write made before it is committed
 * (storage/sqlite/commit-group.ts batches a turn's writes): a crash can then never leave a code out
 * in the world whose verification or delivery row was lost, nor place a fallback call twice because
 * the claim that guards it had not reached the disk. A failed commit throws before anything is sent.
 */
export function smsAfterCommit(provider: SmsProvider, settled: () => Promise<void>): SmsProvider {
  return {
    name: provider.name,
    async send(message) {
      await settled();
      return provider.send(message);
    },
  };
}

/** The same for flash calls. */
export function voiceAfterCommit(
  provider: VoiceProvider,
  settled: () => Promise<void>,
): VoiceProvider {
  return {
    name: provider.name,
    async call(call) {
      await settled();
      return provider.call(call);
    },
  };
}
