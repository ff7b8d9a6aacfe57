import type { EventRecorder } from '../../events/events.js';
import type { SqliteDb } from './db.js';
import { events } from './schema.js';

export function createSqliteEventRecorder(db: SqliteDb): EventRecorder {
  return {
    record(event) {
      db.insert(events)
        .values({ ...event, details: event.details && Object.keys(event.details).length > 0 ? JSON.stringify(event.details) : null })
        .run();
      return Promise.resolve();
    },
  };
}
