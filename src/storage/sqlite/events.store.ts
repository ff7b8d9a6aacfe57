import type { EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import { eventRow } from '../event-row.js';
import type { SqliteDb } from './db.js';
import { allPlaceholders } from './prepared.js';
import { events } from './schema.js';

/** Appends events (storage/event-row.ts). One INSERT per event, prepared once: appends never contend on a row. */
export function createSqliteEventRecorder(db: SqliteDb, protector: NumberProtector): EventRecorder {
  const { id: _id, ...columns } = allPlaceholders(events);
  const insert = db.insert(events).values(columns).prepare();
  return {
    record(event) {
      insert.run(eventRow(event, protector));
      return Promise.resolve();
    },
  };
}
