import { getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { EventRecord, EventRecorder } from '../../events/events.js';
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

const eventColumns = getTableColumns(events);

/**
 * `INSERT INTO events (…) SELECT <event> FROM <source>`: appends the event once per row of
 * `source`, a data-modifying CTE of the same statement, so the event is written iff that change
 * was, in the same round trip and commit. Each parameter is cast to its column's type (a SELECT
 * list, unlike VALUES, gives parameters none).
 */
export function appendEventPerRow(source: string, event: EventRecord, protector: NumberProtector): SQL {
  const entries = Object.entries(eventRow(event, protector)) as [keyof typeof eventColumns, string | number | null][];
  const names = entries.map(([key]) => sql.identifier(eventColumns[key].name));
  const values = entries.map(([key, value]) => sql`${value}::${sql.raw(eventColumns[key].getSQLType())}`);
  return sql`insert into ${events} (${sql.join(names, sql`, `)}) select ${sql.join(values, sql`, `)} from ${sql.identifier(source)}`;
}
