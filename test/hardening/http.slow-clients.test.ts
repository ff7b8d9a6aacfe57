/**
 * Exploitable without this: a few hundred connections that send their headers or body a byte at a
 * time (slowloris) hold every socket and worker of the server for as long as they like; a request
 * with two Authorization headers is authorised as one principal by a proxy that keeps the last and
 * as another by Node, which keeps the first; an exotic content type reaches a handler unchecked.
 * Runs the real server (src/main.ts) and speaks raw HTTP/1.1 over loopback sockets.
 */
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/app.js';
import { ADMIN_KEY, createTestApp, expectProblem, type TestApp } from '../helpers/test-app.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';

const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;

interface RawExchange {
  /** Everything the server wrote before closing. */
  response: string;
  /** Milliseconds from connecting until the server closed the socket. */
  closedAfterMs: number;
}

/**
 * Opens a socket, writes `head` at once, then `trickle` one byte every `intervalMs` until the
 * server closes the connection (or `giveUpMs` passes, which fails the test).
 */
function slowRequest(
  url: string,
  head: string,
  trickle: string,
  intervalMs: number,
  giveUpMs: number,
): Promise<RawExchange> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket: Socket = connect(Number(port), '127.0.0.1');
    let response = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a slow connection open for ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (!socket.writable) return;
        socket.write(trickle[sent % trickle.length]!);
        sent++;
      }, intervalMs);
    });
    socket.on('data', (chunk: Buffer) => (response += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ response, closedAfterMs: Math.round(performance.now() - started) });
    });
  });
}

/** One complete raw request; resolves with the status line and body of the answer. */
function rawRequest(url: string, request: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('utf8');
      const [head, body = ''] = data.split('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(head ?? '');
      if (length && Buffer.byteLength(body) >= Number(length[1])) {
        socket.end();
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1]), body });
      }
    });
    socket.on('error', reject);
  });
}

describe('slow clients and duplicated headers against the real server', { timeout: 60_000 }, () => {
  let server: ServerProcess;
  let key: string;
  beforeAll(async () => {
    server = await startServer({
      ADMIN_API_KEY: ADMIN_KEY,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'otp-slow-')),
      LOG_PROVIDER_STDOUT: 'false',
      HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    });
    const created = await fetch(`${server.url}/v1/admin/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ app: 'acme', scopes: ['verify'] }),
    });
    key = ((await created.json()) as { key: string }).key;
  });
  afterAll(async () => {
    await server.stop('SIGKILL');
  });

  it('closes a connection whose headers arrive a byte at a time (slowloris) within the headers timeout', async () => {
    const exchange = await slowRequest(
      server.url,
      'POST /v1/verifications HTTP/1.1\r\nHost: x\r\n',
      'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      100,
      10_000,
    );
    console.log(
      `[slow headers] closed after ${exchange.closedAfterMs} ms (HEADERS_TIMEOUT_MS=${HEADERS_TIMEOUT_MS}): ${exchange.response.split('\r\n')[0] ?? '(nothing)'}`,
    );
    expect(exchange.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
    expect(exchange.response).toMatch(/^(HTTP\/1\.1 408|$)/);
  });

  it('closes a connection whose body trickles in within the request timeout, before any handler sees it', async () => {
    const head = `POST /v1/verifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n`;
    const exchange = await slowRequest(
      server.url,
      head,
      '{"to":"+14155550123","purpose":"',
      50,
      15_000,
    );
    console.log(
      `[slow body] closed after ${exchange.closedAfterMs} ms (REQUEST_TIMEOUT_MS=${REQUEST_TIMEOUT_MS}): ${exchange.response.split('\r\n')[0] ?? '(nothing)'}`,
    );
    expect(exchange.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
    expect(exchange.response).not.toMatch(/^HTTP\/1\.1 (2|5)\d\d/);
  });

  it('answers 413 at once to a body announced larger than the limit, sent slowly, without reading it', async () => {
    const head = `POST /v1/verifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n`;
    const exchange = await slowRequest(server.url, head, '{"to":"', 100, 15_000);
    console.log(
      `[slow oversized body] answered and closed after ${exchange.closedAfterMs} ms: ${exchange.response.split('\r\n')[0] ?? '(nothing)'}`,
    );
    expect(exchange.response).toMatch(/^HTTP\/1\.1 413/);
    expect(exchange.response).toContain('"reason":"payload_too_large"');
    expect(exchange.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 2500);
  });

  it('counts a chunked body of undeclared length as it arrives: 413 over the limit, accepted under it', async () => {
    const chunked = (body: string): string =>
      `POST /v1/verifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const oversized = await rawRequest(
      server.url,
      chunked(`{"to":"+14155550123","purpose":"${'x'.repeat(70_000)}"}`),
    );
    expect(oversized.status).toBe(413);
    expect(JSON.parse(oversized.body)).toMatchObject({ reason: 'payload_too_large' });
    const small = await rawRequest(server.url, chunked('{"to":"+14155550123"}'));
    expect(small.status).toBe(201);
    expect(JSON.parse(small.body)).toMatchObject({ status: 'pending' });
  });

  it('refuses two Authorization headers, even when both carry valid keys (401, not whichever came first)', async () => {
    for (const [first, second] of [
      [key, 'garbage-garbage-garbage'],
      ['garbage-garbage-garbage', key],
      [key, ADMIN_KEY],
      [key, key],
    ]) {
      const body = '{"to":"+14155550123"}';
      const answer = await rawRequest(
        server.url,
        `POST /v1/verifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${first}\r\nAuthorization: Bearer ${second}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ reason: 'unauthorized' });
    }
    // One header with the same key is accepted: the refusal is about the duplicate, not the key.
    const one = await fetch(`${server.url}/v1/verifications/ver_x`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(one.status).toBe(404);
  });
});

describe('content types other than JSON', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const BODY = '{"to":"+14155550123"}';
  const REFUSED = [
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/xml',
    'text/json',
    'application/jsonp',
    'application/json-patch+json; x=',
    '',
  ];

  it('every route that documents a JSON body answers 415 (or 400) as a problem, never a 5xx', async () => {
    const paths = openApiDocument(t.app).paths ?? {};
    const takesJson = (method: string, path: string): boolean => {
      const operation = (
        paths[path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')] as
          Record<string, { requestBody?: { content?: Record<string, unknown> } }> | undefined
      )?.[method.toLowerCase()];
      return operation?.requestBody?.content?.['application/json'] !== undefined;
    };
    const routes = t.app.routes.filter((r) => r.method !== 'ALL' && takesJson(r.method, r.path));
    expect(routes.length).toBeGreaterThan(10);
    for (const route of routes) {
      for (const type of REFUSED) {
        const path = route.path.replace(/:([a-z]+)/g, 'x');
        const response = await t.call(route.method, path, {
          body: BODY,
          headers: { 'content-type': type },
        });
        const label = `${route.method} ${route.path} content-type=${JSON.stringify(type)} → ${response.status}`;
        expect(response.status, label).toBeGreaterThanOrEqual(400);
        expect(response.status, label).toBeLessThan(500);
        expect(response.headers.get('content-type'), label).toBe('application/problem+json');
      }
    }
  });

  it('a body-taking route refuses a form post for starting a verification (CSRF-style simple request)', async () => {
    await expectProblem(
      await t.call('POST', '/v1/verifications', {
        body: 'to=%2B14155550123',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    );
  });
});
