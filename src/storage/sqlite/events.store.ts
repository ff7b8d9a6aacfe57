import type { EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import type { SqliteDb } from './db.js';
import { events } from './schema.js';

/**
 * Appends events. The number never reaches the table in clear: it is stored as a keyed hash, an
 * AES-256-GCM ciphertext and its prefix. One INSERT per event: appends never contend on a row.
 */
export function createSqliteEventRecorder(db: SqliteDb, protector: NumberProtector): EventRecorder {
  return {
    record(event) {
      const { number, ...rest } = event;
      const protectedNumber = number ? protector.protect(number) : undefined;
      db.insert(events)
        .values({
          ...rest,
          numberHash: protectedNumber?.hash,
          numberEnc: protectedNumber?.encrypted,
          prefix: protectedNumber?.prefix,
          details: event.details && Object.keys(event.details).length > 0 ? JSON.stringify(event.details) : null,
        })
        .run();
      return Promise.resolve();
    },
  };
}
