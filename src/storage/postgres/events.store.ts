import type { EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import type { PostgresDb } from './db.js';
import { events } from './schema.js';

/**
 * Appends events, the number only as a keyed hash, an AES-256-GCM ciphertext and its prefix
 * (see storage/sqlite/events.store.ts). One INSERT per event: appends never contend on a row.
 */
export function createPostgresEventRecorder(db: PostgresDb, protector: NumberProtector): EventRecorder {
  return {
    async record(event) {
      const protectedNumber = event.number ? protector.protect(event.number) : undefined;
      await db.insert(events).values({
        at: event.at,
        app: event.app ?? null,
        kind: event.kind,
        reason: event.reason,
        rule: event.rule ?? null,
        details: event.details && Object.keys(event.details).length > 0 ? JSON.stringify(event.details) : null,
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
      });
    },
  };
}
