/**
 * `npm run bench [-- --growth]`: the service under load, from a load generator in this process
 * against the built server (`node dist/main.js`) in another process, on loopback.
 *
 * Saturated (autocannon, fixed connections, after a warm-up): a bare Hono route in its own
 * process (the ceiling), start, check with the right code, check with a wrong code, and the full
 * start → check flow with the code read back from the log provider's outbox. Fixed rate: start
 * and check at BENCH_RATE req/s, paced evenly (and, for comparison, with autocannon's overallRate).
 * `--growth` seeds a second database with 10^6 verifications (with deliveries) and 10^6 failure
 * records, starts a server on each, and runs every scenario on both back to back (empty first and
 * grown first in turn): the two figures of a pair are a minute or so apart, so the slowdown is the
 * database's, not the machine's drift between two passes.
 *
 * Prints req/s, p50/p99, errors, statuses, the server's peak RSS and CPU per request and the ratio
 * to the ceiling; writes the same to bench/results/<time>-<backend>.json (bench/compare.ts puts
 * two side by side). Run `npm run bench -- --help` for the options and their environment variables.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import type autocannon from 'autocannon';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createNumberProtector } from '../src/events/number-protection.js';
import { postgresBackend, redact, sqliteBackend, withRedis, type Backend } from './lib/backend.js';
import { cannon, paced, type Measurement, type PacedRequest } from './lib/load.js';
import { createOutboxReader } from './lib/outbox.js';
import { buildServer, cpuTimeMs, launch, peakRssMb, resetPeakRss, ROOT, sampleMemory, type BenchProcess } from './lib/process.js';
import { fixedRateTable, growthTable, saturatedTable, slowdowns, type BenchReport, type ScenarioResult } from './lib/report.js';
import { createSeedProgress } from './seed/progress.js';
import { seed, seedCheckPool, type PoolEntry } from './seed/seeder.js';
import { RAISED_LIMITS } from './lib/raised-limits.js';
import { randomIp, randomMobile } from './lib/traffic.js';

const ADMIN_KEY = `bench-admin-${randomBytes(24).toString('hex')}`;

interface Settings {
  connections: number;
  duration: number;
  warmup: number;
  rate: number;
  growth: boolean;
  verifications: number;
  failures: number;
  databaseUrl?: string;
  redisUrl?: string;
  keep: boolean;
  rebuildIndexes: boolean;
}

function whole(value: string): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
}

function settings(): Settings {
  const program = new Command()
    .name('npm run bench --')
    .description('Load the real server from another process; see README "Performance".')
    .addOption(new Option('--connections <n>', 'concurrent connections').env('BENCH_CONNECTIONS').argParser(whole).default(50))
    .addOption(new Option('--duration <s>', 'seconds per measured scenario').env('BENCH_DURATION').argParser(whole).default(10))
    .addOption(new Option('--warmup <s>', 'seconds of warm-up before each saturated scenario').env('BENCH_WARMUP').argParser(whole).default(2))
    .addOption(new Option('--rate <n>', 'requests per second of the fixed-rate scenarios').env('BENCH_RATE').argParser(whole).default(1000))
    .addOption(new Option('--growth', 'then seed and run the scenarios again on the grown database').env('BENCH_GROWTH').default(false))
    .addOption(new Option('--verifications <n>', 'verifications seeded by --growth').env('BENCH_GROWTH_VERIFICATIONS').argParser(whole).default(1_000_000))
    .addOption(new Option('--failures <n>', 'failure records seeded by --growth').env('BENCH_GROWTH_FAILURES').argParser(whole).default(1_000_000))
    .addOption(new Option('--database-url <url>', 'postgres://… (the server gets its own database on that server as DATABASE_URL); SQLite when absent').env('BENCH_DATABASE_URL'))
    .addOption(new Option('--redis-url <url>', 'redis://… for the rate-limit counters (the server gets REDIS_URL)').env('BENCH_REDIS_URL'))
    .addOption(new Option('--rebuild-indexes', 'growth: drop secondary indexes for the load and rebuild them (faster; compact indexes instead of grown ones)').env('BENCH_REBUILD_INDEXES').default(false))
    .addOption(new Option('--keep', 'keep the data directory and database afterwards').env('BENCH_KEEP').default(false))
    .parse();
  const opts = program.opts<Settings & { growth: boolean | string; keep: boolean | string; rebuildIndexes: boolean | string }>();
  const flag = (v: boolean | string): boolean => v === true || v === '1' || v === 'true' || v === 'yes';
  if (opts.connections < 1 || opts.duration < 1 || opts.rate < 1) program.error('--connections, --duration and --rate must be at least 1');
  return { ...opts, growth: flag(opts.growth), keep: flag(opts.keep), rebuildIndexes: flag(opts.rebuildIndexes) };
}

const log = (line: string): void => void process.stdout.write(`${line}\n`);

function letters(n: number): string {
  return Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');
}

interface Target {
  /** What the output calls it when there are several ("empty", "grown"). */
  label: string;
  server: BenchProcess;
  key: string;
  app: string;
  outboxPath: string;
  backend: Backend;
  pepper: Buffer;
  ceilingReqPerSec: number;
}

/** Runs one measured load against a process: its peak RSS and CPU time are taken around it, not the warm-up. */
async function measure(
  pid: number,
  meta: Pick<ScenarioResult, 'id' | 'name' | 'mode' | 'tool' | 'connections' | 'expectedStatus'> & { targetRate?: number },
  run: () => Promise<Measurement>,
): Promise<ScenarioResult> {
  resetPeakRss(pid);
  const memory = sampleMemory(pid);
  const cpuBefore = cpuTimeMs(pid);
  let m: Measurement;
  let peakAnonMb: number | null;
  try {
    m = await run();
  } finally {
    ({ peakAnonMb } = memory.stop());
  }
  const cpuAfter = cpuTimeMs(pid);
  const unexpected = Object.entries(m.statusCodes)
    .filter(([status]) => !meta.expectedStatus.includes(Number(status)))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    ...meta,
    ...m,
    unexpected,
    server: {
      peakRssMb: peakRssMb(pid),
      peakRssAnonMb: peakAnonMb,
      cpuMsPerRequest: cpuBefore === null || cpuAfter === null || m.requests === 0 ? null : Math.round(((cpuAfter - cpuBefore) / m.requests) * 100) / 100,
    },
    ratioToCeiling: null,
  };
}

/** A cursor over a pool of seeded verifications; `take` returns undefined once it is spent. */
function cursor(pool: readonly PoolEntry[], usesEach = 1): () => PoolEntry | undefined {
  let next = 0;
  return () => pool[Math.floor(next++ / usesEach)];
}

const wrongCode = (code: string): string => String((Number(code) + 1) % 1_000_000).padStart(code.length, '0');

async function seedPool(t: Target, count: number): Promise<PoolEntry[]> {
  const target = await t.backend.openTarget();
  try {
    return await seedCheckPool(target, { app: t.app, count, now: Date.now(), pepper: t.pepper });
  } finally {
    await target.close();
  }
}

/**
 * A check scenario on seeded pending verifications: a warm-up on a pool sized from the ceiling,
 * then a pool sized from the warm-up's rate, so it lasts the run without bloating the database.
 */
async function checkScenario(t: Target, s: Settings, spec: { id: string; name: string; status: number; usesEach: number; code: (entry: PoolEntry) => string }): Promise<ScenarioResult> {
  const auth = { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' };
  const requestsFor = (pool: PoolEntry[], stop: { now?: (why: string) => void }): autocannon.Request[] => {
    const take = cursor(pool, spec.usesEach);
    const last = pool[pool.length - 1]!;
    return [
      {
        method: 'POST',
        headers: auth,
        setupRequest: (req) => {
          let entry = take();
          if (!entry) {
            stop.now?.(`pool of ${pool.length.toLocaleString('en-US')} ran out`);
            entry = last;
          }
          return { ...req, path: `/v1/verifications/${entry.id}/check`, body: JSON.stringify({ code: spec.code(entry), signals: { ip: randomIp() } }) };
        },
      },
    ];
  };
  const run = async (pool: PoolEntry[], seconds: number): Promise<Measurement> => {
    const stop: { now?: (why: string) => void } = {};
    return cannon({ url: t.server.url, connections: s.connections, durationSeconds: seconds, requests: requestsFor(pool, stop) }, { onInstance: (fn) => (stop.now = fn) });
  };
  let expectedRate = t.ceilingReqPerSec;
  if (s.warmup > 0) {
    const warm = await run(await seedPool(t, Math.min(20_000, Math.ceil((t.ceilingReqPerSec * s.warmup * 1.2) / spec.usesEach))), s.warmup);
    expectedRate = warm.stoppedEarly ? t.ceilingReqPerSec : warm.reqPerSec;
  }
  // Three times the warm-up's rate: a warm server checks faster than one still warming up.
  const pool = await seedPool(t, Math.ceil((expectedRate * s.duration * 3) / spec.usesEach) + 2000);
  return measure(t.server.pid, { id: spec.id, name: spec.name, mode: 'saturated', tool: 'autocannon', connections: s.connections, expectedStatus: [spec.status] }, () => run(pool, s.duration));
}

/**
 * Every scenario, in a fixed order, each run on every target in turn (warm-up included) before the
 * next scenario begins: with an empty and a grown database, the two figures of a pair are taken
 * a minute or so apart. `afterStart` runs once per target, once starts have written something.
 * Returns each target's results, in the order of `targets`.
 */
async function scenarios(targets: readonly Target[], s: Settings, afterStart: (t: Target) => Promise<void> = () => Promise.resolve()): Promise<ScenarioResult[][]> {
  const results: ScenarioResult[][] = targets.map(() => []);
  const authOf = (t: Target) => ({ authorization: `Bearer ${t.key}`, 'content-type': 'application/json' });
  const startBody = (): string => JSON.stringify({ to: randomMobile(), signals: { ip: randomIp() } });
  const tag = (t: Target): string => (targets.length > 1 ? `[${t.label}] ` : '');
  let turn = 0;
  /**
   * Runs `scenario` on each target in turn and records what it measured. Every other scenario
   * takes the targets in the reverse order (empty, grown; then grown, empty), so a machine that
   * slows down or speeds up during the run weighs on both sides alike.
   */
  const onEach = async (scenario: (t: Target) => Promise<ScenarioResult>): Promise<void> => {
    const order = [...targets.entries()];
    if (turn++ % 2 === 1) order.reverse();
    for (const [i, t] of order) {
      const r = await scenario(t);
      results[i]!.push(r);
      log(`  ${tag(t)}${r.name}: ${r.reqPerSec.toLocaleString('en-US')} req/s, p99 ${Math.round(r.latencyMs.p99)} ms${r.unexpected ? `, ${r.unexpected} unexpected statuses` : ''}`);
    }
  };

  // start
  const startRequests = (t: Target): autocannon.Request[] => [{ method: 'POST', path: '/v1/verifications', headers: authOf(t), setupRequest: (req) => ({ ...req, body: startBody() }) }];
  const startRun = (t: Target, seconds: number): Promise<Measurement> => cannon({ url: t.server.url, connections: s.connections, durationSeconds: seconds, requests: startRequests(t) });
  await onEach(async (t) => {
    if (s.warmup > 0) await startRun(t, s.warmup);
    return measure(t.server.pid, { id: 'start', name: 'start (SMS, log provider → outbox)', mode: 'saturated', tool: 'autocannon', connections: s.connections, expectedStatus: [201] }, () =>
      startRun(t, s.duration),
    );
  });
  for (const t of targets) await afterStart(t);

  // check, right and wrong code
  await onEach((t) => checkScenario(t, s, { id: 'check-right', name: 'check, right code', status: 200, usesEach: 1, code: (e) => e.code }));
  // Four wrong codes per verification: the fifth would lock it (MAX_CHECK_ATTEMPTS=5).
  await onEach((t) => checkScenario(t, s, { id: 'check-wrong', name: 'check, wrong code', status: 422, usesEach: 4, code: (e) => wrongCode(e.code) }));

  // start → check, the code read back from the outbox as a person reads the SMS
  interface Flow {
    id?: string;
    ip?: string;
  }
  await onEach(async (t) => {
    const outbox = createOutboxReader(t.outboxPath);
    const flowRequests: autocannon.Request[] = [
      {
        method: 'POST',
        path: '/v1/verifications',
        headers: authOf(t),
        setupRequest: (req, context) => {
          const flow = context as Flow;
          flow.ip = randomIp();
          return { ...req, body: JSON.stringify({ to: randomMobile(), signals: { ip: flow.ip } }) };
        },
        onResponse: (status, body, context) => {
          if (status === 201) (context as Flow).id = (JSON.parse(body) as { id: string }).id;
        },
      },
      {
        method: 'POST',
        headers: authOf(t),
        setupRequest: (req, context) => {
          const flow = context as Flow;
          // A start that failed has no check: returning nothing makes autocannon begin the next pair.
          if (!flow.id) return undefined as unknown as autocannon.Request;
          const code = outbox.take(flow.id) ?? 'missing-from-outbox';
          return { ...req, path: `/v1/verifications/${flow.id}/check`, body: JSON.stringify({ code, signals: { ip: flow.ip } }) };
        },
      },
    ];
    const flowRun = (seconds: number): Promise<Measurement> => cannon({ url: t.server.url, connections: s.connections, durationSeconds: seconds, requests: flowRequests });
    try {
      if (s.warmup > 0) await flowRun(s.warmup);
      const flow = await measure(t.server.pid, { id: 'flow', name: 'start → check (outbox)', mode: 'saturated', tool: 'autocannon', connections: s.connections, expectedStatus: [201, 200] }, () =>
        flowRun(s.duration),
      );
      flow.flowsPerSec = Math.round((flow.statusCodes['200'] ?? 0) / flow.seconds);
      return flow;
    } finally {
      outbox.close();
    }
  });

  // Fixed rate, paced evenly: latency at a load the server can carry.
  const rateName = (what: string, how: string): string => `${what} @ ${s.rate.toLocaleString('en-US')}/s (${how})`;
  const fixedMeta = (id: string, name: string, tool: 'paced' | 'autocannon', expected: number) => ({ id, name, mode: 'fixed-rate' as const, tool, connections: s.connections, expectedStatus: [expected], targetRate: s.rate });
  await onEach((t) =>
    measure(t.server.pid, fixedMeta('start@rate', rateName('start', 'paced'), 'paced', 201), () =>
      paced({ url: t.server.url, rate: s.rate, durationSeconds: s.duration, connections: s.connections, next: (): PacedRequest => ({ method: 'POST', path: '/v1/verifications', headers: authOf(t), body: startBody() }) }),
    ),
  );
  await onEach(async (t) => {
    const take = cursor(await seedPool(t, Math.ceil(s.rate * s.duration * 1.05) + 100));
    return measure(t.server.pid, fixedMeta('check@rate', rateName('check, right code', 'paced'), 'paced', 200), () =>
      paced({
        url: t.server.url,
        rate: s.rate,
        durationSeconds: s.duration,
        connections: s.connections,
        next: () => {
          const e = take();
          return e && { method: 'POST', path: `/v1/verifications/${e.id}/check`, headers: authOf(t), body: JSON.stringify({ code: e.code, signals: { ip: randomIp() } }) };
        },
      }),
    );
  });

  // The same rates through autocannon's overallRate, for comparison (bursts at the top of each second).
  await onEach((t) =>
    measure(t.server.pid, fixedMeta('start@rate-autocannon', rateName('start', 'autocannon overallRate'), 'autocannon', 201), () =>
      cannon({ url: t.server.url, connections: s.connections, durationSeconds: s.duration, requests: startRequests(t), overallRate: s.rate }),
    ),
  );
  await onEach(async (t) => {
    const pool = await seedPool(t, Math.ceil(s.rate * s.duration * 1.05) + 100);
    const take = cursor(pool);
    const stop: { now?: (why: string) => void } = {};
    const requests: autocannon.Request[] = [
      {
        method: 'POST',
        headers: authOf(t),
        setupRequest: (req) => {
          let e = take();
          if (!e) {
            stop.now?.('pool ran out');
            e = pool[pool.length - 1]!;
          }
          return { ...req, path: `/v1/verifications/${e.id}/check`, body: JSON.stringify({ code: e.code, signals: { ip: randomIp() } }) };
        },
      },
    ];
    return measure(t.server.pid, fixedMeta('check@rate-autocannon', rateName('check, right code', 'autocannon overallRate'), 'autocannon', 200), () =>
      cannon({ url: t.server.url, connections: s.connections, durationSeconds: s.duration, requests, overallRate: s.rate }, { onInstance: (fn) => (stop.now = fn) }),
    );
  });
  return results;
}

async function createKey(url: string, app: string): Promise<string> {
  const response = await fetch(`${url}/v1/admin/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app, scopes: ['verify'] }),
  });
  if (response.status !== 201) throw new Error(`creating an API key answered ${response.status}: ${await response.text()}`);
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
async function grow(side: Side, s: Settings, app: string, reportsKey: string): Promise<NonNullable<BenchReport['growth']>['seeding']> {
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
  log(`bench: seeded ${seeding.rows.toLocaleString('en-US')} rows (${seeding.verifications.toLocaleString('en-US')} verifications, ${seeding.deliveries.toLocaleString('en-US')} deliveries, ${seeding.failures.toLocaleString('en-US')} failures) in ${seeding.seconds} s: ${seeding.rowsPerSecond.toLocaleString('en-US')} rows/s`);
  // A gigabyte just written is still being written back by the kernel (and by PostgreSQL's
  // checkpointer): done now, not during the first scenarios on the grown side.
  const started = performance.now();
  await side.backend.checkpoint();
  spawnSync('sync');
  log(`bench: seeded rows checkpointed and flushed to disk (${Math.round(performance.now() - started)} ms)`);
  return seeding;
}

async function main(): Promise<void> {
  const s = settings();
  const startedAt = new Date();
  const loadStart = loadavg().map((l) => Math.round(l * 100) / 100);
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), platform: platform() };
  const runId = letters(8);
  const app = `bench-${runId}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'otp-bench-'));
  const pepper = randomBytes(32).toString('base64');
  const reportsKey = randomBytes(32).toString('base64');

  log(`bench: ${s.connections} connections, ${s.duration} s per scenario after ${s.warmup} s of warm-up; fixed rate ${s.rate}/s${s.growth ? `; growth: +${s.verifications.toLocaleString('en-US')} verifications, +${s.failures.toLocaleString('en-US')} failures` : ''}`);
  log(`bench: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}; load average ${loadStart.join(' ')} (the load generator shares these CPUs with the server)`);
  log(`bench: limits and abuse thresholds RAISED for this run so they count but never fire (RAISED_LIMITS in bench/lib/raised-limits.ts); numbers and end-user IPs are random`);

  const sides: Side[] = [];
  const servers: BenchProcess[] = [];
  const addSide = async (label: Side['label'], databaseId: string, env: Record<string, string>): Promise<Side> => {
    const dir = join(dataDir, label);
    mkdirSync(dir);
    let backend: Backend = s.databaseUrl ? await postgresBackend(s.databaseUrl, databaseId, log) : sqliteBackend(dir);
    if (s.redisUrl) backend = withRedis(backend, s.redisUrl);
    const side: Side = { label, dir, backend, env: { DATA_DIR: dir, OUTBOX_PATH: join(dir, 'outbox.jsonl'), ...env } };
    sides.push(side);
    log(`bench: ${label} database: ${backend.label}${s.databaseUrl ? ` (${redact(backend.serverEnv.DATABASE_URL ?? '')})` : ''}${s.redisUrl ? `, Redis ${redact(s.redisUrl)}` : ''}; data in ${dir}`);
    return side;
  };

  try {
    await addSide('empty', runId, {});
    // Its own Redis key prefix: the two servers count the same app's limits, each in its own keys.
    const grown = s.growth ? await addSide('grown', `${runId}_grown`, s.redisUrl ? { REDIS_KEY_PREFIX: 'otp-grown' } : {}) : undefined;
    const seeding = grown ? await grow(grown, s, app, reportsKey) : undefined;

    log('bench: building the server (tsc -p tsconfig.build.json → dist/) to run it as production does: node dist/main.js');
    const serverScript = buildServer();

    // The ceiling: a bare Hono route in its own process, same connections and duration.
    const ceilingProcess = await launch(join(ROOT, 'bench/ceiling.js'), {}, join(dataDir, 'ceiling.log'));
    const echo: autocannon.Request[] = [{ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"to":"+33612345678"}' }];
    if (s.warmup > 0) await cannon({ url: ceilingProcess.url, connections: s.connections, durationSeconds: s.warmup, requests: echo });
    const ceiling = await measure(ceilingProcess.pid, { id: 'ceiling', name: 'ceiling (bare Hono POST)', mode: 'saturated', tool: 'autocannon', connections: s.connections, expectedStatus: [201] }, () =>
      cannon({ url: ceilingProcess.url, connections: s.connections, durationSeconds: s.duration, requests: echo }),
    );
    log(`  ${ceiling.name}: ${ceiling.reqPerSec.toLocaleString('en-US')} req/s, p99 ${ceiling.latencyMs.p99} ms`);
    const ceilingPaced = await measure(
      ceilingProcess.pid,
      { id: 'ceiling@rate', name: `ceiling @ ${s.rate.toLocaleString('en-US')}/s (paced)`, mode: 'fixed-rate', tool: 'paced', connections: s.connections, expectedStatus: [201], targetRate: s.rate },
      () => paced({ url: ceilingProcess.url, rate: s.rate, durationSeconds: s.duration, connections: s.connections, next: () => ({ method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"to":"+33612345678"}' }) }),
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
    const fromBench = Object.fromEntries(Object.entries(process.env).flatMap(([k, v]) => (k.startsWith('BENCH_ENV_') && v !== undefined ? [[k.slice('BENCH_ENV_'.length), v]] : [])));
    const targets: Target[] = [];
    for (const side of sides) {
      const env = { ...serverEnv, ...side.backend.serverEnv, ...side.env, ...fromBench };
      const server = await launch(serverScript, env, join(side.dir, 'server.log'));
      servers.push(server);
      const key = await createKey(server.url, app);
      targets.push({ label: side.label, server, key, app, outboxPath: env.OUTBOX_PATH!, backend: side.backend, pepper: Buffer.from(pepper, 'utf8'), ceilingReqPerSec: ceiling.reqPerSec });
    }
    if (grown) log('bench: every scenario runs on both databases back to back, empty first and grown first in turn');
    // Fails fast when the server did not use the backend it was given (a build without PostgreSQL support runs on SQLite).
    const [baseline = [], grownResults] = await scenarios(targets, s, async (t) => log(`bench: ${targets.length > 1 ? `[${t.label}] ` : ''}${await t.backend.verify(app)}`));
    const growth: BenchReport['growth'] = seeding && grownResults ? { seeding, scenarios: grownResults, slowdown: slowdowns(baseline, grownResults) } : undefined;

    const all = [ceiling, ...baseline, ...(growth?.scenarios ?? [])];
    for (const r of all) if (r.mode === 'saturated') r.ratioToCeiling = Math.round((r.reqPerSec / ceiling.reqPerSec) * 10_000) / 10_000;
    const loadEnd = loadavg().map((l) => Math.round(l * 100) / 100);
    const backendLabel = sides[0]!.backend.label;
    const report: BenchReport = {
      version: 1,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      backend: backendLabel,
      machine,
      loadAverage: { start: loadStart, end: loadEnd },
      settings: { connections: s.connections, durationSeconds: s.duration, warmupSeconds: s.warmup, fixedRate: s.rate, raisedLimits: RAISED_LIMITS },
      scenarios: [ceiling, ceilingPaced, ...baseline],
      ...(growth ? { growth } : {}),
    };

    log('');
    log(`Saturated: ${s.connections} connections, ${s.duration} s each (${backendLabel}, limits raised; CPU ms/req is the server process's CPU time per response)`);
    log(saturatedTable(report.scenarios.filter((r) => r.mode === 'saturated')));
    log('');
    log(`Fixed rate: ${s.rate}/s for ${s.duration} s, at most ${s.connections} connections. "paced": one request every ${1000 / s.rate} ms; "p99 from schedule" also counts`);
    log('waiting for a free connection; "not sent": still waiting when the time was up (the server could not keep the rate).');
    log('"autocannon overallRate" sends each second\'s requests back to back at its start (bursts), shown for comparison.');
    log(fixedRateTable(report.scenarios.filter((r) => r.mode === 'fixed-rate')));
    if (growth) {
      log('');
      log(`Grown database (+${growth.seeding.verifications.toLocaleString('en-US')} verifications, +${growth.seeding.deliveries.toLocaleString('en-US')} deliveries, +${growth.seeding.failures.toLocaleString('en-US')} failures; seeded in ${growth.seeding.seconds} s, ${growth.seeding.rowsPerSecond.toLocaleString('en-US')} rows/s), each scenario run back to back with the same one above:`);
      log(saturatedTable(growth.scenarios.filter((r) => r.mode === 'saturated')));
      log(fixedRateTable(growth.scenarios.filter((r) => r.mode === 'fixed-rate')));
      log('');
      log('Slowdown on the grown database (throughput lost; p99 and server CPU per response, the steadiest figure on a shared machine):');
      log(growthTable(baseline, growth.scenarios));
    }
    log('');
    log(`load average: ${loadStart.join(' ')} at the start, ${loadEnd.join(' ')} at the end`);
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `${startedAt.toISOString().replace(/[:.]/g, '-')}-${backendLabel.replace(/\+/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`written ${relative(process.cwd(), file)}`);
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    for (const side of sides) {
      const cleaned = await side.backend.cleanup({ keep: s.keep, app }).catch((error: unknown) => `cleanup failed: ${String(error)}`);
      if (cleaned) log(`bench: ${cleaned}`);
    }
    if (s.keep) log(`bench: kept ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
