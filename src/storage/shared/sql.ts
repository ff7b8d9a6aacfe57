import type { Column, SQL, SQLWrapper } from 'drizzle-orm';

/**
 * The columns a shared builder reads, taken from either dialect's table: drizzle's condition helpers
 * (`eq`, `and`, `lt`, `sql`…) accept any dialect's `Column`, so one builder serves sqliteTable and
 * pgTable alike, and each dialect passes its own table.
 */
export type Columns<K extends string> = Record<K, Column>;

/** A value compared in a condition: a JS value (bound as a parameter) or SQL (a prepared statement's placeholder, an expression). */
export type Operand<T> = T | SQLWrapper;

/** A value written by a SET or VALUES: a JS value, or SQL (a typed placeholder, an expression). */
export type Written<T> = T | SQL;

/** A row as the database returns it: the record's fields, with its string unions read back as plain strings. */
export type RowOf<T> = { [K in keyof T]: Widened<T[K]> };
type Widened<V> = V extends string ? string : V;

/** The SQL types the dialects are told a value has where they cannot infer it. */
export type SqlType = 'bigint' | 'text';

/**
 * What the two dialects spell differently inside statements that are otherwise the same, so a shared
 * builder produces each dialect's own SQL text: the statements a start and a check run are built
 * once per process (prepared statements) and must read exactly as each dialect's store wrote them.
 */
export interface SqlDialect {
  /**
   * `value` (a placeholder or a JS value) as an SQL value of `type`. PostgreSQL cannot always infer a
   * parameter's type (in a SET of a data-modifying CTE, a SELECT list, raw SQL) and is told it with
   * a cast (`$1::bigint`); SQLite's values carry their own type and get none.
   */
  typed(value: unknown, type: SqlType): SQL;
  /** The smaller of two values: SQLite's two-argument `min()`, PostgreSQL's `least()`. */
  least(a: SQLWrapper, b: unknown): SQL;
  /**
   * Ascending text in SQLite's order, bytes with NULL first, whatever the PostgreSQL database's
   * collation (a locale would ignore punctuation such as the `+` of a prefix or the dots of an IP).
   */
  ascText(value: SQLWrapper): SQL;
  /** The greatest text of a group, compared as bytes (as SQLite does). */
  maxText(value: Column): SQL<string | null>;
}
