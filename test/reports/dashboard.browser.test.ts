import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockStatusReader } from '../../src/reports/block-status.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { ATTACKER_IP, FR_PREFIX, seedScenario } from './seed.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) console.warn(`dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

interface BlockEntry {
  id: string;
  kind: string;
  value: string;
  action: string;
  reason: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
}

/**
 * The blocklist API of issue 3 (scope `security`), as its contract says, when this branch has no real one:
 * POST /v1/blocklist → 201 entry, GET /v1/blocklist?kind&action → { entries }, DELETE /v1/blocklist/{id} → 204.
 */
function fakeBlocklist(t: TestApp, entries: BlockEntry[]): Hono {
  const api = new Hono();
  api.use('/v1/blocklist/*', async (c, next) => {
    const key = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1];
    const principal = key ? await t.deps.admin.authenticate(key) : undefined;
    if (!principal) return c.json({ reason: 'unauthorized' }, 401);
    if (!principal.scopes.includes('security')) return c.json({ reason: 'forbidden' }, 403);
    await next();
  });
  api.get('/v1/blocklist', (c) => c.json({ entries: entries.filter((e) => (c.req.query('kind') ?? e.kind) === e.kind && (c.req.query('action') ?? e.action) === e.action) }));
  api.post('/v1/blocklist', async (c) => {
    const body = await c.req.json<{ kind: string; value: string; reason: string; action?: string }>();
    const entry = { id: `blk_${entries.length + 1}`, ...body, action: body.action ?? 'block', createdBy: 'dashboard', createdAt: new Date().toISOString(), expiresAt: null };
    entries.push(entry);
    return c.json(entry, 201);
  });
  api.delete('/v1/blocklist/:id', (c) => {
    const index = entries.findIndex((e) => e.id === c.req.param('id'));
    if (index < 0) return c.json({ reason: 'not_found' }, 404);
    entries.splice(index, 1);
    return c.body(null, 204);
  });
  return api;
}

describe.skipIf(!existsSync(CHROMIUM))('dashboard in headless Chromium', () => {
  let t: TestApp;
  let server: ServerType;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const entries: BlockEntry[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    const blockStatus: BlockStatusReader = {
      statusOf: (targets) =>
        Promise.resolve(
          targets.map((target) => {
            const entry = entries.find((e) => e.kind === target.kind && e.value === target.value);
            return entry ? { status: 'blocked' as const, entryId: entry.id, expiresAt: null } : { status: 'none' as const, entryId: null, expiresAt: null };
          }),
        ),
    };
    t = await createTestApp({ blockStatus });
    await seedScenario(t);
    const outer = new Hono();
    outer.route('/', fakeBlocklist(t, entries));
    outer.all('*', (c) => t.app.fetch(c.req.raw, c.env));
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: outer.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
    });
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    profile = mkdtempSync(join(tmpdir(), 'otp-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => {
      if (!request.url().startsWith(base)) problems.push(`request outside the service: ${request.url()}`);
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    t?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** The text of every cell of a table's body, row by row (evaluated in the page; tests compile without DOM types). */
  async function cells(table: string): Promise<string[][]> {
    const script = `[...document.querySelectorAll(${JSON.stringify(`${table} tbody tr`)})].map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))`;
    return page.evaluate<string[][]>(script);
  }

  it('asks for a key, then shows the seeded reports, blocks a prefix, and keeps the key for the session only', async () => {
    const key = await t.createKey('default', ['reports', 'security']);
    await page.goto(`${base}/dashboard`);
    await page.fill('#key', key);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
    expect(await page.isVisible('#login')).toBe(false);

    expect(await page.textContent('#status')).toContain('12 failures');
    const reasons = await cells('#reasons-table');
    expect(reasons).toEqual([
      ['incorrect_code', '4'],
      ['rate_limited', '3'],
      ['unauthorized', '3'],
      ['delivery_failed', '2'],
    ]);
    const conversion = await cells('#conversion-table');
    expect(conversion).toContainEqual(['FR', '3', '3', '1', '100.0 %', '33.3 %']);
    expect(await page.$eval('#failures-chart', (canvas) => (canvas as unknown as { width: number }).width)).toBeGreaterThan(0);
    expect(await page.locator('#tail-table tbody tr').count()).toBe(12);
    expect(await page.textContent('#tail-table')).toContain('+33 6 •• •• •• 78');
    expect(await page.content()).not.toContain('33612345678');

    const prefixRow = page.locator(`#abuse-table tr[data-kind="prefix"][data-value="${FR_PREFIX}"]`);
    expect(await prefixRow.locator('td').nth(2).textContent()).toBe('7');
    expect(await prefixRow.locator('.badge').textContent()).toBe('none');
    expect(await page.locator(`#abuse-table tr[data-kind="ip"][data-value="${ATTACKER_IP}"] td`).nth(2).textContent()).toBe('7');

    await prefixRow.locator('button[data-action="block"]').click();
    await prefixRow.locator('.badge', { hasText: 'blocked' }).waitFor({ timeout: 10_000 });
    expect(entries).toEqual([expect.objectContaining({ kind: 'prefix', value: FR_PREFIX, action: 'block' })]);

    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/dashboard.png', fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOT) await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });

    await prefixRow.locator('button[data-action="unblock"]').click();
    await prefixRow.locator('.badge', { hasText: 'none' }).waitFor({ timeout: 10_000 });
    expect(entries).toEqual([]);

    expect(await page.evaluate('sessionStorage.getItem("otp-verify.reportsKey")')).toBe(key);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(problems).toEqual([]);
  }, 60_000);
});
