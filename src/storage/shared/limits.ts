import { and, asc, eq, gt, inArray, isNull, or, sql, type SQL } from 'drizzle-orm';
import type {
  AppLimitOverrides,
  AppLimitsRecord,
  BlockAction,
  BlockEntry,
  BlockKind,
  BlockSubject,
  CounterState,
} from '../../limits/limits.store.js';
import type { Columns, RowOf, SqlDialect } from './sql.js';

/**
 * The rules of the limits stores (limits/limits.store.ts) the dialects share: how a batch of
 * counter hits is checked and read back, when ended windows are purged, which blocklist entries
 * can apply to a start, and how per-app overrides are stored. The counters' own statements stay in
 * each dialect: they are the hottest of a start, written in each dialect's SQL.
 */

// --- Rate counters ---------------------------------------------------------------------------

/** Ended windows are dead rows: every PURGE_EVERY-th hit deletes up to PURGE_EVERY of them (bounded work per request). */
export const PURGE_EVERY = 1000;

/** Counts hits and says when a purge of ended windows is due: each time the count crosses a multiple of PURGE_EVERY. */
export function purgeSchedule(): (hits: number) => boolean {
  let total = 0;
  return (hits) => {
    const before = total;
    total += hits;
    return Math.floor(total / PURGE_EVERY) !== Math.floor(before / PURGE_EVERY);
  };
}

/** A rate_counters row as both dialects return it from raw SQL (PostgreSQL's bigint comes as a string). */
export interface CounterRow {
  key: string;
  points: number | string;
  expires_at: number | string;
}

/** One counter's state at `now` from its row. */
export function counterState(row: CounterRow, now: number): CounterState {
  return { points: Number(row.points), resetInMs: Math.max(0, Number(row.expires_at) - now) };
}

/**
 * A batch's rows (in whatever order the statement returned them) in the order of its keys; a key
 * without a row is absent or expired (peeks).
 */
export function inOrder(
  keys: readonly string[],
  rows: readonly CounterRow[],
  now: number,
  expectEvery: boolean,
): CounterState[] {
  const byKey = new Map(rows.map((row) => [row.key, row]));
  return keys.map((key) => {
    const row = byKey.get(key);
    if (!row) {
      if (expectEvery) throw new Error(`counter batch returned no row for ${key}`);
      return { points: 0, resetInMs: 0 };
    }
    return counterState(row, now);
  });
}

/**
 * Refuses a batch that names a key twice, before it runs: one upsert of a key twice would apply
 * both (SQLite) or fail (PostgreSQL), and the two totals could not be told apart.
 */
export function assertDistinct(batch: readonly { key: string }[]): void {
  if (new Set(batch.map((h) => h.key)).size !== batch.length)
    throw new Error('counter batch with duplicate keys');
}

// --- Blocklist -------------------------------------------------------------------------------

type Blocklist = Columns<'id' | 'kind' | 'value' | 'action' | 'createdAt' | 'expiresAt'>;

/** An E.164 number has at most 16 characters: '+' and 15 digits. */
const MAX_NUMBER_LENGTH = 16;

/**
 * The condition of "every blocklist entry that could apply to one start", for a statement prepared
 * once with the parameters of `candidateParams`. Decisions read the table each time, so a change
 * made by any instance applies to the next request everywhere. Prefix entries are looked up by the
 * number's own prefixes (index equality on kind and value), so expired or unrelated prefix blocks
 * piling up over the years are never read. An absent country or address is NULL, which equals
 * nothing: its branch matches no row.
 */
export function candidatesCondition(t: Columns<'kind' | 'value' | 'expiresAt'>): SQL | undefined {
  const p = sql.placeholder;
  const prefixes = Array.from({ length: MAX_NUMBER_LENGTH }, (_, i) => p(`prefix${i}`));
  return and(
    or(isNull(t.expiresAt), gt(t.expiresAt, p('now'))),
    or(
      and(eq(t.kind, 'number'), eq(t.value, p('number'))),
      and(eq(t.kind, 'prefix'), inArray(t.value, prefixes)),
      and(eq(t.kind, 'country'), eq(t.value, p('country'))),
      and(eq(t.kind, 'ip'), eq(t.value, p('ip'))),
      eq(t.kind, 'cidr'),
    ),
  );
}

/** The parameters of `candidatesCondition` for one start: every prefix of the number, shortest first, padded with the whole number. */
export function candidateParams(
  subject: BlockSubject,
  now: number,
): Record<string, string | number | null> {
  const params: Record<string, string | number | null> = {
    number: subject.number,
    country: subject.country ?? null,
    ip: subject.ip ?? null,
    now,
  };
  for (let i = 0; i < MAX_NUMBER_LENGTH; i++) params[`prefix${i}`] = subject.number.slice(0, i + 1);
  return params;
}

export function asBlockEntry(row: RowOf<BlockEntry>): BlockEntry {
  return row as BlockEntry;
}

/** Unexpired entries, optionally of one kind or action (BlocklistStore.list). */
export function listed(
  b: Blocklist,
  now: number,
  filter: { kind?: BlockKind | undefined; action?: BlockAction | undefined },
): SQL | undefined {
  return and(
    or(isNull(b.expiresAt), gt(b.expiresAt, now)),
    filter.kind ? eq(b.kind, filter.kind) : undefined,
    filter.action ? eq(b.action, filter.action) : undefined,
  );
}

/** Oldest first, then by id. */
export function byCreation(b: Blocklist): SQL[] {
  return [asc(b.createdAt), asc(b.id)];
}

/**
 * The automatic prefix block, inserted iff no unexpired block of the same prefix exists, in one
 * statement. On its own it settles concurrent callers only where writers are serialised (SQLite);
 * PostgreSQL runs it under a lock of the prefix (see its store).
 */
export function autoPrefixInsert(entry: BlockEntry, now: number, dialect: SqlDialect): SQL {
  return sql`
    INSERT INTO blocklist (id, kind, value, action, reason, created_by, created_at, expires_at)
    SELECT ${entry.id}, 'prefix', ${entry.value}, 'block', ${entry.reason}, ${entry.createdBy}, ${dialect.typed(entry.createdAt, 'bigint')}, ${dialect.typed(entry.expiresAt, 'bigint')}
    WHERE NOT EXISTS (
      SELECT 1 FROM blocklist
      WHERE kind = 'prefix' AND value = ${entry.value} AND action = 'block' AND (expires_at IS NULL OR expires_at > ${now})
    )`;
}

// --- Per-app overrides -----------------------------------------------------------------------

/** Overrides are stored as JSON and replaced as a whole. */
export function appLimitsRow(app: string, overrides: AppLimitOverrides, now: number) {
  return { app, overrides: JSON.stringify(overrides), updatedAt: now };
}

export function asAppLimits(row: {
  app: string;
  overrides: string;
  updatedAt: number;
}): AppLimitsRecord {
  return {
    app: row.app,
    overrides: JSON.parse(row.overrides) as AppLimitOverrides,
    updatedAt: row.updatedAt,
  };
}
