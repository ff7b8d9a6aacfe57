/**
 * Exploitable without this: a deploy or autoscaler stop (SIGTERM) cuts requests in flight, so a
 * code was sent but the client never learnt the verification id (the person is charged a message
 * and cannot log in), or the process hangs on open sockets until it is SIGKILLed mid-write.
 * Expected: stop accepting, finish what is in flight, close the database, exit 0 within a bound.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { ADMIN_KEY, RELAXED_LIMITS } from '../helpers/test-app.js';
import { startGateway, type FakeGateway } from './gateway.js';

const IN_FLIGHT = 10;
/** SHUTDOWN_TIMEOUT_MS: past it the server exits 1 (forced), so exit 0 proves the graceful path. */
const SHUTDOWN_TIMEOUT_MS = 5000;
/** Wall-clock bound for the test, with slack for a loaded CI machine (signal delivery, process exit). */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 3000;

describe('graceful shutdown on SIGTERM (real server)', { timeout: 60_000 }, () => {
  let gateway: FakeGateway;
  let server: ServerProcess;
  beforeAll(async () => {
    gateway = await startGateway();
    server = await startServer({
      ...RELAXED_LIMITS,
      ADMIN_API_KEY: ADMIN_KEY,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-term-')),
      SMS_PROVIDER: 'http',
      SMS_HTTP_URL: gateway.url,
      SMS_HTTP_SECRET: 'gateway-secret-0123456789',
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
  });
  afterAll(async () => {
    await server.stop('SIGKILL');
    await gateway.close();
  });

  it(`finishes ${IN_FLIGHT} requests in flight, refuses new connections, exits 0 (not forced) within ${EXIT_BOUND_MS} ms`, async () => {
    gateway.mode = 'slow';
    gateway.slowMs = 1500;
    const inFlight = Array.from({ length: IN_FLIGHT }, (_, i) =>
      fetch(`${server.url}/v1/verifications`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to: `+1415555${String(100 + i).padStart(4, '0')}` }),
      }).then(async (r) => ({ status: r.status, body: await r.text() })),
    );
    const deadline = performance.now() + 20_000;
    while (gateway.pending() < IN_FLIGHT && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(gateway.pending()).toBe(IN_FLIGHT);

    const signalled = performance.now();
    const exited = server.stop('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const late = await fetch(`${server.url}/healthz`).then(
      (r) => `answered ${r.status}`,
      () => 'refused',
    );
    const results = await Promise.all(inFlight);
    const finishedMs = Math.round(performance.now() - signalled);
    const code = await exited;
    const tookMs = Math.round(performance.now() - signalled);
    console.log(
      `[SIGTERM] ${IN_FLIGHT} in flight: ${results.filter((r) => r.status === 201).length} finished with 201; new connection after the signal: ${late}; exit ${code} after ${tookMs} ms (in-flight answered by ${finishedMs} ms)`,
    );

    expect(results.map((r) => r.status)).toEqual(Array(IN_FLIGHT).fill(201));
    expect(late).toBe('refused');
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(EXIT_BOUND_MS);
    expect(server.output()).toContain('"msg":"stopped"');
  });
});

describe(
  'SIGTERM while handlers of abandoned requests still run (real server)',
  { timeout: 60_000 },
  () => {
    it('waits for a handler whose client hung up before closing the database: its delivery and records are written, nothing fails', async () => {
      const gateway = await startGateway();
      const dataDir = mkdtempSync(join(tmpdir(), 'otp-hangup-'));
      const server = await startServer({
        ...RELAXED_LIMITS,
        ADMIN_API_KEY: ADMIN_KEY,
        DATA_DIR: dataDir,
        SMS_PROVIDER: 'http',
        SMS_HTTP_URL: gateway.url,
        SMS_HTTP_SECRET: 'gateway-secret-0123456789',
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      });
      try {
        gateway.mode = 'slow';
        gateway.slowMs = 1000;
        // The client gives up while the gateway is still answering: its socket closes, its handler runs on.
        const abandoned = new AbortController();
        const request = fetch(`${server.url}/v1/verifications`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ to: '+14155550199' }),
          signal: abandoned.signal,
        }).catch(() => 'aborted');
        const deadline = performance.now() + 20_000;
        while (gateway.pending() < 1 && performance.now() < deadline)
          await new Promise((r) => setTimeout(r, 10));
        abandoned.abort();
        expect(await request).toBe('aborted');
        await new Promise((r) => setTimeout(r, 100));
        // No connection is left, but the handler still waits for the gateway.
        expect(await server.stop('SIGTERM')).toBe(0);
        const output = server.output();
        expect(output).not.toMatch(/"level":50/);
        expect(output).not.toContain('Cannot use a pool after calling end');
        expect(output).not.toContain('The database connection is not open');
        expect(output).toContain('"msg":"stopped"');
        // The handler finished: the gateway's answer is recorded, not left "queued" by an early exit.
        const db = new Database(join(dataDir, 'verify.db'), { readonly: true });
        try {
          expect(db.prepare('SELECT status FROM deliveries').all()).toEqual([{ status: 'sent' }]);
          expect(
            db.prepare("SELECT count(*) AS n FROM events WHERE reason = 'sent'").get(),
          ).toEqual({ n: 1 });
        } finally {
          db.close();
        }
      } finally {
        await server.stop('SIGKILL');
        await gateway.close();
      }
    });
  },
);

describe('SIGTERM when nobody reads the output any more (real server)', { timeout: 60_000 }, () => {
  it('exits 0 within the bound although every log write fails with EPIPE', async () => {
    const server = await startServer({
      ADMIN_API_KEY: ADMIN_KEY,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-epipe-')),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      // A log shipper that died: our ends of the server's stdout and stderr are closed.
      server.child.stdout?.destroy();
      server.child.stderr?.destroy();
      const signalled = performance.now();
      // Bounded: a hung process fails the test here and is then SIGKILLed, never left behind.
      const code = await Promise.race([
        server.stop('SIGTERM'),
        new Promise<string>((resolve) =>
          setTimeout(() => resolve('still running'), EXIT_BOUND_MS + 2000),
        ),
      ]);
      const tookMs = Math.round(performance.now() - signalled);
      console.log(`[SIGTERM, stdout closed] exit ${code} after ${tookMs} ms`);
      expect(code).toBe(0);
      expect(tookMs).toBeLessThan(EXIT_BOUND_MS);
    } finally {
      await server.stop('SIGKILL');
    }
  });
});
