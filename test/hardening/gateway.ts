import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type GatewayMode = 'ok' | 'slow' | 'fail-echoing' | 'garbage';

export interface FakeGateway {
  url: string;
  /** Every message the service handed over, as the gateway received it. */
  messages: { to: string; body: string; verificationId?: string }[];
  /** Messages received whose answer has not been sent yet. */
  pending(): number;
  mode: GatewayMode;
  slowMs: number;
  close(): Promise<void>;
}

/**
 * An SMS/voice gateway for SMS_PROVIDER=http on loopback. `fail-echoing` answers 500 with the
 * message (code and number included) in its error text, as careless gateways do; `garbage` answers
 * 200 with a body that is not JSON.
 */
export async function startGateway(): Promise<FakeGateway> {
  const messages: FakeGateway['messages'] = [];
  let pending = 0;
  const gateway: FakeGateway = {
    url: '',
    messages,
    pending: () => pending,
    mode: 'ok',
    slowMs: 1500,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const message = JSON.parse(raw) as {
        to: string;
        body?: string;
        from?: string;
        verificationId?: string;
      };
      messages.push({
        to: message.to,
        body: message.body ?? message.from ?? '',
        verificationId: message.verificationId,
      });
      pending++;
      const answer = (): void => {
        pending--;
        if (gateway.mode === 'fail-echoing') {
          res
            .writeHead(500, { 'content-type': 'text/plain' })
            .end(`could not deliver "${message.body ?? ''}" to ${message.to}`);
        } else if (gateway.mode === 'garbage') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"id": <html>');
        } else {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ id: `gw-${messages.length}` }));
        }
      };
      if (gateway.mode === 'slow') setTimeout(answer, gateway.slowMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  gateway.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/send`;
  return gateway;
}
