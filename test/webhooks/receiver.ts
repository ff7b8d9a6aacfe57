import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed body, verified with standardwebhooks against one of the secrets. */
  event: { type: string; timestamp: string; data: Record<string, unknown> };
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Secrets a delivery must verify with (each must verify, e.g. after a rotation). */
  secrets: string[];
  /** Deliveries that failed verification (must stay empty). */
  rejected: { reason: string; body: string }[];
  /** The status answered (e.g. 500 to make deliveries fail). */
  status: number;
  close(): Promise<void>;
}

/**
 * A local webhook receiver on 127.0.0.1 that verifies every delivery with `standardwebhooks`, the
 * reference consumer library, with every secret in `secrets`.
 */
export async function startReceiver(port = 0, verifyTimestamp = true): Promise<Receiver> {
  const state: Omit<Receiver, 'url' | 'port' | 'close'> = {
    received: [],
    secrets: [],
    rejected: [],
    status: 204,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        for (const secret of state.secrets) {
          const wh = new Webhook(secret);
          if (verifyTimestamp) wh.verify(body, req.headers as Record<string, string>);
        }
        const event = JSON.parse(body) as Received['event'];
        state.received.push({ headers: req.headers, body, event });
      } catch (error) {
        state.rejected.push({ reason: String(error), body });
        res.writeHead(400).end();
        return;
      }
      res.writeHead(state.status).end(state.status === 204 ? undefined : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  const receiver: Receiver = Object.assign(state, {
    port: actual,
    url: `http://127.0.0.1:${actual}/hooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return receiver;
}
