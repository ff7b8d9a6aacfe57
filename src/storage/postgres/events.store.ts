import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import { eventRow } from '../event-row.js';
import type { PostgresDb } from './db.js';
import { placeholdersOf, prefixed } from './prepared.js';
import { events } from './schema.js';

/** Appends events (storage/event-row.ts). One INSERT per event (prepared.ts): appends never contend on a row. */
export function createPostgresEventRecorder(db: PostgresDb, protector: NumberProtector): EventRecorder {
  const append = db.insert(events).values(placeholdersOf(events, 'e_', ['id'])).prepare('event_append');
  return {
    async record(event) {
      await append.execute(prefixed(eventRow(event, protector), 'e_'));
    },
  };
}

const eventColumns = getTableColumns(events);

/**
 * `INSERT INTO events (…) SELECT <event> FROM <source>`: appends the event once per row of
 * `source`, a data-modifying CTE of the same statement, so the event is written iff that change
 * was, in the same round trip and commit. The event's values are the placeholders `e_<column>`
 * (`prefixed(eventRow(event), 'e_')`), each cast to its column's type (a SELECT list, unlike
 * VALUES, gives parameters none).
 */
export function appendEventPerRow(source: string): SQL {
  const entries = Object.entries(eventColumns).filter(([key]) => key !== 'id');
  const names = entries.map(([, column]) => sql.identifier(column.name));
  const values = entries.map(([key, column]) => sql`${sql.placeholder(`e_${key}`)}::${sql.raw(column.getSQLType())}`);
  return sql`insert into ${events} (${sql.join(names, sql`, `)}) select ${sql.join(values, sql`, `)} from ${sql.identifier(source)}`;
}
