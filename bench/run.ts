/**
 * `npm run bench`: autocannon from this process against the real server (a separate process) on
 * loopback. Scenarios: a bare Hono route (the ceiling), start (log provider appending to the
 * outbox), check with the right code, check with a wrong code. Prints req/s, p50, p99, errors,
 * the server's peak RSS and the ratio to the ceiling; writes the same to bench/results/<time>.json.
 *
 * Environment: BENCH_DURATION (seconds, default 10), BENCH_CONNECTIONS (default 50).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';

const ROOT = resolve(import.meta.dirname, '..');
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ADMIN = 'bench-admin-key-0123456789abcdefghijklmnop';

/**
 * Limits raised for the run (and said so in the output): the bench sends tens of thousands of
 * starts to one country from random numbers and addresses in seconds, which the default limits and
 * abuse rules rightly refuse. Every rule still runs and counts; none fires.
 */
const RAISED_LIMITS: Record<string, string> = {
  LIMIT_NUMBER_STARTS_10M: '1000000',
  LIMIT_NUMBER_STARTS_DAY: '1000000',
  LIMIT_IP_STARTS_10M: '1000000',
  LIMIT_SUBNET_STARTS_10M: '1000000',
  LIMIT_COUNTRY_STARTS_HOUR: '100000000',
  LIMIT_APP_STARTS_HOUR: '100000000',
  LIMIT_NUMBER_CHECKS_DAY: '1000000',
  LIMIT_IP_CHECKS_HOUR: '1000000',
  ABUSE_PREFIX_STARTS_10M: '1000000',
  ABUSE_IP_FANOUT_HOUR: '1000000',
  ABUSE_SEQUENTIAL_HOUR: '1000000',
  ABUSE_CONVERSION_MIN_STARTS: '1000000',
  ABUSE_COUNTRY_CONVERSION_MIN_STARTS: '10000000',
};

interface Server {
  url: string;
  child: ChildProcess;
}

function launch(args: string[], env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
      if (match) resolvePromise({ url: `http://127.0.0.1:${match[1]}`, child });
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** Peak resident set size of a process, from /proc (VmHWM), in MB. */
function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return null;
  }
}

interface Result {
  scenario: string;
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
  peakRssMb: number | null;
  ratioToCeiling: number | null;
}

async function cannon(scenario: string, options: autocannon.Options, pid: number | undefined, expectedStatus: number): Promise<Result> {
  const result = await autocannon({ connections: CONNECTIONS, ...options, expectBody: undefined });
  const bad = Object.entries(result.statusCodeStats ?? {})
    .filter(([status]) => Number(status) !== expectedStatus)
    .reduce((sum, [, stat]) => sum + (stat as { count: number }).count, 0);
  return {
    scenario,
    requests: result.requests.total,
    reqPerSec: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: bad,
    peakRssMb: peakRssMb(pid),
    ratioToCeiling: null,
  };
}

function randomFrenchMobile(): string {
  return `+336${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}

function randomIp(): string {
  return `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
}

async function prepareVerifications(url: string, key: string, outbox: string, count: number): Promise<{ id: string; code: string }[]> {
  const ids: string[] = [];
  const batch = 50;
  for (let i = 0; i < count; i += batch) {
    const responses = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, () =>
        fetch(`${url}/v1/verifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: randomFrenchMobile(), signals: { ip: randomIp() } }),
        }).then((r) => r.json() as Promise<{ id: string }>),
      ),
    );
    ids.push(...responses.map((r) => r.id));
  }
  const codes = new Map<string, string>();
  for (const line of readFileSync(outbox, 'utf8').split('\n')) {
    if (!line) continue;
    const entry = JSON.parse(line) as { verificationId: string; body: string };
    codes.set(entry.verificationId, /(\d{6})/.exec(entry.body)?.[1] ?? '');
  }
  return ids.map((id) => ({ id, code: codes.get(id) ?? '' }));
}

function print(results: Result[]): void {
  const rows = results.map((r) => ({
    scenario: r.scenario,
    'req/s': r.reqPerSec,
    'p50 ms': r.p50Ms,
    'p99 ms': r.p99Ms,
    errors: r.errors,
    'unexpected status': r.non2xx,
    'peak RSS MB': r.peakRssMb,
    'x ceiling': r.ratioToCeiling === null ? '' : `${Math.round(r.ratioToCeiling * 1000) / 10}%`,
  }));
  console.table(rows);
}

async function main(): Promise<void> {
  const machine = { node: process.version, cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30) };
  console.log(`bench: ${CONNECTIONS} connections, ${DURATION} s per scenario, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}`);
  console.log('bench: limits and abuse thresholds raised so they count but never fire (see RAISED_LIMITS in bench/run.ts)');
  const results: Result[] = [];

  const ceiling = await launch(['--import', 'tsx', 'bench/ceiling.ts'], {});
  await cannon('warm-up', { url: `${ceiling.url}/echo`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"to":"+33612345678"}', duration: 2 }, ceiling.child.pid, 201);
  const ceilingResult = await cannon('ceiling (bare hono POST)', { url: `${ceiling.url}/echo`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"to":"+33612345678"}', duration: DURATION }, ceiling.child.pid, 201);
  results.push(ceilingResult);
  ceiling.child.kill('SIGKILL');

  const dataDir = mkdtempSync(join(tmpdir(), 'otp-bench-'));
  const outbox = join(dataDir, 'outbox.jsonl');
  const server = await launch(['--import', 'tsx', 'src/main.ts'], {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATA_DIR: dataDir,
    ADMIN_API_KEY: ADMIN,
    LOG_PROVIDER_STDOUT: 'false',
    ...RAISED_LIMITS,
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_ENV_')).map(([k, v]) => [k.slice(10), v ?? ''])),
  });
  const pid = server.child.pid;
  const keyResponse = await fetch(`${server.url}/v1/admin/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ app: 'bench', scopes: ['verify'] }),
  });
  const { key } = (await keyResponse.json()) as { key: string };
  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

  const startOptions = (duration: number): autocannon.Options => ({
    url: `${server.url}/v1/verifications`,
    duration,
    requests: [{ method: 'POST', headers: auth, setupRequest: (req) => ({ ...req, body: JSON.stringify({ to: randomFrenchMobile(), signals: { ip: randomIp() } }) }) }],
  });
  await cannon('warm-up', startOptions(2), pid, 201);
  results.push(await cannon('start (SMS, log provider → outbox)', startOptions(DURATION), pid, 201));

  // Checks need verifications that can still take them: prepare a pool, then spend it.
  const poolSize = Math.max(2000, Math.round(ceilingResult.reqPerSec * 0.3 * DURATION));
  const pool = await prepareVerifications(server.url, key, outbox, poolSize);
  let next = 0;
  const checkOptions = (pick: () => { path: string; body: string }, amount: number): autocannon.Options => ({
    url: server.url,
    amount,
    requests: [{ method: 'POST', headers: auth, setupRequest: (req) => ({ ...req, ...pick() }) }],
  });
  const right = (): { path: string; body: string } => {
    const v = pool[next++ % pool.length]!;
    return { path: `/v1/verifications/${v.id}/check`, body: JSON.stringify({ code: v.code }) };
  };
  results.push(await cannon('check, right code', checkOptions(right, Math.floor(pool.length / 2)), pid, 200));
  const wrongPool = pool.slice(Math.floor(pool.length / 2));
  let wrongNext = 0;
  const wrong = (): { path: string; body: string } => {
    const v = wrongPool[Math.floor(wrongNext++ / 4) % wrongPool.length]!;
    return { path: `/v1/verifications/${v.id}/check`, body: JSON.stringify({ code: v.code === '000000' ? '000001' : '000000' }) };
  };
  results.push(await cannon('check, wrong code', checkOptions(wrong, wrongPool.length * 4), pid, 422));

  server.child.kill('SIGTERM');
  for (const r of results) r.ratioToCeiling = r === ceilingResult ? 1 : r.reqPerSec / ceilingResult.reqPerSec;
  print(results);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ machine, connections: CONNECTIONS, durationSeconds: DURATION, backend: 'sqlite', results }, null, 2)}\n`);
  console.log(`written ${file}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
