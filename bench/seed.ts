/**
 * `npm run bench:seed -- --verifications 1000000 --failures 1000000`: grows a database the way a
 * month of traffic would, for the growth benchmark or to try reports on realistic volumes.
 *
 * Reads the same environment as the server: SQLITE_PATH / DATA_DIR (SQLite, default), or
 * DATABASE_URL=postgres://… (PostgreSQL); REPORTS_ENCRYPTION_KEY (or the development key in
 * DATA_DIR) so that the reports API can read the protected numbers.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { Config } from '../src/config.js';
import { configOrExit } from '../src/config.process.js';
import { resolveReportsSecret } from '../src/deps.js';
import { createNumberProtector } from '../src/events/number-protection.js';
import { openSqlite } from '../src/storage/sqlite/db.js';
import { createSeedProgress } from './seed/progress.js';
import { seed } from './seed/seeder.js';
import { createPostgresSeedTarget, createSqliteSeedTarget, type SeedTarget } from './seed/targets.js';

function count(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
}

const config = (): Config => configOrExit();

const program = new Command()
  .name('bench:seed')
  .description('Seed settled verifications (with deliveries) and failure records spread over past days')
  .option('--verifications <n>', 'verifications to add', count, 1_000_000)
  .option('--failures <n>', 'failure records to add', count, 1_000_000)
  .option('--days <n>', 'spread the rows over this many days before now', count, 30)
  .option('--apps <list>', 'comma-separated app names, busiest first', 'default,shop,bank,social,rides')
  .option('--seed <n>', 'random seed for the spread (ids are always fresh)', count)
  .option('--database-url <url>', 'postgres://… (default: DATABASE_URL, else SQLite)')
  .option('--rebuild-indexes', 'drop the secondary indexes for the load and rebuild them after (much faster; only while no server runs)')
  .action(async (opts: { verifications: number; failures: number; days: number; apps: string; seed?: number; databaseUrl?: string; rebuildIndexes?: boolean }) => {
    const cfg = config();
    const url = opts.databaseUrl ?? process.env.DATABASE_URL;
    const postgres = url !== undefined && /^postgres(ql)?:\/\//.test(url);
    let target: SeedTarget;
    let close = (): void => undefined;
    if (postgres) {
      target = await createPostgresSeedTarget(url);
    } else {
      const handle = openSqlite(cfg.sqlitePath);
      target = createSqliteSeedTarget(handle.raw);
      close = () => handle.close();
    }
    process.stderr.write(`seeding ${postgres ? 'PostgreSQL' : cfg.sqlitePath}: ${opts.verifications.toLocaleString('en-US')} verifications, ${opts.failures.toLocaleString('en-US')} failures over ${opts.days} days\n`);
    const progress = createSeedProgress(opts);
    try {
      const summary = await seed(target, {
        verifications: opts.verifications,
        failures: opts.failures,
        days: opts.days,
        apps: opts.apps.split(',').map((a) => a.trim()).filter(Boolean),
        now: Date.now(),
        protector: createNumberProtector(resolveReportsSecret(cfg)),
        seed: opts.seed,
        rebuildIndexes: opts.rebuildIndexes === true,
        onProgress: progress.onProgress,
      });
      progress.stop();
      process.stdout.write(`${JSON.stringify({ ...summary, seconds: Math.round(summary.seconds * 10) / 10 })}\n`);
    } finally {
      progress.stop();
      await target.close();
      close();
    }
  });

await program.parseAsync();
