/**
 * `npm run bench [-- <command>] [options]`: the bench's one command line (bench/README.md).
 *
 *   npm run bench                     the benchmark: autocannon from this process against the built
 *                                     server (`node dist/main.js`) on loopback, on SQLite, or on
 *                                     PostgreSQL (+ Redis) with --database-url/--redis-url
 *   npm run bench -- --growth         then the same scenarios on a database grown by 10^6 verifications
 *                                     and 10^6 failure records, back to back with the empty one
 *   npm run bench -- compare A.json [B.json] [--growth]    two results side by side
 *   npm run bench -- seed [--verifications n] [--failures n]   grow the database the server's env names
 *
 * Prints req/s, p50/p99, errors, statuses, the server's peak RSS and CPU per request and the ratio
 * to the ceiling (a bare Hono route measured in the same run); writes the same to
 * bench/results/<time>-<backend>.json. `npm run bench -- run --help` lists the benchmark's options
 * and their environment variables.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { runBenchmark, type BenchSettings } from './lib/benchmark.js';
import { compareRuns } from './lib/compare.js';
import { seedDatabase } from './seed/seed-database.js';

function whole(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
}

/** A boolean flag that may also come from the environment as 1/true/yes. */
const flag = (v: boolean | string): boolean =>
  v === true || v === '1' || v === 'true' || v === 'yes';

const program = new Command()
  .name('npm run bench --')
  .description('The otp-verify benchmark and its tools (bench/README.md).')
  .addHelpText(
    'after',
    '\nWith no command, runs the benchmark: `npm run bench -- run --help` lists its options.',
  );

program
  .command('run', { isDefault: true })
  .description(
    'load the real server from another process (the default command); see bench/README.md',
  )
  .addOption(
    new Option('--connections <n>', 'concurrent connections')
      .env('BENCH_CONNECTIONS')
      .argParser(whole)
      .default(50),
  )
  .addOption(
    new Option('--duration <s>', 'seconds per measured scenario')
      .env('BENCH_DURATION')
      .argParser(whole)
      .default(10),
  )
  .addOption(
    new Option('--warmup <s>', 'seconds of warm-up before each saturated scenario')
      .env('BENCH_WARMUP')
      .argParser(whole)
      .default(2),
  )
  .addOption(
    new Option('--rate <n>', 'requests per second of the fixed-rate scenarios')
      .env('BENCH_RATE')
      .argParser(whole)
      .default(1000),
  )
  .addOption(
    new Option('--growth', 'then seed and run the scenarios again on the grown database')
      .env('BENCH_GROWTH')
      .default(false),
  )
  .addOption(
    new Option('--verifications <n>', 'verifications seeded by --growth')
      .env('BENCH_GROWTH_VERIFICATIONS')
      .argParser(whole)
      .default(1_000_000),
  )
  .addOption(
    new Option('--failures <n>', 'failure records seeded by --growth')
      .env('BENCH_GROWTH_FAILURES')
      .argParser(whole)
      .default(1_000_000),
  )
  .addOption(
    new Option(
      '--database-url <url>',
      'postgres://… (the server gets its own database on that server as DATABASE_URL); SQLite when absent',
    ).env('BENCH_DATABASE_URL'),
  )
  .addOption(
    new Option(
      '--redis-url <url>',
      'redis://… for the rate-limit counters (the server gets REDIS_URL)',
    ).env('BENCH_REDIS_URL'),
  )
  .addOption(
    new Option(
      '--rebuild-indexes',
      'growth: drop secondary indexes for the load and rebuild them (faster; compact indexes instead of grown ones)',
    )
      .env('BENCH_REBUILD_INDEXES')
      .default(false),
  )
  .addOption(
    new Option('--keep', 'keep the data directory and database afterwards')
      .env('BENCH_KEEP')
      .default(false),
  )
  .addHelpText('after', '\nBENCH_ENV_X=y passes X=y to the server (e.g. BENCH_ENV_LOG_LEVEL=warn).')
  .action(
    async (
      opts: BenchSettings & {
        growth: boolean | string;
        keep: boolean | string;
        rebuildIndexes: boolean | string;
      },
      command: Command,
    ) => {
      if (opts.connections < 1 || opts.duration < 1 || opts.rate < 1)
        command.error('--connections, --duration and --rate must be at least 1');
      await runBenchmark({
        ...opts,
        growth: flag(opts.growth),
        keep: flag(opts.keep),
        rebuildIndexes: flag(opts.rebuildIndexes),
      });
    },
  );

program
  .command('compare')
  .description(
    'two results side by side, scenario by scenario (B relative to A); with one --growth result, before vs after its growth',
  )
  .argument('<a>', 'result file (bench/results/*.json)')
  .argument('[b]', 'second result file')
  .option('--growth', 'compare the scenarios after growth')
  .action((a: string, b: string | undefined, opts: { growth?: boolean }, command: Command) => {
    try {
      process.stdout.write(compareRuns(a, b, { growth: opts.growth === true }));
    } catch (error) {
      command.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    }
  });

program
  .command('seed')
  .description(
    "grow the database the server's environment names (SQLITE_PATH / DATA_DIR, or DATABASE_URL) as a month of traffic would",
  )
  .option('--verifications <n>', 'verifications to add', whole, 1_000_000)
  .option('--failures <n>', 'failure records to add', whole, 1_000_000)
  .option('--days <n>', 'spread the rows over this many days before now', whole, 30)
  .option(
    '--apps <list>',
    'comma-separated app names, busiest first',
    'default,shop,bank,social,rides',
  )
  .option('--seed <n>', 'random seed for the spread (ids are always fresh)', whole)
  .option('--database-url <url>', 'postgres://… (default: DATABASE_URL, else SQLite)')
  .option(
    '--rebuild-indexes',
    'drop the secondary indexes for the load and rebuild them after (much faster; only while no server runs)',
  )
  .option(
    '--success-events',
    "also each verification's success events (started, sent, delivered, approved), as the service appends them",
  )
  .action(
    async (opts: {
      verifications: number;
      failures: number;
      days: number;
      apps: string;
      seed?: number;
      databaseUrl?: string;
      rebuildIndexes?: boolean;
      successEvents?: boolean;
    }) => {
      const summary = await seedDatabase({
        ...opts,
        apps: opts.apps
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean),
        rebuildIndexes: opts.rebuildIndexes === true,
        successEvents: opts.successEvents === true,
      });
      process.stdout.write(
        `${JSON.stringify({ ...summary, seconds: Math.round(summary.seconds * 10) / 10 })}\n`,
      );
    },
  );

program.parseAsync().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
