import type { EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import type { SqliteDb } from './db.js';
import { allPlaceholders } from './prepared.js';
import { events } from './schema.js';

/**
 * Appends events. The number never reaches the table in clear: it is stored as a keyed hash, an
 * AES-256-GCM ciphertext and its prefix. One INSERT per event, prepared once: appends never
 * contend on a row.
 */
export function createSqliteEventRecorder(db: SqliteDb, protector: NumberProtector): EventRecorder {
  const { id: _id, ...columns } = allPlaceholders(events);
  const insert = db.insert(events).values(columns).prepare();
  return {
    record(event) {
      const protectedNumber = event.number ? protector.protect(event.number) : undefined;
      insert.run({
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
      return Promise.resolve();
    },
  };
}
