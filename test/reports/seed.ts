import type { EventRecord } from '../../src/events/events.js';
import type { TestApp } from '../helpers/test-app.js';

/** Reports are read at 2026-01-08T00:00Z; the default window is the 7 days before. */
export const NOW = Date.UTC(2026, 0, 8);
export const T0 = Date.UTC(2026, 0, 7, 10);
const min = (m: number): number => T0 + m * 60_000;

export const FR_NUMBER = '+33612345678';
export const FR_PREFIX = '+3361234';
export const GB_NUMBER = '+447700900123';
export const GB_PREFIX = '+44770090';
export const ATTACKER_IP = '203.0.113.5';

type Seed = Omit<EventRecord, 'at'> & { at: number };

const fr = {
  app: 'acme',
  number: FR_NUMBER,
  country: 'FR',
  ip: ATTACKER_IP,
  channel: 'sms',
  provider: 'log',
  numberType: 'MOBILE',
};
const us = (number: string) => ({
  app: 'acme',
  number,
  country: 'US',
  ip: '198.51.100.7',
  channel: 'sms',
  provider: 'log',
});
const gb = {
  app: 'beta',
  number: GB_NUMBER,
  country: 'GB',
  ip: '192.0.2.1',
  channel: 'sms',
  provider: 'log',
};

/**
 * A day of traffic with exactly known counts:
 * - FR +33612345678: 3 started, 3 sent, 1 approved, 4 incorrect codes (10:00–10:07)
 * - FR +33612340001..3: 3 rate_limited by rule limit:prefix:1h (11:00–11:02), same IP
 * - US: 2 numbers each started, sent and approved (12:00–12:05)
 * - GB (app beta): 2 started, 2 delivery_failed (13:00–13:03)
 * - 3 unauthorized from 192.0.2.99 (14:00–14:02), no app or number
 * - one FR incorrect_code on 2025-12-01, outside the default window
 */
export const SCENARIO: Seed[] = [
  ...[0, 1, 2].flatMap((m) => [
    {
      ...fr,
      at: min(m),
      kind: 'success' as const,
      reason: 'started',
      verificationId: `ver_fr${m}`,
    },
    { ...fr, at: min(m), kind: 'success' as const, reason: 'sent', verificationId: `ver_fr${m}` },
  ]),
  { ...fr, at: min(3), kind: 'success', reason: 'approved', verificationId: 'ver_fr2' },
  ...[4, 5, 6, 7].map((m) => ({
    ...fr,
    at: min(m),
    kind: 'failure' as const,
    reason: 'incorrect_code',
    verificationId: 'ver_fr1',
  })),
  ...[1, 2, 3].map((i) => ({
    ...fr,
    number: `+3361234000${i}`,
    at: min(59 + i),
    kind: 'failure' as const,
    reason: 'rate_limited',
    rule: 'limit:prefix:1h',
    details: { count: 30 + i, limit: 30 },
  })),
  ...['+14155550123', '+14155550124'].flatMap((n, i) => [
    { ...us(n), at: min(120 + i), kind: 'success' as const, reason: 'started' },
    { ...us(n), at: min(120 + i), kind: 'success' as const, reason: 'sent' },
    { ...us(n), at: min(124 + i), kind: 'success' as const, reason: 'approved' },
  ]),
  ...[0, 1].flatMap((m) => [
    { ...gb, at: min(180 + m), kind: 'success' as const, reason: 'started' },
    {
      ...gb,
      at: min(182 + m),
      kind: 'failure' as const,
      reason: 'delivery_failed',
      providerError: 'E30: unreachable',
    },
  ]),
  ...[0, 1, 2].map((m) => ({
    at: min(240 + m),
    kind: 'failure' as const,
    reason: 'unauthorized',
    rule: 'invalid_key',
    ip: '192.0.2.99',
    userAgent: 'curl/8.5',
  })),
  { ...fr, at: Date.UTC(2025, 11, 1), kind: 'failure', reason: 'incorrect_code' },
];

/** Records the scenario through the service's EventRecorder and sets the clock to NOW. */
export async function seedScenario(t: TestApp): Promise<void> {
  for (const event of SCENARIO) await t.deps.events.record(event);
  t.clock.set(NOW);
}

/** Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}
