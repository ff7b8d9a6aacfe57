import { configOrExit } from '../../src/config.process.js';
import { createNumberProtector } from '../../src/events/number-protection.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createSeedProgress } from './progress.js';
import { seed, type SeedSummary } from './seeder.js';
import { createPostgresSeedTarget, createSqliteSeedTarget, type SeedTarget } from './targets.js';
import { resolveReportsSecret } from '../../src/wiring/secrets.js';

export interface SeedDatabaseOptions {
  verifications: number;
  failures: number;
  days: number;
  /** App names, busiest first. */
  apps: readonly string[];
  seed?: number;
  /** postgres://…; else DATABASE_URL; else the server's SQLite file (SQLITE_PATH, or DATA_DIR/verify.db). */
  databaseUrl?: string;
  rebuildIndexes: boolean;
  successEvents: boolean;
}

/**
 * `npm run bench -- seed`: grows the database the server's environment names (the same variables
 * as the server: SQLITE_PATH / DATA_DIR, or DATABASE_URL), with REPORTS_ENCRYPTION_KEY (or the
 * development key in DATA_DIR) protecting the numbers so the reports API reads them. A SQLite
 * file that does not exist yet is created and migrated, as the server would. Progress on stderr.
 */
export async function seedDatabase(options: SeedDatabaseOptions): Promise<SeedSummary> {
  const config = configOrExit();
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  const postgres = url !== undefined && /^postgres(ql)?:\/\//.test(url);
  let target: SeedTarget;
  let close = (): void => undefined;
  if (postgres) {
    target = await createPostgresSeedTarget(url);
  } else {
    const handle = openSqlite(config.sqlitePath);
    target = createSqliteSeedTarget(handle.raw);
    close = () => handle.close();
  }
  process.stderr.write(
    `seeding ${postgres ? 'PostgreSQL' : config.sqlitePath}: ${options.verifications.toLocaleString('en-US')} verifications${options.successEvents ? ' with their success events' : ''}, ${options.failures.toLocaleString('en-US')} failures over ${options.days} days\n`,
  );
  const progress = createSeedProgress(options);
  try {
    return await seed(target, {
      verifications: options.verifications,
      failures: options.failures,
      days: options.days,
      apps: options.apps,
      now: Date.now(),
      protector: createNumberProtector(resolveReportsSecret(config)),
      seed: options.seed,
      rebuildIndexes: options.rebuildIndexes,
      successEvents: options.successEvents,
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
    await target.close();
    close();
  }
}
