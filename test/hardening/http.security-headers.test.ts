/**
 * Exploitable without this: an API answer rendered as HTML by a browser (content sniffing), the docs
 * page framed by another site (clickjacking) or made to run injected script, and any web page calling
 * the API cross-origin from a victim's browser. Security headers go on every response, HTML pages get
 * a strict Content-Security-Policy, and CORS stays off unless CORS_ORIGINS lists origins.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HTML_CSP } from '../../src/http/security-headers.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { fillPath, mountedRoutes } from './routes.js';

describe('security headers', { timeout: 120_000 }, () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('are on every response of every mounted route, success or problem, with or without a key', async () => {
    t = await createTestApp();
    const checked: string[] = [];
    for (const route of mountedRoutes(t.app)) {
      for (const key of [undefined, null]) {
        const body = route.method === 'GET' ? undefined : '{}';
        const response = await t.call(
          route.method,
          fillPath(route, { id: 'x', name: 'default', asset: 'init.js' }),
          { key, body },
        );
        const label = `${route.method} ${route.path} (${key === null ? 'no key' : 'admin key'}) → ${response.status}`;
        expect(response.headers.get('x-content-type-options'), label).toBe('nosniff');
        expect(response.headers.get('x-frame-options'), label).toBe('DENY');
        expect(response.headers.get('referrer-policy'), label).toBe('no-referrer');
        expect(response.headers.get('strict-transport-security'), label).toMatch(/max-age=\d+/);
        expect(response.headers.get('content-security-policy'), label).toMatch(
          /default-src 'none'/,
        );
        expect(response.headers.get('content-security-policy'), label).toMatch(
          /frame-ancestors 'none'/,
        );
        expect(response.headers.get('access-control-allow-origin'), label).toBeNull();
        checked.push(label);
      }
    }
    const notFound = await t.call('GET', '/nothing', { key: null });
    expect(notFound.headers.get('x-content-type-options')).toBe('nosniff');
    expect(checked.length).toBeGreaterThan(50);
  });

  it('/docs has a strict CSP: scripts only from this origin, no inline script, no framing; and its HTML needs nothing more', async () => {
    t = await createTestApp();
    const response = await t.call('GET', '/docs', { key: null });
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toBe(HTML_CSP);
    const scriptSrc = /script-src ([^;]+)/.exec(csp)?.[1] ?? '';
    expect(scriptSrc).toBe("'self'");
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/object-src 'none'/);
    const html = await response.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is an external file
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline event handlers
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from another origin
  });
});

describe('CORS', () => {
  let t: TestApp;
  afterEach(() => t.close());

  const preflight = (origin: string): Promise<Response> =>
    t.call('OPTIONS', '/v1/verifications', {
      key: null,
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  it('is off by default: no origin is allowed, preflight or request', async () => {
    t = await createTestApp();
    expect(
      (await preflight('https://evil.example')).headers.get('access-control-allow-origin'),
    ).toBeNull();
    const response = await t.call('GET', '/v1/verifications/ver_x', {
      headers: { origin: 'https://evil.example' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the CORS_ORIGINS, never echoes another origin, and exposes the retry headers', async () => {
    t = await createTestApp({
      env: { CORS_ORIGINS: 'https://app.example, http://localhost:5173' },
    });
    const allowed = await preflight('https://app.example');
    expect(allowed.status).toBeLessThan(300);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(allowed.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(
      (await preflight('https://evil.example')).headers.get('access-control-allow-origin'),
    ).toBeNull();
    expect(
      (await preflight('https://app.example.evil.example')).headers.get(
        'access-control-allow-origin',
      ),
    ).toBeNull();
    const response = await t.call('GET', '/v1/verifications/ver_x', {
      headers: { origin: 'https://app.example' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(response.headers.get('access-control-expose-headers')).toMatch(/retry-after/);
  });
});
