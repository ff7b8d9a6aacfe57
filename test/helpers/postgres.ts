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

/** Creates `otp_test_<epoch seconds>_<random>` on the DATABASE_URL server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const now = Math.floor(Date.now() / 1000);
  const name = `${PREFIX}${now}_${randomBytes(6).toString('hex')}`;
  await admin(async (client) => {
    if (!sweptAbandoned) {
      sweptAbandoned = true;
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${PREFIX}%`]);
      for (const { datname } of rows) {
        const created = Number(datname.slice(PREFIX.length).split('_')[0]);
        if (Number.isFinite(created) && now - created > ABANDONED_AFTER_S) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => undefined);
      }
    }
    await client.query(`CREATE DATABASE "${name}"`);
  });
  return {
    url: withDatabase(POSTGRES_URL!, name),
    name,
    drop: () => admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
