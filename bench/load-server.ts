/**
 * A profiling harness around one real server (not the benchmark of record, which is bench/run.ts):
 * runs one scenario against it and prints what the server spent per request, so a change can be
 * judged by more than req/s on a shared machine.
 *
 *   npx tsx bench/load-server.ts start|check|wrong|ceiling [options via env]
 *
 * `ceiling` runs bench/ceiling.js (a bare Hono POST) instead of the service, for the machine's own
 * latency floor under the same generator.
 *
 * LOAD_DURATION (s, default 10), LOAD_CONNECTIONS (default 50), LOAD_RATE (req/s for the whole
 * run; saturated when absent), LOAD_OPEN=1 (with LOAD_RATE: an open-loop generator sending one
 * request every 1/rate s over up to LOAD_CONNECTIONS keep-alive sockets, latency counted from
 * when each request was due; autocannon's rate is bursty: each connection sends its quota for
 * the second back to back, then waits for the next second), LOAD_RUNTIME (tsx | dist: `node dist/main.js` after `npm run build`),
 * LOAD_CPU_PROF=1 (the server writes a .cpuprofile into bench/results/ on exit),
 * LOAD_SERVER_DIR (run the server of another checkout, for A/B runs; default this one),
 * LOAD_DATA_DIR (reuse a data directory, e.g. a seeded one), LOAD_ENV_* (extra
 * server environment). Printed: req/s, latency percentiles, status codes, the server's CPU time
 * per request (/proc/<pid>/stat), the event loop thread's alone and the part of it spent in the
 * kernel, its read and write syscalls and bytes per request (/proc/<pid>/io), and its peak RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { RAISED_LIMITS } from './lib/raised-limits.js';
import { randomIp, randomMobile } from './lib/traffic.js';

const ROOT = resolve(import.meta.dirname, '..');
const SCENARIO = process.argv[2] ?? 'start';
const DURATION = Number(process.env.LOAD_DURATION ?? 10);
const CONNECTIONS = Number(process.env.LOAD_CONNECTIONS ?? 50);
const RATE = process.env.LOAD_RATE ? Number(process.env.LOAD_RATE) : undefined;
const RUNTIME = process.env.LOAD_RUNTIME ?? 'tsx';
const ADMIN = 'bench-admin-key-0123456789abcdefghijklmnop';
const TICKS = 100; // USER_HZ on Linux

interface Server {
  url: string;
  child: ChildProcess;
}

function launch(dataDir: string): Promise<Server> {
  const entry = SCENARIO === 'ceiling' ? ['bench/ceiling.js'] : RUNTIME === 'dist' ? ['dist/main.js'] : ['--import', 'tsx', 'src/main.ts'];
  const prof = process.env.LOAD_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', join(ROOT, 'bench/results')] : [];
  // LOAD_NODE_FLAGS='--trace-gc' and the like; the server's output is kept in <data dir>/server.log.
  prof.push(...(process.env.LOAD_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  const log = createWriteStream(join(dataDir, 'server.log'));
  const extra = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('LOAD_ENV_')).map(([k, v]) => [k.slice(9), v ?? '']));
  const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', DATA_DIR: dataDir, ADMIN_API_KEY: ADMIN, LOG_PROVIDER_STDOUT: 'false', ...RAISED_LIMITS, ...extra };
  const child = spawn(process.execPath, [...prof, ...entry], { cwd: process.env.LOAD_SERVER_DIR ?? ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      out += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
      if (match) resolvePromise({ url: `http://127.0.0.1:${match[1]}`, child });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
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
  peakRssMb: number;
}

/** User and system CPU time in ms from a /proc stat file. */
function cpuOf(statPath: string): { user: number; system: number } {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1000) / TICKS, system: (Number(fields[12]) * 1000) / TICKS };
}

const cpuMsOf = (statPath: string): number => {
  const { user, system } = cpuOf(statPath);
  return user + system;
};

function sample(pid: number): ProcSample {
  const cpuMs = cpuMsOf(`/proc/${pid}/stat`);
  const mainThread = cpuOf(`/proc/${pid}/task/${pid}/stat`);
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    cpuMs,
    mainThreadCpuMs: mainThread.user + mainThread.system,
    mainThreadSystemMs: mainThread.system,
    syscw: Number(/syscw: (\d+)/.exec(io)?.[1]),
    writeBytes: Number(/wchar: (\d+)/.exec(io)?.[1]),
    syscr: Number(/syscr: (\d+)/.exec(io)?.[1]),
    readBytes: Number(/rchar: (\d+)/.exec(io)?.[1]),
    peakRssMb: Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 102.4) / 10,
  };
}

async function prepare(url: string, auth: Record<string, string>, outbox: string, count: number): Promise<{ id: string; code: string }[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, () =>
        fetch(`${url}/v1/verifications`, { method: 'POST', headers: auth, body: JSON.stringify({ to: randomMobile(), signals: { ip: randomIp() } }) }).then(
          async (r) => {
            if (r.status !== 201) throw new Error(`seeding a check pool: POST /v1/verifications answered ${r.status}: ${await r.text()}`);
            return (await r.json()) as { id: string };
          },
        ),
      ),
    );
    ids.push(...batch.map((r) => r.id));
  }
  const codes = new Map<string, string>();
  for (const line of readFileSync(outbox, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { verificationId: string; body: string };
    codes.set(entry.verificationId, /(\d{6})/.exec(entry.body)?.[1] ?? '');
  }
  return ids.map((id) => ({ id, code: codes.get(id) ?? '' }));
}

interface LoadResult {
  requests: { total: number; average: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  statusCodeStats?: Record<string, { count?: number }> | undefined;
  errors: number;
  timeouts: number;
  duration: number;
}

/** Open loop: request i is due at i / rate seconds and is sent then, whatever the answers before it. */
function openLoop(url: string, headers: Record<string, string>, rate: number, seconds: number, next: () => { path: string; body: string }): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const statusCodeStats: Record<string, { count: number }> = {};
  let errors = 0;
  let sent = 0;
  let done = 0;
  const started = performance.now();
  return new Promise((resolve) => {
    const finish = (): void => {
      if (++done < total) return;
      agent.destroy();
      latencies.sort((a, b) => a - b);
      const at = (q: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) / 100;
      const duration = (performance.now() - started) / 1000;
      resolve({ requests: { total, average: total / duration }, latency: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) }, statusCodeStats, errors, timeouts: 0, duration });
    };
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
      for (; sent < due; sent++) {
        const dueAt = started + (sent / rate) * 1000;
        const { path, body } = next();
        const req = httpRequest(`${url}${path}`, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - dueAt);
            const code = String(res.statusCode);
            statusCodeStats[code] = { count: (statusCodeStats[code]?.count ?? 0) + 1 };
            finish();
          });
        });
        req.on('error', () => {
          errors++;
          finish();
        });
        req.end(body);
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

async function main(): Promise<void> {
  const dataDir = process.env.LOAD_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'otp-load-'));
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const outbox = join(dataDir, 'outbox.jsonl');
  const server = await launch(dataDir);
  const pid = server.child.pid ?? 0;
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
    const timing = RATE === undefined ? { duration: DURATION } : { duration: DURATION, overallRate: RATE };

    let options: autocannon.Options;
    let next: () => { path: string; body: string };
    if (SCENARIO === 'ceiling') {
      const body = '{"to":"+33612345678"}';
      options = { url: `${server.url}/echo`, connections: CONNECTIONS, ...timing, method: 'POST', headers: auth, body };
      next = () => ({ path: '/echo', body });
    } else if (SCENARIO === 'start') {
      const warm = { url: `${server.url}/v1/verifications`, connections: CONNECTIONS, duration: 2 };
      const request = { method: 'POST' as const, headers: auth, setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ to: randomMobile(), signals: { ip: randomIp() } }) }) };
      await autocannon({ ...warm, requests: [request] });
      options = { url: `${server.url}/v1/verifications`, connections: CONNECTIONS, ...timing, requests: [request] };
      next = () => ({ path: '/v1/verifications', body: JSON.stringify({ to: randomMobile(), signals: { ip: randomIp() } }) });
    } else {
      const wanted = Number(process.env.LOAD_POOL ?? (RATE ?? 3000) * DURATION);
      const pool = await prepare(server.url, auth, outbox, wanted);
      let taken = 0;
      const wrongCode = (code: string): string => (code === '000000' ? '000001' : '000000');
      next = (): { path: string; body: string } => {
        const v = SCENARIO === 'wrong' ? pool[Math.floor(taken++ / 4) % pool.length]! : pool[taken++ % pool.length]!;
        return { path: `/v1/verifications/${v.id}/check`, body: JSON.stringify({ code: SCENARIO === 'wrong' ? wrongCode(v.code) : v.code }) };
      };
      const amount = SCENARIO === 'wrong' ? pool.length * 4 : pool.length;
      options = { url: server.url, connections: CONNECTIONS, ...(RATE === undefined ? { amount } : timing), requests: [{ method: 'POST', headers: auth, setupRequest: (req) => ({ ...req, ...next() }) }] };
    }
    const before = sample(pid);
    const result: LoadResult = process.env.LOAD_OPEN && RATE !== undefined ? await openLoop(server.url, auth, RATE, DURATION, next) : await autocannon(options);
    const after = sample(pid);
    const requests = result.requests.total;
    const perRequest = (value: number): number => Math.round((value / Math.max(1, requests)) * 100) / 100;
    console.log(
      JSON.stringify(
        {
          scenario: SCENARIO,
          runtime: RUNTIME,
          connections: CONNECTIONS,
          rate: RATE === undefined ? 'saturated' : `${RATE}${process.env.LOAD_OPEN ? ' (open loop)' : ' (autocannon)'}`,
          requests,
          reqPerSec: Math.round(result.requests.average),
          latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
          statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count])),
          errors: result.errors + result.timeouts,
          serverCpuMsPerRequest: perRequest(after.cpuMs - before.cpuMs),
          serverCpuBusyPercent: Math.round(((after.cpuMs - before.cpuMs) / (result.duration * 1000)) * 100),
          mainThreadCpuMsPerRequest: perRequest(after.mainThreadCpuMs - before.mainThreadCpuMs),
          mainThreadSystemMsPerRequest: perRequest(after.mainThreadSystemMs - before.mainThreadSystemMs),
          mainThreadBusyPercent: Math.round(((after.mainThreadCpuMs - before.mainThreadCpuMs) / (result.duration * 1000)) * 100),
          writeSyscallsPerRequest: perRequest(after.syscw - before.syscw),
          writeBytesPerRequest: Math.round(perRequest(after.writeBytes - before.writeBytes)),
          readSyscallsPerRequest: perRequest(after.syscr - before.syscr),
          readBytesPerRequest: Math.round(perRequest(after.readBytes - before.readBytes)),
          peakRssMb: after.peakRssMb,
          walMb: existsSync(join(dataDir, 'verify.db-wal')) ? Math.round(statSync(join(dataDir, 'verify.db-wal')).size / 1e5) / 10 : 0,
          dataDir,
        },
        null,
        2,
      ),
    );
  } finally {
    server.child.kill('SIGINT');
    await new Promise((r) => server.child.once('exit', r));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
