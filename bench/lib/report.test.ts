import { describe, expect, it } from 'vitest';
import { slowdowns, statusSummary, type ScenarioResult } from './report.js';

describe('bench report', () => {
  const result = (
    id: string,
    reqPerSec: number,
    p99: number,
    mode: ScenarioResult['mode'] = 'saturated',
  ): ScenarioResult => ({
    id,
    name: id,
    mode,
    tool: 'autocannon',
    connections: 50,
    requests: reqPerSec * 10,
    seconds: 10,
    reqPerSec,
    latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99 },
    errors: 0,
    timeouts: 0,
    statusCodes: { '201': reqPerSec * 10 },
    expectedStatus: [201],
    unexpected: 0,
    server: { peakRssMb: 100, cpuMsPerRequest: 1 },
    ratioToCeiling: null,
  });

  it('reports growth as throughput lost and p99 gained, per scenario present in both runs', () => {
    const before = [
      result('start', 1000, 20),
      result('check@rate', 1000, 4, 'fixed-rate'),
      result('gone', 5, 5),
    ];
    const after = [
      { ...result('start', 800, 30), server: { peakRssMb: 120, cpuMsPerRequest: 1.25 } },
      result('check@rate', 1000, 5, 'fixed-rate'),
    ];
    expect(slowdowns(before, after)).toEqual([
      { id: 'start', name: 'start', reqPerSecPercent: 20, p99Percent: 50, cpuPercent: 25 },
      // A fixed-rate run's throughput is the rate asked for: only its latency and cost can grow.
      {
        id: 'check@rate',
        name: 'check@rate',
        reqPerSecPercent: null,
        p99Percent: 25,
        cpuPercent: 0,
      },
    ]);
  });

  it('lists statuses with the expected ones first', () => {
    expect(
      statusSummary({ statusCodes: { '429': 3, '201': 90, '400': 1 }, expectedStatus: [201] }),
    ).toBe('201×90 400×1 429×3');
  });
});
