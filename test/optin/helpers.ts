import { expect } from 'vitest';
import type { TestApp } from '../helpers/test-app.js';

export const SENDER = '+14155550100';
export const OTHER_SENDER = '+14155550101';
export const NUMBER = '+14155550123';
export const CONSENT =
  'I agree to receive weekly deals by SMS from ACME. Up to 4 msgs/month. Consent is not a condition of purchase.';

export interface ListBody {
  id: string;
  name: string;
  sender: string;
}

export async function createList(
  t: TestApp,
  body: Record<string, unknown> = {},
  key?: string,
): Promise<ListBody> {
  const response = await t.call('POST', '/v1/lists', {
    body: { name: 'Weekly deals', brand: 'ACME', sender: SENDER, ...body },
    key,
  });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return JSON.parse(text) as ListBody;
}

export function subscribe(
  t: TestApp,
  listId: string,
  body: Record<string, unknown> = {},
  options: { key?: string; clientIp?: string } = {},
): Promise<Response> {
  return t.call('POST', `/v1/lists/${listId}/subscribers`, {
    body: { to: NUMBER, consentText: CONSENT, source: 'https://acme.example/deals#form', ...body },
    key: options.key,
    clientIp: options.clientIp,
    headers: { 'user-agent': 'acme-backend/1.0' },
  });
}

/** An inbound SMS through the development (log) webhook. */
export async function reply(
  t: TestApp,
  body: string,
  options: { from?: string; to?: string } = {},
): Promise<string> {
  const response = await t.call('POST', '/v1/webhooks/log/inbound', {
    key: null,
    body: { from: options.from ?? NUMBER, to: options.to ?? SENDER, body },
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return (JSON.parse(text) as { result: string }).result;
}

/** The code in the newest opt-in message to a number, read from the outbox as a person would. */
export function optinCode(t: TestApp, to = NUMBER): string {
  const message = t
    .outbox()
    .filter((line) => line.to === to && line.verificationId.startsWith('sgn_'))
    .at(-1);
  const code = message?.body.match(/\b(\d{6})\b/)?.[1];
  if (!code) throw new Error(`no opt-in code in the outbox for ${to}`);
  return code;
}

export interface TrailEntry {
  type: string;
  channel: string;
  ip: string | null;
  userAgent: string | null;
  source: string | null;
  consentText: string | null;
  consentTextVersion: string | null;
  text: string | null;
  textSha256: string | null;
  details: Record<string, unknown> | null;
  at: string;
}

export async function consentOf(
  t: TestApp,
  listId: string,
  number = NUMBER,
): Promise<{ subscriber: { status: string }; trail: TrailEntry[] }> {
  const response = await t.call(
    'GET',
    `/v1/lists/${listId}/subscribers/${encodeURIComponent(number)}/consent`,
  );
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as { subscriber: { status: string }; trail: TrailEntry[] };
}

export function ledgerRows(t: TestApp): Record<string, unknown>[] {
  return t.database.raw.prepare('SELECT * FROM optin_consent_ledger ORDER BY id').all() as Record<
    string,
    unknown
  >[];
}
