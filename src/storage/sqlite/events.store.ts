import type { EventRecorder } from '../../events/events.js';
import type { SqliteDb } from './db.js';
import { allPlaceholders } from './prepared.js';
import { events } from './schema.js';

export function createSqliteEventRecorder(db: SqliteDb): EventRecorder {
  const { id: _id, ...columns } = allPlaceholders(events);
  const insert = db.insert(events).values(columns).prepare();
  return {
    record(event) {
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
        number: event.number ?? null,
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
