import { randomBytes, randomInt } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import type autocannon from 'autocannon';
import { createNumberProtector } from '../../src/events/number-protection.js';
import { postgresBackend, redact, sqliteBackend, withRedis, type Backend } from './backend.js';
import { cannon, paced } from './load.js';
import { buildServer, launch, ROOT, type BenchProcess } from './process.js';
import { RAISED_LIMITS } from './raised-limits.js';
import {
  fixedRateTable,
  growthTable,
  saturatedTable,
  slowdowns,
  type BenchReport,
} from './report.js';
import { log, measure, scenarios, type LoadSettings, type Target } from './scenarios.js';
import { createSeedProgress } from '../seed/progress.js';
import { seed } from '../seed/seeder.js';

/** `npm run bench`'s settings (flags or BENCH_* variables: bench/run.ts). */
export interface BenchSettings extends LoadSettings {
  growth: boolean;
  /** Verifications (with deliveries) and failure records the grown database gets. */
  verifications: number;
  failures: number;
  /** postgres://… : each side gets a database of its own on that server; SQLite when absent. */
  databaseUrl?: string;
  redisUrl?: string;
  keep: boolean;
  rebuildIndexes: boolean;
}

const ADMIN_KEY = `bench-admin-${randomBytes(24).toString('hex')}`;

function letters(n: number): string {
  return Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');
}

async function createKey(url: string, app: string): Promise<string> {
  const response = await fetch(`${url}/v1/admin/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app, scopes: ['verify'] }),
  });
  if (response.status !== 201)
    throw new Error(`creating an API key answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { key: string }).key;
}

/** One database the scenarios run on: the empty one, and with --growth the grown one. */
interface Side {
  label: 'empty' | 'grown';
  dir: string;
  backend: Backend;
  /** Server environment of this side only (its data directory, outbox, Redis key prefix). */
  env: Record<string, string>;
}

/** Seeds the grown side (no server running on it), then has its writes on disk before anything is measured. */
async function grow(
  side: Side,
  s: BenchSettings,
  app: string,
  reportsKey: string,
): Promise<NonNullable<BenchReport['growth']>['seeding']> {
  log(
    `bench: seeding a second database with ${s.verifications.toLocaleString('en-US')} verifications (with deliveries) and ${s.failures.toLocaleString('en-US')} failure records over 30 days (${s.rebuildIndexes ? 'secondary indexes dropped and rebuilt' : 'indexes kept and grown row by row'})`,
  );
  const seedTarget = await side.backend.openTarget();
  const progress = createSeedProgress({ verifications: s.verifications, failures: s.failures });
  let summary;
  try {
    summary = await seed(seedTarget, {
      verifications: s.verifications,
      failures: s.failures,
      apps: [app, 'shop', 'bank', 'social', 'rides'],
      now: Date.now(),
      protector: createNumberProtector(Buffer.from(reportsKey, 'utf8')),
      rebuildIndexes: s.rebuildIndexes,
      onProgress: progress.onProgress,
    });
  } finally {
    progress.stop();
    await seedTarget.close();
  }
  const seeding = { ...summary, seconds: Math.round(summary.seconds * 10) / 10 };
  log(
    `bench: seeded ${seeding.rows.toLocaleString('en-US')} rows (${seeding.verifications.toLocaleString('en-US')} verifications, ${seeding.deliveries.toLocaleString('en-US')} deliveries, ${seeding.failures.toLocaleString('en-US')} failures) in ${seeding.seconds} s: ${seeding.rowsPerSecond.toLocaleString('en-US')} rows/s`,
  );
  // A gigabyte just written is still being written back by the kernel (and by PostgreSQL's
  // checkpointer): done now, not during the first scenarios on the grown side.
  const started = performance.now();
  await side.backend.checkpoint();
  spawnSync('sync');
  log(
    `bench: seeded rows checkpointed and flushed to disk (${Math.round(performance.now() - started)} ms)`,
  );
  return seeding;
}

/**
 * The whole benchmark: builds the server, measures the ceiling, starts a server per database
 * (with --growth, a grown one too), runs every scenario, prints the tables and writes
 * bench/results/<time>-<backend>.json. Cleans up what it made unless `keep`.
 */
export async function runBenchmark(s: BenchSettings): Promise<void> {
  const startedAt = new Date();
  const loadStart = loadavg().map((l) => Math.round(l * 100) / 100);
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    platform: platform(),
  };
  const runId = letters(8);
  const app = `bench-${runId}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'otp-bench-'));
  const pepper = randomBytes(32).toString('base64');
  const reportsKey = randomBytes(32).toString('base64');

  log(
    `bench: ${s.connections} connections, ${s.duration} s per scenario after ${s.warmup} s of warm-up; fixed rate ${s.rate}/s${s.growth ? `; growth: +${s.verifications.toLocaleString('en-US')} verifications, +${s.failures.toLocaleString('en-US')} failures` : ''}`,
  );
  log(
    `bench: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}; load average ${loadStart.join(' ')} (the load generator shares these CPUs with the server)`,
  );
  log(
    `bench: limits and abuse thresholds RAISED for this run so they count but never fire (RAISED_LIMITS in bench/lib/raised-limits.ts); numbers and end-user IPs are random`,
  );

  const sides: Side[] = [];
  const servers: BenchProcess[] = [];
  const addSide = async (
    label: Side['label'],
    databaseId: string,
    env: Record<string, string>,
  ): Promise<Side> => {
    const dir = join(dataDir, label);
    mkdirSync(dir);
    let backend: Backend = s.databaseUrl
      ? await postgresBackend(s.databaseUrl, databaseId, log)
      : sqliteBackend(dir);
    if (s.redisUrl) backend = withRedis(backend, s.redisUrl);
    const side: Side = {
      label,
      dir,
      backend,
      env: { DATA_DIR: dir, OUTBOX_PATH: join(dir, 'outbox.jsonl'), ...env },
    };
    sides.push(side);
    log(
      `bench: ${label} database: ${backend.label}${s.databaseUrl ? ` (${redact(backend.serverEnv.DATABASE_URL ?? '')})` : ''}${s.redisUrl ? `, Redis ${redact(s.redisUrl)}` : ''}; data in ${dir}`,
    );
    return side;
  };

  try {
    await addSide('empty', runId, {});
    // Its own Redis key prefix: the two servers count the same app's limits, each in its own keys.
    const grown = s.growth
      ? await addSide(
          'grown',
          `${runId}_grown`,
          s.redisUrl ? { REDIS_KEY_PREFIX: 'otp-grown' } : {},
        )
      : undefined;
    const seeding = grown ? await grow(grown, s, app, reportsKey) : undefined;

    log(
      'bench: building the server (tsc -p tsconfig.build.json → dist/) to run it as production does: node dist/main.js',
    );
    const serverScript = buildServer();

    // The ceiling: a bare Hono route in its own process, same connections and duration.
    const ceilingProcess = await launch(
      join(ROOT, 'bench/lib/ceiling.js'),
      {},
      join(dataDir, 'ceiling.log'),
    );
    const echo: autocannon.Request[] = [
      {
        method: 'POST',
        path: '/echo',
        headers: { 'content-type': 'application/json' },
        body: '{"to":"+33612345678"}',
      },
    ];
    if (s.warmup > 0)
      await cannon({
        url: ceilingProcess.url,
        connections: s.connections,
        durationSeconds: s.warmup,
        requests: echo,
      });
    const ceiling = await measure(
      ceilingProcess.pid,
      {
        id: 'ceiling',
        name: 'ceiling (bare Hono POST)',
        mode: 'saturated',
        tool: 'autocannon',
        connections: s.connections,
        expectedStatus: [201],
      },
      () =>
        cannon({
          url: ceilingProcess.url,
          connections: s.connections,
          durationSeconds: s.duration,
          requests: echo,
        }),
    );
    log(
      `  ${ceiling.name}: ${ceiling.reqPerSec.toLocaleString('en-US')} req/s, p99 ${ceiling.latencyMs.p99} ms`,
    );
    const ceilingPaced = await measure(
      ceilingProcess.pid,
      {
        id: 'ceiling@rate',
        name: `ceiling @ ${s.rate.toLocaleString('en-US')}/s (paced)`,
        mode: 'fixed-rate',
        tool: 'paced',
        connections: s.connections,
        expectedStatus: [201],
        targetRate: s.rate,
      },
      () =>
        paced({
          url: ceilingProcess.url,
          rate: s.rate,
          durationSeconds: s.duration,
          connections: s.connections,
          next: () => ({
            method: 'POST',
            path: '/echo',
            headers: { 'content-type': 'application/json' },
            body: '{"to":"+33612345678"}',
          }),
        }),
    );
    await ceilingProcess.stop();

    const serverEnv: Record<string, string> = {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      LOG_PROVIDER_STDOUT: 'false',
      ADMIN_API_KEY: ADMIN_KEY,
      OTP_PEPPER: pepper,
      REPORTS_ENCRYPTION_KEY: reportsKey,
      // Instances sharing PostgreSQL must share their secrets (config refuses DATABASE_URL without them).
      FACTOR_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
      ...RAISED_LIMITS,
    };
    // BENCH_ENV_X=y reaches the server as X=y (e.g. BENCH_ENV_LOG_LEVEL=warn).
    const fromBench = Object.fromEntries(
      Object.entries(process.env).flatMap(([k, v]) =>
        k.startsWith('BENCH_ENV_') && v !== undefined ? [[k.slice('BENCH_ENV_'.length), v]] : [],
      ),
    );
    const targets: Target[] = [];
    for (const side of sides) {
      const env = { ...serverEnv, ...side.backend.serverEnv, ...side.env, ...fromBench };
      const server = await launch(serverScript, env, join(side.dir, 'server.log'));
      servers.push(server);
      const key = await createKey(server.url, app);
      targets.push({
        label: side.label,
        server,
        key,
        app,
        outboxPath: env.OUTBOX_PATH!,
        backend: side.backend,
        pepper: Buffer.from(pepper, 'utf8'),
        ceilingReqPerSec: ceiling.reqPerSec,
      });
    }
    if (grown)
      log(
        'bench: every scenario runs on both databases back to back, empty first and grown first in turn',
      );
    // Fails fast when the server did not use the backend it was given (a build without PostgreSQL support runs on SQLite).
    const [baseline = [], grownResults] = await scenarios(targets, s, async (t) =>
      log(`bench: ${targets.length > 1 ? `[${t.label}] ` : ''}${await t.backend.verify(app)}`),
    );
    const growth: BenchReport['growth'] =
      seeding && grownResults
        ? { seeding, scenarios: grownResults, slowdown: slowdowns(baseline, grownResults) }
        : undefined;

    const all = [ceiling, ...baseline, ...(growth?.scenarios ?? [])];
    for (const r of all)
      if (r.mode === 'saturated')
        r.ratioToCeiling = Math.round((r.reqPerSec / ceiling.reqPerSec) * 10_000) / 10_000;
    const loadEnd = loadavg().map((l) => Math.round(l * 100) / 100);
    const backendLabel = sides[0]!.backend.label;
    const report: BenchReport = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      backend: backendLabel,
      machine,
      loadAverage: { start: loadStart, end: loadEnd },
      settings: {
        connections: s.connections,
        durationSeconds: s.duration,
        warmupSeconds: s.warmup,
        fixedRate: s.rate,
        raisedLimits: RAISED_LIMITS,
      },
      scenarios: [ceiling, ceilingPaced, ...baseline],
      ...(growth ? { growth } : {}),
    };

    log('');
    log(
      `Saturated: ${s.connections} connections, ${s.duration} s each (${backendLabel}, limits raised; CPU ms/req is the server process's CPU time per response)`,
    );
    log(saturatedTable(report.scenarios.filter((r) => r.mode === 'saturated')));
    log('');
    log(
      `Fixed rate: ${s.rate}/s for ${s.duration} s, at most ${s.connections} connections. "paced": one request every ${1000 / s.rate} ms; "p99 from schedule" also counts`,
    );
    log(
      'waiting for a free connection; "not sent": still waiting when the time was up (the server could not keep the rate).',
    );
    log(
      '"autocannon overallRate" sends each second\'s requests back to back at its start (bursts), shown for comparison.',
    );
    log(fixedRateTable(report.scenarios.filter((r) => r.mode === 'fixed-rate')));
    if (growth) {
      log('');
      log(
        `Grown database (+${growth.seeding.verifications.toLocaleString('en-US')} verifications, +${growth.seeding.deliveries.toLocaleString('en-US')} deliveries, +${growth.seeding.failures.toLocaleString('en-US')} failures; seeded in ${growth.seeding.seconds} s, ${growth.seeding.rowsPerSecond.toLocaleString('en-US')} rows/s), each scenario run back to back with the same one above:`,
      );
      log(saturatedTable(growth.scenarios.filter((r) => r.mode === 'saturated')));
      log(fixedRateTable(growth.scenarios.filter((r) => r.mode === 'fixed-rate')));
      log('');
      log(
        'Slowdown on the grown database (throughput lost; p99 and server CPU per response, the steadiest figure on a shared machine):',
      );
      log(growthTable(baseline, growth.scenarios));
    }
    log('');
    log(`load average: ${loadStart.join(' ')} at the start, ${loadEnd.join(' ')} at the end`);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(
      ROOT,
      'bench/results',
      `${startedAt.toISOString().replace(/[:.]/g, '-')}-${backendLabel.replace(/\+/g, '-')}.json`,
    );
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`written ${relative(process.cwd(), file)}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    for (const side of sides) {
      const cleaned = await side.backend
        .cleanup({ keep: s.keep, app })
        .catch((error: unknown) => `cleanup failed: ${String(error)}`);
      if (cleaned) log(`bench: ${cleaned}`);
    }
    if (s.keep) log(`bench: kept ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}
