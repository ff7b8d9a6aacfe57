import type { EventRecord } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';

/**
 * The columns of one `events` row, the same on both dialects: the number only as a keyed hash, an
 * AES-256-GCM ciphertext and its prefix, never in clear.
 */
export function eventRow(event: EventRecord, protector: NumberProtector) {
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
  };
}
