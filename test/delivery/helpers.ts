import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { SendResult, SmsProvider, VoiceProvider } from '../../src/delivery/provider.js';
import type { TestApp } from '../helpers/test-app.js';

/** Ranges of a million numbers each: 6-digit flash-call codes. */
export const RANGES = '+33187000000-+33187999999,+442079000000-+442079999999';

/** The flash call the log provider wrote for a verification (the newest), as a phone's call log shows it. */
export function callFor(t: TestApp, verificationId: string): { from: string; to: string } {
  const line = t
    .outbox()
    .filter((l) => l.verificationId === verificationId && l.channel === 'flashcall')
    .at(-1);
  if (!line?.from) throw new Error(`no flash call in the outbox for ${verificationId}`);
  return { from: line.from, to: line.to };
}

export function flashCallsIn(t: TestApp, verificationId?: string): number {
  return t
    .outbox()
    .filter(
      (l) =>
        l.channel === 'flashcall' &&
        (verificationId === undefined || l.verificationId === verificationId),
    ).length;
}

/** An SMS gateway that answers what the test says, and remembers what it was asked. */
export function scriptedSms(
  name: string,
  answer: () => SendResult,
): SmsProvider & { sent: { to: string; body: string; verificationId: string }[] } {
  const sent: { to: string; body: string; verificationId: string }[] = [];
  return {
    name,
    sent,
    send(message) {
      sent.push(message);
      return Promise.resolve(answer());
    },
  };
}

export function failingVoice(): VoiceProvider {
  return {
    name: 'log',
    call: () =>
      Promise.resolve({ status: 'failed', errorCode: 'http_400', errorMessage: 'refused' }),
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** A real HTTP server on 127.0.0.1, port 0, answering with `handler`; every request is recorded. */
export async function startServer(
  handler: (request: RecordedRequest, res: ServerResponse) => void,
): Promise<{
  url: string;
  requests: RecordedRequest[];
  server: Server;
  close: () => Promise<void>;
}> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      };
      requests.push(recorded);
      handler(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function getVerification(
  t: TestApp,
  id: string,
): Promise<
  Record<string, unknown> & {
    deliveries: Record<string, unknown>[];
    fallback: Record<string, unknown> | null;
  }
> {
  const response = await t.call('GET', `/v1/verifications/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown> & {
    deliveries: Record<string, unknown>[];
    fallback: Record<string, unknown> | null;
  };
}

export type EventRow = {
  kind: string;
  reason: string;
  rule: string | null;
  provider: string | null;
  provider_error: string | null;
  details: string | null;
  verification_id: string | null;
};

/** The event rows of one reason, oldest first, on either dialect. */
export function eventsOf(t: TestApp, reason: string): Promise<EventRow[]> {
  return t.rows<EventRow>('SELECT * FROM events WHERE reason = ? ORDER BY id', reason);
}
