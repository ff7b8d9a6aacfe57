import type Database from 'better-sqlite3';
import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core';
import pg from 'pg';
import { deliveries, events, verifications } from '../../src/storage/sqlite/schema.js';
import type { Row } from './rows.js';

/**
 * Where seeded rows go. Table and column names come from the SQLite drizzle schema, which the
 * PostgreSQL schema mirrors name for name; each dialect gets its own batched multi-row INSERT.
 */
export const SEED_TABLES = { verifications, deliveries, events } as const satisfies Record<
  string,
  SQLiteTable
>;
export type SeedTable = keyof typeof SEED_TABLES;

export interface TableRows {
  table: SeedTable;
  rows: readonly Row[];
}

export interface SeedTarget {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Inserts every batch: inside the open transaction when called from `transaction`'s callback,
   * otherwise in a transaction of its own (all of their rows or none).
   */
  write(batches: readonly TableRows[]): Promise<void>;
  /**
   * Runs `run` in one transaction. Large transactions matter on big tables: inserts at random
   * keys dirty index pages all over, and each commit writes every dirty page again.
   */
  transaction(run: () => Promise<void>): Promise<void>;
  /**
   * Drops the secondary indexes of these tables (never a primary key) and returns what recreates
   * them: a bulk load then builds each index once, sorted, instead of inserting at random keys.
   * Only while no server uses the database.
   */
  dropIndexes(tables: readonly SeedTable[]): Promise<IndexDefinition[]>;
  createIndexes(indexes: readonly IndexDefinition[]): Promise<void>;
  count(table: SeedTable): Promise<number>;
  close(): Promise<void>;
}

/** An index as its database states it: its name and the statement that creates it. */
export interface IndexDefinition {
  name: string;
  sql: string;
}

const tableNames = (tables: readonly SeedTable[]): string[] =>
  tables.map((t) => getTableConfig(SEED_TABLES[t]).name);

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * The columns a table's rows fill, in a fixed order, checked once against the schema: an unknown
 * column, or a required one the rows leave out, fails before anything is written.
 */
function columnPlan(): (table: SeedTable, sample: Row) => { name: string; columns: string[] } {
  const plans = new Map<SeedTable, { name: string; columns: string[] }>();
  return (table, sample) => {
    const known = plans.get(table);
    if (known) return known;
    const config = getTableConfig(SEED_TABLES[table]);
    const schemaColumns = new Map(config.columns.map((c) => [c.name, c]));
    const columns = Object.keys(sample);
    const unknown = columns.filter((c) => !schemaColumns.has(c));
    const missing = config.columns
      .filter(
        (c) =>
          c.notNull &&
          !c.hasDefault &&
          !columns.includes(c.name) &&
          !(c.primary && c.columnType === 'SQLiteInteger'),
      )
      .map((c) => c.name);
    if (unknown.length > 0 || missing.length > 0) {
      throw new Error(
        `seed rows for ${config.name} do not match the schema: unknown columns [${unknown.join(', ')}], missing required [${missing.join(', ')}]`,
      );
    }
    const plan = { name: config.name, columns };
    plans.set(table, plan);
    return plan;
  };
}

function flatten(
  rows: readonly Row[],
  columns: readonly string[],
  from: number,
  to: number,
): (string | number | null)[] {
  const values: (string | number | null)[] = [];
  for (let i = from; i < to; i++) {
    const row = rows[i]!;
    for (const column of columns) values.push(row[column] ?? null);
  }
  return values;
}

/**
 * SQLite through better-sqlite3: multi-row INSERTs (up to 32,766 parameters each) prepared once
 * per size. This connection is the only one that writes while it seeds, with `synchronous = OFF`
 * and a 1 GiB page cache: a power cut may lose seed rows, never the server's.
 */
export function createSqliteSeedTarget(raw: Database.Database): SeedTarget {
  const plan = columnPlan();
  const statements = new Map<string, Database.Statement>();
  const previousSync = raw.pragma('synchronous', { simple: true }) as number;
  const previousCache = raw.pragma('cache_size', { simple: true }) as number;
  raw.pragma('synchronous = OFF');
  raw.pragma('cache_size = -1048576');
  const statement = (
    name: string,
    columns: readonly string[],
    rows: number,
  ): Database.Statement => {
    const key = `${name}:${rows}`;
    let prepared = statements.get(key);
    if (!prepared) {
      const tuple = `(${columns.map(() => '?').join(',')})`;
      prepared = raw.prepare(
        `INSERT INTO ${quote(name)} (${columns.map(quote).join(',')}) VALUES ${Array.from({ length: rows }, () => tuple).join(',')}`,
      );
      statements.set(key, prepared);
    }
    return prepared;
  };
  const insertAll = (batches: readonly TableRows[]): void => {
    for (const { table, rows } of batches) {
      if (rows.length === 0) continue;
      const { name, columns } = plan(table, rows[0]!);
      const perStatement = Math.min(200, Math.floor(32_766 / columns.length));
      for (let from = 0; from < rows.length; from += perStatement) {
        const to = Math.min(rows.length, from + perStatement);
        statement(name, columns, to - from).run(flatten(rows, columns, from, to));
      }
    }
  };
  const insertInOwnTransaction = raw.transaction(insertAll);
  return {
    dialect: 'sqlite',
    write(batches) {
      if (raw.inTransaction) insertAll(batches);
      else insertInOwnTransaction(batches);
      return Promise.resolve();
    },
    // BEGIN/COMMIT by hand around async work: nothing else uses this connection meanwhile.
    async transaction(run) {
      raw.exec('BEGIN');
      try {
        await run();
        raw.exec('COMMIT');
      } catch (error) {
        if (raw.inTransaction) raw.exec('ROLLBACK');
        throw error;
      }
    },
    dropIndexes(tables) {
      const names = tableNames(tables);
      // sql IS NULL: the automatic index of a PRIMARY KEY or UNIQUE constraint, which stays.
      const indexes = raw
        .prepare(
          `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (${names.map(() => '?').join(',')})`,
        )
        .all(...names) as IndexDefinition[];
      for (const index of indexes) raw.exec(`DROP INDEX ${quote(index.name)}`);
      return Promise.resolve(indexes);
    },
    createIndexes(indexes) {
      for (const index of indexes) raw.exec(index.sql);
      return Promise.resolve();
    },
    count(table) {
      const name = getTableConfig(SEED_TABLES[table]).name;
      return Promise.resolve(
        (raw.prepare(`SELECT count(*) AS n FROM ${quote(name)}`).get() as { n: number }).n,
      );
    },
    close() {
      raw.pragma(`synchronous = ${previousSync}`);
      raw.pragma(`cache_size = ${previousCache}`);
      return Promise.resolve();
    },
  };
}

/**
 * PostgreSQL through node-postgres: multi-row INSERTs (up to 1,000 rows, under the 65,535
 * parameter cap) as named prepared statements, inside one transaction per write. Written against
 * the same table and column names as SQLite; times are integer milliseconds (bigint columns).
 */
export async function createPostgresSeedTarget(url: string): Promise<SeedTarget> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const plan = columnPlan();
  const texts = new Map<string, string>();
  const text = (name: string, columns: readonly string[], rows: number): string => {
    const key = `${name}:${rows}`;
    let sql = texts.get(key);
    if (!sql) {
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++)
        tuples.push(`(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(',')})`);
      sql = `INSERT INTO ${quote(name)} (${columns.map(quote).join(',')}) VALUES ${tuples.join(',')}`;
      texts.set(key, sql);
    }
    return sql;
  };
  const explain = (error: unknown): Error => {
    if (error instanceof Error && (error as { code?: string }).code === '42P01') {
      return new Error(
        `${error.message}: the database has no otp-verify tables yet. The server creates them on start (DATABASE_URL=postgres://…); does this build support PostgreSQL?`,
      );
    }
    return error instanceof Error ? error : new Error(String(error));
  };
  const insertAll = async (batches: readonly TableRows[]): Promise<void> => {
    for (const { table, rows } of batches) {
      if (rows.length === 0) continue;
      const { name, columns } = plan(table, rows[0]!);
      const perStatement = Math.min(1000, Math.floor(65_535 / columns.length));
      for (let from = 0; from < rows.length; from += perStatement) {
        const to = Math.min(rows.length, from + perStatement);
        await client.query({
          name: `seed_${name}_${to - from}`,
          text: text(name, columns, to - from),
          values: flatten(rows, columns, from, to),
        });
      }
    }
  };
  let open = false;
  const transaction = async (run: () => Promise<void>): Promise<void> => {
    await client.query('BEGIN');
    open = true;
    try {
      await run();
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw explain(error);
    } finally {
      open = false;
    }
  };
  return {
    dialect: 'postgres',
    write: (batches) => (open ? insertAll(batches) : transaction(() => insertAll(batches))),
    transaction,
    async dropIndexes(tables) {
      // Indexes that back a constraint (primary key, unique) stay.
      const result = await client
        .query<IndexDefinition>(
          `SELECT indexname AS name, indexdef AS sql FROM pg_indexes
           WHERE schemaname = current_schema() AND tablename = ANY($1)
             AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace)`,
          [tableNames(tables)],
        )
        .catch((error: unknown) => Promise.reject(explain(error)));
      for (const index of result.rows) await client.query(`DROP INDEX ${quote(index.name)}`);
      return result.rows;
    },
    async createIndexes(indexes) {
      for (const index of indexes) await client.query(index.sql);
    },
    async count(table) {
      const name = getTableConfig(SEED_TABLES[table]).name;
      try {
        const result = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${quote(name)}`,
        );
        return Number(result.rows[0]?.n ?? 0);
      } catch (error) {
        throw explain(error);
      }
    },
    close: () => client.end(),
  };
}
