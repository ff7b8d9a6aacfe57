import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOutboxReader } from '../../bench/lib/outbox.js';
import { slowdowns, statusSummary, type ScenarioResult } from '../../bench/lib/report.js';
import { createLogSmsProvider } from '../../src/delivery/log.provider.js';
import { createFakeClock } from '../helpers/fake-clock.js';

/**
 * The flow scenario reads codes back from the log provider's outbox while the server appends to
 * it: a wrong read would show as incorrect codes and be blamed on the service.
 */
describe('bench outbox reader', () => {
  let dir = '';
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'otp-outbox-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('finds each verification’s code in what the log provider appended after it was opened, once', async () => {
    const path = join(dir, 'outbox.jsonl');
    const sms = createLogSmsProvider({ outboxPath: path, clock: createFakeClock(), stdout: false });
    await sms.send({ to: '+33612345678', body: 'bench-abc: your verification code is 111111. It expires in 10 minutes.', verificationId: 'ver_before' });
    const reader = createOutboxReader(path);
    await sms.send({ to: '+33612345679', body: 'bench-abc: your verification code is 482913. It expires in 10 minutes.', verificationId: 'ver_a' });
    await sms.send({ to: '+33612345670', body: '@example.com #070707\nbench-abc: code 070707', verificationId: 'ver_b' });
    expect(reader.take('ver_a')).toBe('482913');
    expect(reader.take('ver_b')).toBe('070707');
    expect(reader.take('ver_a')).toBeUndefined();
    expect(reader.take('ver_before')).toBeUndefined();
    reader.close();
  });

  it('waits for the rest of a line the provider is still writing', () => {
    const path = join(dir, 'outbox.jsonl');
    appendFileSync(path, '');
    const reader = createOutboxReader(path);
    appendFileSync(path, '{"verificationId":"ver_c","body":"code is 12');
    expect(reader.take('ver_c')).toBeUndefined();
    appendFileSync(path, '3456."}\n');
    expect(reader.take('ver_c')).toBe('123456');
    reader.close();
  });
});

describe('bench report', () => {
  const result = (id: string, reqPerSec: number, p99: number, mode: ScenarioResult['mode'] = 'saturated'): ScenarioResult => ({
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
    const before = [result('start', 1000, 20), result('check@rate', 1000, 4, 'fixed-rate'), result('gone', 5, 5)];
    const after = [{ ...result('start', 800, 30), server: { peakRssMb: 120, cpuMsPerRequest: 1.25 } }, result('check@rate', 1000, 5, 'fixed-rate')];
    expect(slowdowns(before, after)).toEqual([
      { id: 'start', name: 'start', reqPerSecPercent: 20, p99Percent: 50, cpuPercent: 25 },
      // A fixed-rate run's throughput is the rate asked for: only its latency and cost can grow.
      { id: 'check@rate', name: 'check@rate', reqPerSecPercent: null, p99Percent: 25, cpuPercent: 0 },
    ]);
  });

  it('lists statuses with the expected ones first', () => {
    expect(statusSummary({ statusCodes: { '429': 3, '201': 90, '400': 1 }, expectedStatus: [201] })).toBe('201×90 400×1 429×3');
  });
});
