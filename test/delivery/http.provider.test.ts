import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, startVerification } from '../helpers/test-app.js';
import { signWebhook } from '../../src/delivery/signatures.js';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function gateway(
  handler: (received: Received, respond: (status: number, body: string) => void) => void,
): Promise<{ url: string; server: Server; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const entry = { headers: req.headers, body };
      received.push(entry);
      handler(entry, (status, text) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`,
    server,
    received,
  };
}

const SECRET = 'gateway-secret-0123456789';

describe('SMS_PROVIDER=http', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('POSTs {to, body, verificationId} signed with HMAC-SHA256, and records the provider message id', async () => {
    const g = await gateway((_r, respond) => respond(202, '{"id":"gw-42"}'));
    server = g.server;
    const t = await createTestApp({
      env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: g.url, SMS_HTTP_SECRET: SECRET },
    });
    try {
      const v = await startVerification(t);
      expect(v.deliveries[0]).toMatchObject({ provider: 'http', status: 'sent' });
      const [request] = g.received;
      const payload = JSON.parse(request!.body) as {
        to: string;
        body: string;
        verificationId: string;
      };
      expect(payload).toMatchObject({ to: '+14155550123', verificationId: v.id });
      const timestamp = Number(request!.headers['x-otp-timestamp']);
      expect(request!.headers['x-otp-signature']).toBe(
        signWebhook(SECRET, timestamp, request!.body),
      );
      const code = /(\d{6})/.exec(payload.body)![1]!;
      expect(
        (await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code } })).status,
      ).toBe(200);
      const [row] = await t.rows(
        'SELECT provider_message_id AS id FROM deliveries WHERE verification_id = ?',
        v.id,
      );
      expect(row).toEqual({ id: 'gw-42' });
    } finally {
      t.close();
    }
  });

  it('a 5xx answer marks the delivery failed, records a failure, and the start still answers 201', async () => {
    const g = await gateway((_r, respond) => respond(503, '{"error":"route down"}'));
    server = g.server;
    const t = await createTestApp({
      env: { SMS_PROVIDER: 'http', SMS_HTTP_URL: g.url, SMS_HTTP_SECRET: SECRET },
    });
    try {
      const v = await startVerification(t);
      expect(v.deliveries[0]).toMatchObject({ status: 'failed', error: { code: 'http_503' } });
      const [failure] = await t.rows(
        "SELECT reason, provider, provider_error AS error FROM events WHERE kind = 'failure'",
      );
      expect(failure).toMatchObject({
        reason: 'delivery_failed',
        provider: 'http',
        error: expect.stringContaining('http_503'),
      });
    } finally {
      t.close();
    }
  });

  it('a gateway that never answers is a timeout after SMS_HTTP_TIMEOUT_MS, not a hung request (retries off: one attempt)', async () => {
    const g = await gateway(() => undefined);
    server = g.server;
    const t = await createTestApp({
      env: {
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: g.url,
        SMS_HTTP_SECRET: SECRET,
        SMS_HTTP_TIMEOUT_MS: '300',
        PROVIDER_RETRIES: '0',
      },
    });
    try {
      const started = performance.now();
      const v = await startVerification(t);
      const elapsed = performance.now() - started;
      expect(v.deliveries[0]).toMatchObject({ status: 'failed', error: { code: 'timeout' } });
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(2000);
    } finally {
      g.server.closeAllConnections();
      t.close();
    }
  });
});
