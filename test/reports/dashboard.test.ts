import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe('GET /dashboard', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(() => t.close());

  it('serves a page with a strict CSP and no inline script, style or handler', async () => {
    const response = await t.call('GET', '/dashboard', { key: null });
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    const html = await response.text();
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\bsrc="\/dashboard\//);
      expect(body?.trim()).toBe('');
    }
    expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('serves Chart.js from the installed package, not from a CDN', async () => {
    const response = await t.call('GET', '/dashboard/chart.umd.min.js', { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await response.text()).toContain('Chart.js');
    expect((await t.call('GET', '/dashboard/dashboard.js', { key: null })).status).toBe(200);
    expect((await t.call('GET', '/dashboard/secrets.txt', { key: null })).status).toBe(404);
  });

  it('writes API data into the page as text only, never as HTML', async () => {
    const script = await (await t.call('GET', '/dashboard/dashboard.js', { key: null })).text();
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });
});
