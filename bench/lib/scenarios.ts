import type autocannon from 'autocannon';
import { cannon, paced, type Measurement, type PacedRequest } from './load.js';
import { createOutboxReader } from './outbox.js';
import { cpuTimeMs, peakRssMb, resetPeakRss, sampleMemory, type BenchProcess } from './process.js';
import type { ScenarioResult } from './report.js';
import { randomIp, randomMobile } from './traffic.js';
import type { Backend } from './backend.js';
import { seedCheckPool, type PoolEntry } from '../seed/seeder.js';

/** How hard and how long every scenario loads the server. */
export interface LoadSettings {
  /** Concurrent connections (the paced runs: at most this many). */
  connections: number;
  /** Seconds of each measured run. */
  duration: number;
  /** Seconds of warm-up before each saturated scenario (not measured). */
  warmup: number;
  /** Requests per second of the fixed-rate scenarios. */
  rate: number;
}

export const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** A server under load, and what the scenarios need to load it. */
export interface Target {
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
export async function measure(
  pid: number,
  meta: Pick<ScenarioResult, 'id' | 'name' | 'mode' | 'tool' | 'connections' | 'expectedStatus'> & {
    targetRate?: number;
  },
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
      cpuMsPerRequest:
        cpuBefore === null || cpuAfter === null || m.requests === 0
          ? null
          : Math.round(((cpuAfter - cpuBefore) / m.requests) * 100) / 100,
    },
    ratioToCeiling: null,
  };
}

/** A cursor over a pool of seeded verifications; `take` returns undefined once it is spent. */
function cursor(pool: readonly PoolEntry[], usesEach = 1): () => PoolEntry | undefined {
  let next = 0;
  return () => pool[Math.floor(next++ / usesEach)];
}

const wrongCode = (code: string): string =>
  String((Number(code) + 1) % 1_000_000).padStart(code.length, '0');

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
async function checkScenario(
  t: Target,
  s: LoadSettings,
  spec: {
    id: string;
    name: string;
    status: number;
    usesEach: number;
    code: (entry: PoolEntry) => string;
  },
): Promise<ScenarioResult> {
  const auth = { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' };
  const requestsFor = (
    pool: PoolEntry[],
    stop: { now?: (why: string) => void },
  ): autocannon.Request[] => {
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
          return {
            ...req,
            path: `/v1/verifications/${entry.id}/check`,
            body: JSON.stringify({ code: spec.code(entry), signals: { ip: randomIp() } }),
          };
        },
      },
    ];
  };
  const run = async (pool: PoolEntry[], seconds: number): Promise<Measurement> => {
    const stop: { now?: (why: string) => void } = {};
    return cannon(
      {
        url: t.server.url,
        connections: s.connections,
        durationSeconds: seconds,
        requests: requestsFor(pool, stop),
      },
      { onInstance: (fn) => (stop.now = fn) },
    );
  };
  let expectedRate = t.ceilingReqPerSec;
  if (s.warmup > 0) {
    const warm = await run(
      await seedPool(
        t,
        Math.min(20_000, Math.ceil((t.ceilingReqPerSec * s.warmup * 1.2) / spec.usesEach)),
      ),
      s.warmup,
    );
    expectedRate = warm.stoppedEarly ? t.ceilingReqPerSec : warm.reqPerSec;
  }
  // Three times the warm-up's rate: a warm server checks faster than one still warming up.
  const pool = await seedPool(t, Math.ceil((expectedRate * s.duration * 3) / spec.usesEach) + 2000);
  return measure(
    t.server.pid,
    {
      id: spec.id,
      name: spec.name,
      mode: 'saturated',
      tool: 'autocannon',
      connections: s.connections,
      expectedStatus: [spec.status],
    },
    () => run(pool, s.duration),
  );
}

/**
 * Every scenario, in a fixed order, each run on every target in turn (warm-up included) before the
 * next scenario begins: with an empty and a grown database, the two figures of a pair are taken
 * a minute or so apart. `afterStart` runs once per target, once starts have written something.
 * Returns each target's results, in the order of `targets`.
 */
export async function scenarios(
  targets: readonly Target[],
  s: LoadSettings,
  afterStart: (t: Target) => Promise<void> = () => Promise.resolve(),
): Promise<ScenarioResult[][]> {
  const results: ScenarioResult[][] = targets.map(() => []);
  const authOf = (t: Target) => ({
    authorization: `Bearer ${t.key}`,
    'content-type': 'application/json',
  });
  const startBody = (): string =>
    JSON.stringify({ to: randomMobile(), signals: { ip: randomIp() } });
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
      log(
        `  ${tag(t)}${r.name}: ${r.reqPerSec.toLocaleString('en-US')} req/s, p99 ${Math.round(r.latencyMs.p99)} ms${r.unexpected ? `, ${r.unexpected} unexpected statuses` : ''}`,
      );
    }
  };

  // start
  const startRequests = (t: Target): autocannon.Request[] => [
    {
      method: 'POST',
      path: '/v1/verifications',
      headers: authOf(t),
      setupRequest: (req) => ({ ...req, body: startBody() }),
    },
  ];
  const startRun = (t: Target, seconds: number): Promise<Measurement> =>
    cannon({
      url: t.server.url,
      connections: s.connections,
      durationSeconds: seconds,
      requests: startRequests(t),
    });
  await onEach(async (t) => {
    if (s.warmup > 0) await startRun(t, s.warmup);
    return measure(
      t.server.pid,
      {
        id: 'start',
        name: 'start (SMS, log provider → outbox)',
        mode: 'saturated',
        tool: 'autocannon',
        connections: s.connections,
        expectedStatus: [201],
      },
      () => startRun(t, s.duration),
    );
  });
  for (const t of targets) await afterStart(t);

  // check, right and wrong code
  await onEach((t) =>
    checkScenario(t, s, {
      id: 'check-right',
      name: 'check, right code',
      status: 200,
      usesEach: 1,
      code: (e) => e.code,
    }),
  );
  // Four wrong codes per verification: the fifth would lock it (MAX_CHECK_ATTEMPTS=5).
  await onEach((t) =>
    checkScenario(t, s, {
      id: 'check-wrong',
      name: 'check, wrong code',
      status: 422,
      usesEach: 4,
      code: (e) => wrongCode(e.code),
    }),
  );

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
          return {
            ...req,
            path: `/v1/verifications/${flow.id}/check`,
            body: JSON.stringify({ code, signals: { ip: flow.ip } }),
          };
        },
      },
    ];
    const flowRun = (seconds: number): Promise<Measurement> =>
      cannon({
        url: t.server.url,
        connections: s.connections,
        durationSeconds: seconds,
        requests: flowRequests,
      });
    try {
      if (s.warmup > 0) await flowRun(s.warmup);
      const flow = await measure(
        t.server.pid,
        {
          id: 'flow',
          name: 'start → check (outbox)',
          mode: 'saturated',
          tool: 'autocannon',
          connections: s.connections,
          expectedStatus: [201, 200],
        },
        () => flowRun(s.duration),
      );
      flow.flowsPerSec = Math.round((flow.statusCodes['200'] ?? 0) / flow.seconds);
      return flow;
    } finally {
      outbox.close();
    }
  });

  // Fixed rate, paced evenly: latency at a load the server can carry.
  const rateName = (what: string, how: string): string =>
    `${what} @ ${s.rate.toLocaleString('en-US')}/s (${how})`;
  const fixedMeta = (id: string, name: string, tool: 'paced' | 'autocannon', expected: number) => ({
    id,
    name,
    mode: 'fixed-rate' as const,
    tool,
    connections: s.connections,
    expectedStatus: [expected],
    targetRate: s.rate,
  });
  await onEach((t) =>
    measure(t.server.pid, fixedMeta('start@rate', rateName('start', 'paced'), 'paced', 201), () =>
      paced({
        url: t.server.url,
        rate: s.rate,
        durationSeconds: s.duration,
        connections: s.connections,
        next: (): PacedRequest => ({
          method: 'POST',
          path: '/v1/verifications',
          headers: authOf(t),
          body: startBody(),
        }),
      }),
    ),
  );
  await onEach(async (t) => {
    const take = cursor(await seedPool(t, Math.ceil(s.rate * s.duration * 1.05) + 100));
    return measure(
      t.server.pid,
      fixedMeta('check@rate', rateName('check, right code', 'paced'), 'paced', 200),
      () =>
        paced({
          url: t.server.url,
          rate: s.rate,
          durationSeconds: s.duration,
          connections: s.connections,
          next: () => {
            const e = take();
            return (
              e && {
                method: 'POST',
                path: `/v1/verifications/${e.id}/check`,
                headers: authOf(t),
                body: JSON.stringify({ code: e.code, signals: { ip: randomIp() } }),
              }
            );
          },
        }),
    );
  });

  // The same rates through autocannon's overallRate, for comparison (bursts at the top of each second).
  await onEach((t) =>
    measure(
      t.server.pid,
      fixedMeta(
        'start@rate-autocannon',
        rateName('start', 'autocannon overallRate'),
        'autocannon',
        201,
      ),
      () =>
        cannon({
          url: t.server.url,
          connections: s.connections,
          durationSeconds: s.duration,
          requests: startRequests(t),
          overallRate: s.rate,
        }),
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
          return {
            ...req,
            path: `/v1/verifications/${e.id}/check`,
            body: JSON.stringify({ code: e.code, signals: { ip: randomIp() } }),
          };
        },
      },
    ];
    return measure(
      t.server.pid,
      fixedMeta(
        'check@rate-autocannon',
        rateName('check, right code', 'autocannon overallRate'),
        'autocannon',
        200,
      ),
      () =>
        cannon(
          {
            url: t.server.url,
            connections: s.connections,
            durationSeconds: s.duration,
            requests,
            overallRate: s.rate,
          },
          { onInstance: (fn) => (stop.now = fn) },
        ),
    );
  });
  return results;
}
