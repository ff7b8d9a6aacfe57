/**
 * What does the server spend per request, and did a change make it cheaper? A profiling harness
 * around one real server (not the benchmark of record, which is `npm run bench`): runs one scenario
 * against it and prints what the server process spent per request, so a change can be judged by
 * more than req/s on a shared machine; run it alternately against two checkouts for an A/B.
 *
 *   npx tsx bench/tools/load-server.ts start|check|wrong|ceiling
 *
 * `ceiling` runs bench/lib/ceiling.js (a bare Hono POST) instead of the service, for the machine's
 * own latency floor under the same generator. `check` and `wrong` first start a pool of
 * verifications through the API (codes read from the outbox); saturated, they run until it is spent.
 *
 * Environment: LOAD_DURATION (s, default 10), LOAD_CONNECTIONS (default 50), LOAD_RATE (req/s for
 * the whole run; saturated when absent), LOAD_OPEN=1 (with LOAD_RATE: evenly paced, one request
 * every 1/rate s over up to LOAD_CONNECTIONS keep-alive sockets, latency also counted from when
 * each request was due; autocannon's rate is bursty: each connection sends its quota for the
 * second back to back, then waits for the next second), LOAD_POOL (verifications of a check pool;
 * default rate or 3000 × duration), LOAD_RUNTIME (tsx | dist: `node dist/main.js` after
 * `npm run build`), LOAD_CPU_PROF=1 (the server writes a .cpuprofile into bench/results/ on exit;
 * bench/tools/cpuprofile-summary.ts reads it), LOAD_NODE_FLAGS ('--trace-gc' and the like),
 * LOAD_SERVER_DIR (run the server of another checkout, for A/B runs; default this one),
 * LOAD_DATA_DIR (reuse a data directory, e.g. one seeded with `DATA_DIR=<dir> npm run bench -- seed`),
 * LOAD_ENV_X=y (X=y in the server's environment).
 *
 * Prints one JSON object: req/s, latency percentiles, status codes, the server's CPU time per
 * request (/proc/<pid>/stat), the event loop thread's alone and the part of it spent in the
 * kernel, its read and write syscalls and bytes per request (/proc/<pid>/io), its peak RSS and
 * the SQLite WAL's size. The server's output is in <data dir>/server.log.
 */
import { mkdirSync, mkdtempSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type autocannon from 'autocannon';
import {
  cannon,
  paced,
  type Measurement,
  type PacedMeasurement,
  type PacedRequest,
} from '../lib/load.js';
import { createOutboxReader } from '../lib/outbox.js';
import { launch, peakRssMb, ROOT, type BenchProcess } from '../lib/process.js';
import { RAISED_LIMITS } from '../lib/raised-limits.js';
import { randomIp, randomMobile } from '../lib/traffic.js';

const SCENARIOS = ['start', 'check', 'wrong', 'ceiling'] as const;
type Scenario = (typeof SCENARIOS)[number];
const SCENARIO = (process.argv[2] ?? 'start') as Scenario;
if (!SCENARIOS.includes(SCENARIO)) throw new Error(`usage: load-server.ts ${SCENARIOS.join('|')}`);
const DURATION = Number(process.env.LOAD_DURATION ?? 10);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 50);
const RATE = process.env.LOAD_RATE ? Number(process.env.LOAD_RATE) : undefined;
const OPEN = Boolean(process.env.LOAD_OPEN) && RATE !== undefined;
const RUNTIME = process.env.LOAD_RUNTIME ?? 'tsx';
const ADMIN = 'bench-admin-key-0123456789abcdefghijklmnop';
const TICKS = 100; // USER_HZ on Linux

function start(dataDir: string): Promise<BenchProcess> {
  const results = join(ROOT, 'bench/results');
  const nodeArgs = [
    ...(process.env.LOAD_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', results] : []),
    ...(process.env.LOAD_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  ];
  const extra = Object.fromEntries(
    Object.entries(process.env).flatMap(([k, v]) =>
      k.startsWith('LOAD_ENV_') ? [[k.slice('LOAD_ENV_'.length), v ?? '']] : [],
    ),
  );
  const env = {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    ADMIN_API_KEY: ADMIN,
    LOG_PROVIDER_STDOUT: 'false',
    ...RAISED_LIMITS,
    ...extra,
  };
  const log = join(dataDir, 'server.log');
  // The ceiling is this checkout's: it measures the machine, not a version of the service.
  if (SCENARIO === 'ceiling')
    return launch(join(ROOT, 'bench/lib/ceiling.js'), env, log, { nodeArgs });
  const cwd = process.env.LOAD_SERVER_DIR ?? ROOT;
  return RUNTIME === 'dist'
    ? launch('dist/main.js', env, log, { nodeArgs, cwd })
    : launch('src/main.ts', env, log, { nodeArgs: [...nodeArgs, '--import', 'tsx'], cwd });
}

interface ProcSample {
  cpuMs: number;
  /** The event loop's thread alone (the process's other threads: GC helpers, libuv's pool, the WAL checkpointer). */
  mainThreadCpuMs: number;
  /** The event loop thread's CPU in the kernel (system calls, page faults). */
  mainThreadSystemMs: number;
  syscw: number;
  writeBytes: number;
  syscr: number;
  readBytes: number;
}

/** User and system CPU time in ms from a /proc stat file (fields after "pid (comm) ": utime is 14, stime 15). */
function cpuOf(statPath: string): { user: number; system: number } {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1000) / TICKS, system: (Number(fields[12]) * 1000) / TICKS };
}

function sample(pid: number): ProcSample {
  const all = cpuOf(`/proc/${pid}/stat`);
  const mainThread = cpuOf(`/proc/${pid}/task/${pid}/stat`);
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`${name}: (\\d+)`).exec(io)?.[1]);
  return {
    cpuMs: all.user + all.system,
    mainThreadCpuMs: mainThread.user + mainThread.system,
    mainThreadSystemMs: mainThread.system,
    syscw: field('syscw'),
    writeBytes: field('wchar'),
    syscr: field('syscr'),
    readBytes: field('rchar'),
  };
}

const isPaced = (m: Measurement): m is PacedMeasurement => 'latencyFromScheduleMs' in m;

/** Starts `count` verifications through the API, 50 at a time, and reads their codes from the outbox. */
async function checkPool(
  url: string,
  auth: Record<string, string>,
  outboxPath: string,
  count: number,
): Promise<{ id: string; code: string }[]> {
  const outbox = createOutboxReader(outboxPath);
  const pool: { id: string; code: string }[] = [];
  try {
    for (let i = 0; i < count; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, async () => {
          const r = await fetch(`${url}/v1/verifications`, {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ to: randomMobile(), signals: { ip: randomIp() } }),
          });
          if (r.status !== 201)
            throw new Error(
              `seeding a check pool: POST /v1/verifications answered ${r.status}: ${await r.text()}`,
            );
          return ((await r.json()) as { id: string }).id;
        }),
      );
      for (const id of batch) pool.push({ id, code: outbox.take(id) ?? '' });
    }
  } finally {
    outbox.close();
  }
  return pool;
}

async function main(): Promise<void> {
  const dataDir = process.env.LOAD_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'otp-load-'));
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const server = await start(dataDir);
  try {
    const key =
      SCENARIO === 'ceiling'
        ? ''
        : (
            (await (
              await fetch(`${server.url}/v1/admin/api-keys`, {
                method: 'POST',
                headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
                body: JSON.stringify({ app: 'bench', scopes: ['verify'] }),
              })
            ).json()) as { key: string }
          ).key;
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const timing = {
      durationSeconds: DURATION,
      ...(RATE === undefined ? {} : { overallRate: RATE }),
    };

    let next: () => { path: string; body: string };
    let amount: number | undefined;
    if (SCENARIO === 'ceiling') {
      next = () => ({ path: '/echo', body: '{"to":"+33612345678"}' });
    } else if (SCENARIO === 'start') {
      next = () => ({
        path: '/v1/verifications',
        body: JSON.stringify({ to: randomMobile(), signals: { ip: randomIp() } }),
      });
      await cannon({
        url: server.url,
        connections: CONNECTIONS,
        durationSeconds: 2,
        requests: [
          { method: 'POST', headers: auth, setupRequest: (req) => ({ ...req, ...next() }) },
        ],
      });
    } else {
      const pool = await checkPool(
        server.url,
        auth,
        join(dataDir, 'outbox.jsonl'),
        Number(process.env.LOAD_POOL ?? (RATE ?? 3000) * DURATION),
      );
      let taken = 0;
      const wrongCode = (code: string): string => (code === '000000' ? '000001' : '000000');
      // Four wrong codes per verification: the fifth would lock it (MAX_CHECK_ATTEMPTS=5).
      next = () => {
        const v =
          SCENARIO === 'wrong'
            ? pool[Math.floor(taken++ / 4) % pool.length]!
            : pool[taken++ % pool.length]!;
        return {
          path: `/v1/verifications/${v.id}/check`,
          body: JSON.stringify({ code: SCENARIO === 'wrong' ? wrongCode(v.code) : v.code }),
        };
      };
      if (RATE === undefined) amount = SCENARIO === 'wrong' ? pool.length * 4 : pool.length;
    }
    const requests: autocannon.Request[] = [
      { method: 'POST', headers: auth, setupRequest: (req) => ({ ...req, ...next() }) },
    ];
    const before = sample(server.pid);
    const result: Measurement | PacedMeasurement = OPEN
      ? await paced({
          url: server.url,
          rate: RATE,
          durationSeconds: DURATION,
          connections: CONNECTIONS,
          next: (): PacedRequest => ({ method: 'POST', headers: auth, ...next() }),
        })
      : await cannon({
          url: server.url,
          connections: CONNECTIONS,
          requests,
          ...timing,
          ...(amount === undefined ? {} : { amount }),
        });
    const after = sample(server.pid);
    const perRequest = (value: number): number =>
      Math.round((value / Math.max(1, result.requests)) * 100) / 100;
    const wal = join(dataDir, 'verify.db-wal');
    console.log(
      JSON.stringify(
        {
          scenario: SCENARIO,
          runtime: SCENARIO === 'ceiling' ? 'node' : RUNTIME,
          connections: CONNECTIONS,
          rate:
            RATE === undefined ? 'saturated' : `${RATE}${OPEN ? ' (open loop)' : ' (autocannon)'}`,
          requests: result.requests,
          reqPerSec: result.reqPerSec,
          latencyMs: result.latencyMs,
          ...(isPaced(result)
            ? { latencyFromScheduleMs: result.latencyFromScheduleMs, notSent: result.notSent }
            : {}),
          statusCodes: result.statusCodes,
          errors: result.errors + result.timeouts,
          serverCpuMsPerRequest: perRequest(after.cpuMs - before.cpuMs),
          serverCpuBusyPercent: Math.round(
            ((after.cpuMs - before.cpuMs) / (result.seconds * 1000)) * 100,
          ),
          mainThreadCpuMsPerRequest: perRequest(after.mainThreadCpuMs - before.mainThreadCpuMs),
          mainThreadSystemMsPerRequest: perRequest(
            after.mainThreadSystemMs - before.mainThreadSystemMs,
          ),
          mainThreadBusyPercent: Math.round(
            ((after.mainThreadCpuMs - before.mainThreadCpuMs) / (result.seconds * 1000)) * 100,
          ),
          writeSyscallsPerRequest: perRequest(after.syscw - before.syscw),
          writeBytesPerRequest: Math.round(perRequest(after.writeBytes - before.writeBytes)),
          readSyscallsPerRequest: perRequest(after.syscr - before.syscr),
          readBytesPerRequest: Math.round(perRequest(after.readBytes - before.readBytes)),
          peakRssMb: peakRssMb(server.pid),
          walMb: existsSync(wal) ? Math.round(statSync(wal).size / 1e5) / 10 : 0,
          dataDir,
        },
        null,
        2,
      ),
    );
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
