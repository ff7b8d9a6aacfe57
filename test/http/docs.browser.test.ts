import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as forward, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTML_CSP } from '../../src/http/security-headers.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * The docs page where operators put it: behind a reverse proxy that mounts the service under a path
 * prefix, on another origin and port. Absolute links or an absolute server URL would send the page's
 * files, the document or "Try it out" past the proxy (or to localhost:3000), which the CSP refuses.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM))
  console.warn(
    `docs browser test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`,
  );

const PREFIX = '/otp';

function listen(server: Server | ServerType): Promise<number> {
  return new Promise((resolve) => {
    if (server.listening) resolve((server.address() as AddressInfo).port);
    else server.once('listening', () => resolve((server.address() as AddressInfo).port));
  });
}

/** A reverse proxy in the manner of nginx's `location /otp/ { proxy_pass http://service/; }`: strips the prefix, records what it forwarded. */
function prefixProxy(target: number, seen: string[]): Server {
  return createServer((incoming, outgoing) => {
    const url = incoming.url ?? '/';
    if (!url.startsWith(`${PREFIX}/`)) {
      outgoing.writeHead(404, { 'content-type': 'text/plain' }).end('not under the prefix');
      return;
    }
    seen.push(`${incoming.method} ${url}`);
    const upstream = forward(
      {
        host: '127.0.0.1',
        port: target,
        method: incoming.method,
        path: url.slice(PREFIX.length),
        headers: { ...incoming.headers, host: `127.0.0.1:${target}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.writeHead(502).end());
    incoming.pipe(upstream);
  }).listen(0, '127.0.0.1');
}

describe.skipIf(!existsSync(CHROMIUM))(
  '/docs behind a reverse proxy with a path prefix, in headless Chromium',
  () => {
    let t: TestApp;
    let service: ServerType;
    let proxy: Server;
    let servicePort: number;
    let origin: string;
    let context: BrowserContext;
    let page: Page;
    let profile: string;
    const forwarded: string[] = [];
    const problems: string[] = [];
    /** Where the page under test lives: every request it makes must stay under it. */
    let base = '';

    beforeAll(async () => {
      t = await createTestApp();
      service = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
      servicePort = await listen(service);
      proxy = prefixProxy(servicePort, forwarded);
      origin = `http://127.0.0.1:${await listen(proxy)}`;

      profile = mkdtempSync(join(tmpdir(), 'otp-chromium-'));
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1400, height: 1000 },
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) =>
        problems.push(`failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
      );
      page.on('request', (request) => {
        const url = request.url();
        if (!url.startsWith(`${base}/`) && !url.startsWith('data:'))
          problems.push(`request outside ${base}: ${url}`);
      });
    }, 60_000);

    afterAll(async () => {
      await context?.close();
      await new Promise((resolve) => proxy?.close(resolve));
      await new Promise((resolve) => service?.close(resolve));
      t?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
    });

    /** Opens <base>/docs, expands GET /healthz, Try it out → Execute; what the page shows. */
    async function tryHealthz(at: string): Promise<{
      csp: string | undefined;
      status: string | undefined;
      body: string | null;
      requestUrl: string | undefined;
    }> {
      base = at;
      problems.length = 0;
      const loaded = await page.goto(`${at}/docs`);
      expect(loaded?.status()).toBe(200);
      const operation = page.locator('#operations-Service-getHealth');
      await operation.waitFor({ timeout: 20_000 });
      expect(problems, 'while loading').toEqual([]);
      await operation.locator('.opblock-summary').click();
      await operation.locator('button.try-out__btn').click();
      await operation.locator('button.execute').click();
      const status = operation
        .locator('.live-responses-table .response .response-col_status')
        .first();
      await status.waitFor({ timeout: 15_000 });
      return {
        csp: loaded?.headers()['content-security-policy'],
        status: (await status.textContent())?.trim(),
        body: await operation
          .locator('.live-responses-table .response-col_description pre')
          .first()
          .textContent(),
        requestUrl: (await operation.locator('.request-url pre').textContent())?.trim(),
      };
    }

    it('behind the proxy: loads with no console error, and "Try it out" on GET /healthz answers 200 through the proxy, prefix included', async () => {
      const shown = await tryHealthz(`${origin}${PREFIX}`);
      expect(shown.csp).toBe(HTML_CSP);
      expect(HTML_CSP).toContain("connect-src 'self'");
      expect(shown.status).toBe('200');
      expect(shown.body).toContain('"status": "ok"');
      expect(shown.requestUrl).toBe(`${origin}${PREFIX}/healthz`);
      expect(forwarded).toEqual([
        `GET ${PREFIX}/docs`,
        `GET ${PREFIX}/docs/swagger-ui.css`,
        `GET ${PREFIX}/docs/swagger-ui-bundle.js`,
        `GET ${PREFIX}/docs/init.js`,
        `GET ${PREFIX}/openapi.yaml`,
        `GET ${PREFIX}/healthz`,
      ]);
      expect(problems).toEqual([]);
      mkdirSync('test-output', { recursive: true });
      await page.screenshot({ path: 'test-output/docs-try-it-out.png' });
    });

    it('on the service itself, whatever its port: the same, against that origin', async () => {
      const direct = `http://127.0.0.1:${servicePort}`;
      const shown = await tryHealthz(direct);
      expect(shown.status).toBe('200');
      expect(shown.requestUrl).toBe(`${direct}/healthz`);
      expect(problems).toEqual([]);
    });
  },
);
