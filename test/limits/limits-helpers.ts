import { expect } from 'vitest';
import { revealNumber, type TestApp } from '../helpers/test-app.js';

/** A French mobile number in its own 1000-number block (no shared prefix, never sequential). */
export const spreadNumber = (i: number): string => `+336${String(10000 + i).padStart(5, '0')}123`;

/** The i-th number of one 1000-number block, in a scattered (non-sequential) order. */
export const blockNumber = (block: string, i: number): string =>
  `${block}${String((i * 389) % 1000).padStart(3, '0')}`;

export async function setLimits(
  t: TestApp,
  app: string,
  body: Record<string, unknown>,
): Promise<void> {
  const response = await t.call('PUT', `/v1/admin/apps/${app}/limits`, { body });
  expect(response.status, await response.clone().text()).toBe(200);
}

export function start(
  t: TestApp,
  key: string,
  to: string,
  options: { ip?: string; clientIp?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return t.call('POST', '/v1/verifications', {
    key,
    clientIp: options.clientIp,
    headers: options.headers,
    body: { to, ...(options.ip ? { signals: { ip: options.ip } } : {}) },
  });
}

/** The failure records of the event log, newest last. */
export function failures(t: TestApp): {
  reason: string;
  rule: string | null;
  details: Record<string, unknown> | null;
  ip: string | null;
  number: string | null;
}[] {
  return (
    t.database.raw
      .prepare(
        `SELECT reason, rule, details, ip, number_enc AS numberEnc FROM events WHERE kind = 'failure' ORDER BY id`,
      )
      .all() as {
      reason: string;
      rule: string | null;
      details: string | null;
      ip: string | null;
      numberEnc: string | null;
    }[]
  ).map(({ numberEnc, ...row }) => ({
    ...row,
    number: revealNumber(numberEnc),
    details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
  }));
}
