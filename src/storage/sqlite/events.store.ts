import type { EventRecorder } from '../../events/events.js';
import type { NumberProtector, ProtectedNumber } from '../../events/number-protection.js';
import type { SqliteDb } from './db.js';
import { allPlaceholders } from './prepared.js';
import { events } from './schema.js';

/** Numbers whose protected form is kept for the next events about them (a start records two or three). */
const RECENT_NUMBERS = 4096;

/**
 * Appends events. The number never reaches the table in clear: it is stored as a keyed hash, an
 * AES-256-GCM ciphertext and its prefix. One INSERT per event, prepared once: appends never
 * contend on a row.
 */
export function createSqliteEventRecorder(db: SqliteDb, protector: NumberProtector): EventRecorder {
  const { id: _id, ...columns } = allPlaceholders(events);
  const insert = db.insert(events).values(columns).prepare();
  // The events of one verification store its number's ciphertext once computed: the same value in
  // several rows tells no more than their equal number_hash already does, and spares an encryption
  // (and its random IV) per row.
  const recent = new Map<string, ProtectedNumber>();
  const protect = (number: string): ProtectedNumber => {
    let value = recent.get(number);
    if (value === undefined) {
      value = protector.protect(number);
      if (recent.size >= RECENT_NUMBERS) recent.delete(recent.keys().next().value as string);
      recent.set(number, value);
    }
    return value;
  };
  return {
    record(event) {
      const protectedNumber = event.number ? protect(event.number) : undefined;
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
