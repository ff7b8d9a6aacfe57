import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { EventRecord, EventRecorder } from '../../events/events.js';
import type { NumberProtector } from '../../events/number-protection.js';
import { eventRow } from '../shared/events.js';
import type { PostgresDb } from './db.js';
import { placeholdersOf, prefixed } from './prepared.js';
import { events } from './schema.js';

/** The prefix of an event's placeholders in a prepared statement (prepared.ts), whatever else the statement writes. */
const EVENT = 'e_';

/** An event row's placeholders (the id is the column's default), for `.values()` of a prepared statement. */
export const eventPlaceholders = () => placeholdersOf(events, EVENT, ['id']);

/** The values of `eventPlaceholders()` (and of `appendEventPerRow`) for one event. */
export const eventParams = (
  event: EventRecord,
  protector: NumberProtector,
): Record<string, unknown> => prefixed(eventRow(event, protector), EVENT);

/** Appends events (shared/events.ts). One INSERT per event (prepared.ts): appends never contend on a row. */
export function createPostgresEventRecorder(
  db: PostgresDb,
  protector: NumberProtector,
): EventRecorder {
  const append = db.insert(events).values(eventPlaceholders()).prepare('event_append');
  return {
    async record(event) {
      await append.execute(eventParams(event, protector));
    },
  };
}

const eventColumns = getTableColumns(events);

/**
 * `INSERT INTO events (…) SELECT <event> FROM <source>`: appends the event once per row of
 * `source`, a data-modifying CTE of the same statement, so the event is written iff that change
 * was, in the same round trip and commit. The event's values are its placeholders (`eventParams`),
 * each cast to its column's type (a SELECT list, unlike VALUES, gives parameters none).
 */
export function appendEventPerRow(source: string): SQL {
  const entries = Object.entries(eventColumns).filter(([key]) => key !== 'id');
  const names = entries.map(([, column]) => sql.identifier(column.name));
  const values = entries.map(
    ([key, column]) => sql`${sql.placeholder(`${EVENT}${key}`)}::${sql.raw(column.getSQLType())}`,
  );
  return sql`insert into ${events} (${sql.join(names, sql`, `)}) select ${sql.join(values, sql`, `)} from ${sql.identifier(source)}`;
}
