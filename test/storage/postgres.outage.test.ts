/**
 * Threat: PostgreSQL restarts, fails over or drops off the network. Requests must fail fast with a
 * 503 a client knows to retry (never a 500 with a stack trace, never a hang), /readyz must take the
 * instance out of a load balancer, and service must come back by itself when the database does,
 * without restarting the process. The test puts a TCP proxy it controls between the app and
 * PostgreSQL and cuts it.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { POSTGRES_SKIP_REASON, POSTGRES_URL } from '../helpers/postgres.js';
import {
  createTestApp,
  expectProblem,
  settleTestApps,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';

interface Proxy {
  port: number;
  /** Refuses new connections and resets open ones, as a database that went down would. */
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const handle = (client: Socket): void => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  };
  let server: Server = createServer(handle);
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
  const port = await listen(0);
  const closeServer = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.resetAndDestroy();
      sockets.clear();
      server.close(() => resolve());
    });
  return {
    port,
    cut: closeServer,
    restore: async () => {
      server = createServer(handle);
      await listen(port);
    },
    close: closeServer,
  };
}

const skip = POSTGRES_SKIP_REASON;

describe.skipIf(skip !== undefined)(
  `PostgreSQL unreachable${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let proxy: Proxy;
    let t: TestApp;

    beforeEach(async () => {
      const target = new URL(POSTGRES_URL!);
      proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
      t = await createTestApp({
        storage: 'postgres',
        postgresVia: (url) => {
          const viaProxy = new URL(url);
          viaProxy.hostname = '127.0.0.1';
          viaProxy.port = String(proxy.port);
          return viaProxy.toString();
        },
      });
    });
    afterEach(async () => {
      await proxy.restore().catch(() => undefined); // a listening proxy lets the pool close cleanly
      t.close();
      await settleTestApps();
      await proxy.close();
    });
    afterAll(() => settleTestApps());

    it('answers 503 storage_unavailable with Retry-After while it is down, /readyz 503, and recovers without a restart', async () => {
      const started = await startVerification(t);
      const code = t.codeFor(started.id);
      expect((await t.call('GET', '/readyz', { key: null })).status).toBe(200);

      await proxy.cut();

      const readyAt = Date.now();
      await expectProblem(await t.call('GET', '/readyz', { key: null }), 503, 'not_ready');
      expect(Date.now() - readyAt).toBeLessThan(5000); // bounded: a load balancer's probe must not hang

      for (const [method, path, body] of [
        ['POST', '/v1/verifications', { to: '+14155550199' }],
        ['GET', `/v1/verifications/${started.id}`, undefined],
        ['POST', `/v1/verifications/${started.id}/check`, { code }],
      ] as const) {
        const response = await t.call(method, path, { body });
        const problem = await expectProblem(response, 503, 'storage_unavailable');
        expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
        expect(JSON.stringify(problem)).not.toMatch(
          /ECONNREFUSED|Connection terminated|127\.0\.0\.1|postgres/i,
        );
      }

      await proxy.restore();

      // The pool opens new connections on its own; the code sent before the outage still approves.
      let ready = 0;
      for (let i = 0; i < 50 && ready !== 200; i++) {
        ready = (await t.call('GET', '/readyz', { key: null })).status;
        if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready).toBe(200);
      const check = await t.call('POST', `/v1/verifications/${started.id}/check`, {
        body: { code },
      });
      expect(check.status, await check.clone().text()).toBe(200);
      expect(((await check.json()) as { status: string }).status).toBe('approved');
    });
  },
);
