import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { openPostgres } from '../../src/storage/postgres/db.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import {
  createPostgresSeedTarget,
  createSqliteSeedTarget,
  type SeedTarget,
} from '../seed/targets.js';

/** Where the server under test keeps its rows and counters, and how the bench reaches them. */
export interface Backend {
  /** sqlite, postgres, sqlite+redis or postgres+redis. */
  label: string;
  /** What the server process gets (SQLITE_PATH or DATABASE_URL, REDIS_URL). */
  serverEnv: Record<string, string>;
  /** A seeding connection to the server's database; close it before the next server start. */
  openTarget(): Promise<SeedTarget>;
  /** Has what was seeded written into the database files (SQLite: WAL checkpoint; PostgreSQL: CHECKPOINT). */
  checkpoint(): Promise<void>;
  /**
   * Checks the server really used this backend (a build without PostgreSQL support ignores
   * DATABASE_URL and quietly runs on SQLite) and says what is there.
   */
  verify(app: string): Promise<string>;
  /** Drops what the run made (unless kept); says what it did. */
  cleanup(options: { keep: boolean; app: string }): Promise<string | undefined>;
}

export function sqliteBackend(dataDir: string): Backend {
  const path = join(dataDir, 'bench.db');
  return {
    label: 'sqlite',
    serverEnv: { SQLITE_PATH: path },
    openTarget() {
      const handle = openSqlite(path);
      const target = createSqliteSeedTarget(handle.raw);
      return Promise.resolve({
        ...target,
        async close() {
          await target.close();
          handle.close();
        },
      });
    },
    checkpoint() {
      const handle = openSqlite(path);
      try {
        handle.raw.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        handle.close();
      }
      return Promise.resolve();
    },
    async verify() {
      const target = await this.openTarget();
      try {
        return `SQLite ${path}: ${(await target.count('verifications')).toLocaleString('en-US')} verifications`;
      } finally {
        await target.close();
      }
    },
    cleanup: () => Promise.resolve(undefined),
  };
}

/**
 * A database of its own on the PostgreSQL server of `url` (CREATE DATABASE otp_bench_<run>), so
 * rows of earlier runs or of other engineers never weigh on the figures; dropped afterwards
 * unless kept. Falls back to `url` itself, saying so, when the role may not create databases.
 */
export async function postgresBackend(
  url: string,
  runId: string,
  log: (line: string) => void,
): Promise<Backend> {
  const name = `otp_bench_${runId}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  let databaseUrl = url;
  let created = false;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const own = new URL(url);
    own.pathname = `/${name}`;
    databaseUrl = own.toString();
    created = true;
  } catch (error) {
    log(
      `bench: could not create a database of its own (${error instanceof Error ? error.message : String(error)}); using ${redact(url)} as it is: rows already there count in the figures`,
    );
  } finally {
    await admin.end();
  }
  // Migrated here, once, as a server would on start: the grown database is seeded before any server runs on it.
  await (await openPostgres(databaseUrl, { poolSize: 1 })).close();
  return {
    label: 'postgres',
    serverEnv: { DATABASE_URL: databaseUrl },
    openTarget: () => createPostgresSeedTarget(databaseUrl),
    async checkpoint() {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        // Needs a superuser (or pg_checkpoint on PostgreSQL 15+); without it the server's own checkpointer catches up later.
        await client
          .query('CHECKPOINT')
          .catch((error: unknown) =>
            log(
              `bench: CHECKPOINT refused (${error instanceof Error ? error.message : String(error)}); PostgreSQL writes the seeded rows back on its own schedule, maybe during the first scenarios`,
            ),
          );
      } finally {
        await client.end();
      }
    },
    async verify(app) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const result = await client.query<{ n: string }>(
          'SELECT count(*) AS n FROM "verifications" WHERE "app" = $1',
          [app],
        );
        const n = Number(result.rows[0]?.n ?? 0);
        if (n === 0)
          throw new Error(
            `the server wrote no verification to PostgreSQL (${redact(databaseUrl)}): does this build support DATABASE_URL?`,
          );
        return `PostgreSQL ${redact(databaseUrl)}: ${n.toLocaleString('en-US')} verifications of ${app}`;
      } finally {
        await client.end();
      }
    },
    async cleanup({ keep }) {
      if (!created) return undefined;
      if (keep) return `kept PostgreSQL database ${name}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
      return `dropped PostgreSQL database ${name}`;
    },
  };
}

/**
 * Rate-limit counters in Redis (REDIS_URL). The Redis is shared: the bench's keys are the ones
 * naming its app (`bench-<run>`), found with SCAN and deleted afterwards.
 */
export function withRedis(backend: Backend, url: string): Backend {
  const keysOf = async (app: string, each: (keys: string[]) => Promise<void>): Promise<void> => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
    try {
      let cursor = '0';
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `*${app}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await each(keys);
      } while (cursor !== '0');
      await each([]);
    } finally {
      client.disconnect();
    }
  };
  return {
    ...backend,
    label: `${backend.label}+redis`,
    serverEnv: { ...backend.serverEnv, REDIS_URL: url },
    async verify(name) {
      let count = 0;
      await keysOf(name, (keys) => Promise.resolve(void (count += keys.length)));
      if (count === 0)
        throw new Error(
          `the server left no rate-limit counter in Redis (${redact(url)}) for ${name}`,
        );
      return `${await backend.verify(name)}; Redis ${redact(url)}: ${count.toLocaleString('en-US')} counter keys of ${name}`;
    },
    async cleanup(options) {
      const done = await backend.cleanup(options);
      if (options.keep) return done;
      const { app } = options;
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      let deleted = 0;
      try {
        await keysOf(app, async (keys) => {
          if (keys.length > 0) deleted += await client.unlink(...keys);
        });
      } finally {
        client.disconnect();
      }
      return [done, `deleted ${deleted.toLocaleString('en-US')} Redis keys of ${app}`]
        .filter(Boolean)
        .join('; ');
    },
  };
}

/** A connection URL without its password, for output. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
