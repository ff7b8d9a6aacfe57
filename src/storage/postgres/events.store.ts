import type { EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import { eventRow } from '../event-row.js';
import type { PostgresDb } from './db.js';
import { events } from './schema.js';

/** Appends events (storage/event-row.ts). One INSERT per event: appends never contend on a row. */
export function createPostgresEventRecorder(db: PostgresDb, protector: NumberProtector): EventRecorder {
  return {
    async record(event) {
      await db.insert(events).values(eventRow(event, protector));
    },
  };
}
