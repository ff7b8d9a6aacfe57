import type { EventRecord } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';

/**
 * The protector of the event record's numbers, and optionally the source of the outbox entry of a
 * webhook event (events/webhooks.ts webhookFor): written in the record's `webhook` column, which the
 * database's fan-out trigger turns into deliveries in the same statement (docs/webhooks.md).
 */
export type EventWriting = NumberProtector & {
  webhookFor?: ((event: EventRecord) => string | undefined) | undefined;
};

/** The stores' protector with the options' webhook source attached (StoreOptions.webhookFor). */
export function eventWriting(options: {
  protector: NumberProtector;
  webhookFor?: ((event: EventRecord) => string | undefined) | undefined;
}): EventWriting {
  return options.webhookFor === undefined
    ? options.protector
    : { ...options.protector, webhookFor: options.webhookFor };
}

/**
 * The columns of one `events` row, the same on both dialects: the number only as a keyed hash, an
 * AES-256-GCM ciphertext and its prefix, never in clear.
 */
export function eventRow(event: EventRecord, protector: EventWriting) {
  const protectedNumber = event.number ? protector.protect(event.number) : undefined;
  return {
    at: event.at,
    app: event.app ?? null,
    kind: event.kind,
    reason: event.reason,
    rule: event.rule ?? null,
    details:
      event.details && Object.keys(event.details).length > 0 ? JSON.stringify(event.details) : null,
    channel: event.channel ?? null,
    provider: event.provider ?? null,
    providerError: event.providerError ?? null,
    numberHash: protectedNumber?.hash ?? null,
    numberEnc: protectedNumber?.encrypted ?? null,
    prefix: protectedNumber?.prefix ?? null,
    country: event.country ?? null,
    numberType: event.numberType ?? null,
    ip: event.ip ?? null,
    userAgent: event.userAgent ?? null,
    verificationId: event.verificationId ?? null,
    webhook: protector.webhookFor?.(event) ?? null,
  };
}
