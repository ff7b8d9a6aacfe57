import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * PostgreSQL for tests. DATABASE_URL names a server where databases may be created (CI and the
 * shared machine: postgres://postgres@127.0.0.1:5432/test); every suite gets its own fresh database,
 * named uniquely so parallel runs by other engineers never share rows, and drops it afterwards.
 */
export const POSTGRES_URL: string | undefined = process.env.DATABASE_URL || undefined;

/** Why PostgreSQL cases are skipped, or undefined when they run. Print it (describe.skip title or console.warn). */
export const POSTGRES_SKIP_REASON: string | undefined = POSTGRES_URL
  ? undefined
  : 'DATABASE_URL is not set: PostgreSQL cases skipped (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test)';

export interface TestDatabase {
  /** The URL of the fresh, empty database (no migrations applied yet). */
  url: string;
  name: string;
  /** Drops the database, closing any connection still open on it. */
  drop(): Promise<void>;
}

const PREFIX = 'otp_test_';
// Databases of runs that crashed before dropping theirs are removed once clearly abandoned.
const ABANDONED_AFTER_S = 6 * 3600;

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  if (!POSTGRES_URL) throw new Error(POSTGRES_SKIP_REASON);
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

let sweptAbandoned = false;

/** Creates `otp_test_<epoch seconds>_<random>` on the DATABASE_URL server: empty, no migration applied. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const now = Math.floor(Date.now() / 1000);
  const name = `${PREFIX}${now}_${randomBytes(6).toString('hex')}`;
  await admin(async (client) => {
    if (!sweptAbandoned) {
      sweptAbandoned = true;
      const { rows } = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname LIKE $1',
        [`${PREFIX}%`],
      );
      for (const { datname } of rows) {
        const created = Number(datname.slice(PREFIX.length).split('_')[0]);
        if (Number.isFinite(created) && now - created > ABANDONED_AFTER_S)
          await client
            .query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
            .catch(() => undefined);
      }
    }
    await client.query(`CREATE DATABASE "${name}"`);
  });
  return {
    url: withDatabase(POSTGRES_URL!, name),
    name,
    drop: () =>
      admin(
        async (client) =>
          void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
      ),
  };
}

export interface LeasedDatabase {
  url: string;
  /** Deletes every row and hands the database to the next lease (close your pools on it first). */
  release(): Promise<void>;
}

const leased: TestDatabase[] = [];
const idle: TestDatabase[] = [];

/**
 * A database of this test file's own, reused across its cases: creating and migrating a database
 * costs about a second on a loaded machine, emptying one a few milliseconds. Never shared by two
 * leases at once. Migrations are whatever the holder's openPostgres applies.
 */
export async function leaseTestDatabase(): Promise<LeasedDatabase> {
  let database = idle.pop();
  if (!database) {
    database = await createTestDatabase();
    leased.push(database);
  }
  const held = database;
  return {
    url: held.url,
    release: async () => {
      await emptyDatabase(held.url);
      idle.push(held);
    },
  };
}

/** Drops every database leased by this process (after its last case). */
export async function dropLeasedDatabases(): Promise<void> {
  idle.length = 0;
  for (const database of leased.splice(0)) await database.drop();
}

/**
 * Deletes every row of every table. DELETE rather than TRUNCATE: cheaper on tables this small, and
 * the consent ledger refuses TRUNCATE; its rows go through the retention purge's own door.
 */
async function emptyDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; child: boolean }>(`
      SELECT c.relname AS name, EXISTS (SELECT 1 FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f') AS child
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'optin_ledger_retention'`);
    if (rows.length === 0) return;
    const ordered = [...rows].sort((a, b) => Number(b.child) - Number(a.child)).map((r) => r.name);
    const ledger = ordered.includes('optin_consent_ledger')
      ? `UPDATE optin_ledger_retention SET purge_before = 9223372036854775807 WHERE id = 1;
         DELETE FROM optin_consent_ledger;
         UPDATE optin_ledger_retention SET purge_before = 0 WHERE id = 1;`
      : '';
    const others = ordered
      .filter((name) => name !== 'optin_consent_ledger')
      .map((name) => `DELETE FROM "${name}";`)
      .join('\n');
    await client.query(`BEGIN; ${ledger} ${others} COMMIT;`);
  } finally {
    await client.end();
  }
}
