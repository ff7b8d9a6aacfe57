import type { Measurement, PacedMeasurement } from './load.js';

/** One scenario's figures, as printed and as written to bench/results/*.json. */
export interface ScenarioResult extends Measurement {
  /** Stable key across runs (compare.ts matches on it). */
  id: string;
  name: string;
  mode: 'saturated' | 'fixed-rate';
  tool: 'autocannon' | 'paced';
  connections: number;
  /** Fixed-rate runs: the rate asked for. */
  targetRate?: number;
  /** Paced runs: latency from when each request was due. */
  latencyFromScheduleMs?: PacedMeasurement['latencyFromScheduleMs'];
  /** Paced runs: requests dropped at the end, still waiting for a connection (the server was behind). */
  notSent?: number;
  /** Statuses the scenario should get; anything else is counted in `unexpected`. */
  expectedStatus: number[];
  unexpected: number;
  /** The flow scenario: completed start → check pairs per second. */
  flowsPerSec?: number;
  /**
   * The server process during the measured run (not the warm-up): peak resident memory (VmHWM,
   * which includes database pages SQLite reads through mmap), peak anonymous resident memory
   * (sampled every 200 ms: the process's own heap and stacks), CPU time per response.
   */
  server: {
    peakRssMb: number | null;
    peakRssAnonMb?: number | null;
    cpuMsPerRequest: number | null;
  };
  /** req/s over the ceiling's req/s (saturated runs). */
  ratioToCeiling: number | null;
}

export interface SeedingReport {
  verifications: number;
  deliveries: number;
  failures: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

export interface Slowdown {
  id: string;
  name: string;
  /** Saturated runs: how much less throughput after growth, in % (negative: faster). */
  reqPerSecPercent: number | null;
  /** How much higher p99 after growth, in %. */
  p99Percent: number | null;
  /** How much more server CPU time per response after growth, in %: the steadiest of the three on a shared machine. */
  cpuPercent: number | null;
}

export interface BenchReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  backend: string;
  machine: { node: string; cpus: number; cpuModel: string; memoryGb: number; platform: string };
  /** os.loadavg() (1, 5, 15 min) when the run started and ended: the machine is shared. */
  loadAverage: { start: number[]; end: number[] };
  settings: {
    connections: number;
    durationSeconds: number;
    warmupSeconds: number;
    fixedRate: number;
    raisedLimits: Record<string, string>;
  };
  scenarios: ScenarioResult[];
  growth?: { seeding: SeedingReport; scenarios: ScenarioResult[]; slowdown: Slowdown[] };
}

const fmt = (n: number | null | undefined, digits = 0): string =>
  n === null || n === undefined
    ? '–'
    : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (n: number | null): string =>
  n === null ? '–' : `${n > 0 ? '+' : ''}${n.toFixed(1)}%`;

/** `201×5123 429×2`, expected statuses first. */
export function statusSummary(
  result: Pick<ScenarioResult, 'statusCodes' | 'expectedStatus'>,
): string {
  const entries = Object.entries(result.statusCodes).sort(([a], [b]) => {
    const ea = result.expectedStatus.includes(Number(a)) ? 0 : 1;
    const eb = result.expectedStatus.includes(Number(b)) ? 0 : 1;
    return ea - eb || Number(a) - Number(b);
  });
  return entries.length === 0
    ? '–'
    : entries.map(([status, count]) => `${status}×${count}`).join(' ');
}

export function table(
  headers: string[],
  rows: string[][],
  rightAligned: (i: number) => boolean = (i) => i > 0,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (rightAligned(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ');
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function saturatedTable(results: readonly ScenarioResult[]): string {
  return table(
    [
      'scenario',
      'req/s',
      'p50 ms',
      'p99 ms',
      'errors',
      'non-2xx',
      'unexpected',
      'status codes',
      'peak RSS MB (anon)',
      'CPU ms/req',
      'of ceiling',
    ],
    results.map((r) => [
      r.name +
        (r.flowsPerSec === undefined ? '' : ` [${fmt(r.flowsPerSec)} flows/s]`) +
        (r.stoppedEarly ? ` (${r.stoppedEarly})` : ''),
      fmt(r.reqPerSec),
      fmt(r.latencyMs.p50, 1),
      fmt(r.latencyMs.p99, 1),
      fmt(r.errors),
      fmt(nonSuccess(r)),
      fmt(r.unexpected),
      statusSummary(r),
      rss(r),
      fmt(r.server.cpuMsPerRequest, 2),
      r.ratioToCeiling === null ? '–' : `${(r.ratioToCeiling * 100).toFixed(1)}%`,
    ]),
    (i) => i > 0 && i !== 7,
  );
}

export function fixedRateTable(results: readonly ScenarioResult[]): string {
  return table(
    [
      'scenario',
      'target/s',
      'achieved/s',
      'not sent',
      'p50 ms',
      'p99 ms',
      'p99 from schedule ms',
      'max ms',
      'errors',
      'unexpected',
      'status codes',
      'peak RSS MB (anon)',
      'CPU ms/req',
    ],
    results.map((r) => [
      r.name + (r.stoppedEarly ? ` (${r.stoppedEarly})` : ''),
      fmt(r.targetRate),
      fmt(r.reqPerSec),
      fmt(r.notSent),
      fmt(r.latencyMs.p50, 1),
      fmt(r.latencyMs.p99, 1),
      fmt(r.latencyFromScheduleMs?.p99, 1),
      fmt(r.latencyMs.max, 1),
      fmt(r.errors),
      fmt(r.unexpected),
      statusSummary(r),
      rss(r),
      fmt(r.server.cpuMsPerRequest, 2),
    ]),
    (i) => i > 0 && i !== 10,
  );
}

/** `994 (180)`: the peak resident set, and in brackets its anonymous part (without mapped database pages). */
const rss = (r: ScenarioResult): string =>
  `${fmt(r.server.peakRssMb)}${r.server.peakRssAnonMb === undefined || r.server.peakRssAnonMb === null ? '' : ` (${fmt(r.server.peakRssAnonMb)})`}`;

export function nonSuccess(r: Pick<ScenarioResult, 'statusCodes'>): number {
  return Object.entries(r.statusCodes)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
}

/** Per scenario present in both: throughput lost and p99 gained, in %. */
export function slowdowns(
  before: readonly ScenarioResult[],
  after: readonly ScenarioResult[],
): Slowdown[] {
  return after.flatMap((a) => {
    const b = before.find((x) => x.id === a.id);
    if (!b) return [];
    return [
      {
        id: a.id,
        name: a.name,
        reqPerSecPercent:
          a.mode === 'saturated' && b.reqPerSec > 0
            ? Math.round((1 - a.reqPerSec / b.reqPerSec) * 1000) / 10
            : null,
        p99Percent:
          b.latencyMs.p99 > 0
            ? Math.round((a.latencyMs.p99 / b.latencyMs.p99 - 1) * 1000) / 10
            : null,
        cpuPercent:
          a.server.cpuMsPerRequest !== null && b.server.cpuMsPerRequest
            ? Math.round((a.server.cpuMsPerRequest / b.server.cpuMsPerRequest - 1) * 1000) / 10
            : null,
      },
    ];
  });
}

export function growthTable(
  before: readonly ScenarioResult[],
  after: readonly ScenarioResult[],
): string {
  const rows = slowdowns(before, after).map((s) => {
    const b = before.find((x) => x.id === s.id)!;
    const a = after.find((x) => x.id === s.id)!;
    return [
      s.name,
      fmt(b.reqPerSec),
      fmt(a.reqPerSec),
      pct(s.reqPerSecPercent),
      fmt(b.latencyMs.p99, 1),
      fmt(a.latencyMs.p99, 1),
      pct(s.p99Percent),
      fmt(b.server.cpuMsPerRequest, 2),
      fmt(a.server.cpuMsPerRequest, 2),
      pct(s.cpuPercent),
    ];
  });
  return table(
    [
      'scenario',
      'req/s before',
      'req/s after',
      'slowdown',
      'p99 before',
      'p99 after',
      'p99 change',
      'CPU ms/req before',
      'after',
      'CPU change',
    ],
    rows,
  );
}

/** Two runs side by side, scenario by scenario (matched on id). */
export function compareTable(a: readonly ScenarioResult[], b: readonly ScenarioResult[]): string {
  const ids = [...new Set([...a.map((r) => r.id), ...b.map((r) => r.id)])];
  const change = (x: number | undefined, y: number | undefined): string =>
    x === undefined || y === undefined || x === 0 ? '–' : pct(Math.round((y / x - 1) * 1000) / 10);
  const rows = ids.map((id) => {
    const x = a.find((r) => r.id === id);
    const y = b.find((r) => r.id === id);
    return [
      (x ?? y)!.name,
      fmt(x?.reqPerSec),
      fmt(y?.reqPerSec),
      change(x?.reqPerSec, y?.reqPerSec),
      fmt(x?.latencyMs.p50, 1),
      fmt(y?.latencyMs.p50, 1),
      fmt(x?.latencyMs.p99, 1),
      fmt(y?.latencyMs.p99, 1),
      change(x?.latencyMs.p99, y?.latencyMs.p99),
      fmt(x?.server.cpuMsPerRequest, 2),
      fmt(y?.server.cpuMsPerRequest, 2),
      change(x?.server.cpuMsPerRequest ?? undefined, y?.server.cpuMsPerRequest ?? undefined),
      x ? rss(x) : '–',
      y ? rss(y) : '–',
      x ? fmt(nonSuccess(x)) : '–',
      y ? fmt(nonSuccess(y)) : '–',
    ];
  });
  return table(
    [
      'scenario',
      'A req/s',
      'B req/s',
      'Δ',
      'A p50',
      'B p50',
      'A p99',
      'B p99',
      'Δ p99',
      'A CPU ms/req',
      'B CPU ms/req',
      'Δ CPU',
      'A RSS (anon)',
      'B RSS (anon)',
      'A non-2xx',
      'B non-2xx',
    ],
    rows,
  );
}
