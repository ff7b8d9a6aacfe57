import type { EventRecord, EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import { eventRow } from '../shared/events.js';
import type { SqliteDb } from './db.js';
import { allPlaceholders } from './prepared.js';
import { events } from './schema.js';

/** Appends events (shared/events.ts). One INSERT per event, prepared once: appends never contend on a row. */
export function createSqliteEventRecorder(db: SqliteDb, protector: NumberProtector): EventRecorder {
  const append = prepareEventAppend(db, protector);
  return {
    record(event) {
      append(event);
      return Promise.resolve();
    },
  };
}

/** The prepared append, for stores that write an event in the same transaction as their own change. */
export function prepareEventAppend(
  db: SqliteDb,
  protector: NumberProtector,
): (event: EventRecord) => void {
  const { id: _id, ...columns } = allPlaceholders(events);
  const insert = db.insert(events).values(columns).prepare();
  return (event) => void insert.run(eventRow(event, protector));
}
