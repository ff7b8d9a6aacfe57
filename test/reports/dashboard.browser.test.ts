/**
 * The dashboard in headless Chromium, on the real server twice: `src/main.ts` under tsx, and the
 * compiled build (`node dist/main.js`) in a directory holding only what the Dockerfile's runtime
 * stage copies, which is what users deploy. The page is checked at a phone's width (390 px) and a
 * laptop's (1366 px): the page never scrolls sideways and every table column can be brought into
 * view. Block asks for confirmation and an expiry before anything is created.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDockerImage } from '../helpers/docker-image.js';
import { startServer, type ServerProcess } from '../helpers/server-process.js';
import { ADMIN_KEY, createTestApp, PEPPER, REPORTS_KEY } from '../helpers/test-app.js';
import { ATTACKER_IP, FR_PREFIX, NOW, SCENARIO, T0 } from './seed.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (!existsSync(CHROMIUM))
  console.warn(
    `dashboard browser test skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`,
  );

const HOUR_MS = 3_600_000;
const WIDTHS = [
  { width: 1366, height: 768 },
  { width: 390, height: 844 },
];

interface BlockEntry {
  id: string;
  kind: string;
  value: string;
  action: string;
  reason: string;
  createdBy: string;
  expiresAt: string | null;
}

interface ColumnCheck {
  table: string;
  header: string;
  left: number;
  right: number;
  /** The header is the topmost element at its own centre once scrolled into view (nothing clips or covers it). */
  onTop: boolean;
}

interface Layout {
  viewport: number;
  scrollWidth: number;
  /** window.scrollX after every header was scrolled into view: the page itself never moved sideways. */
  scrollX: number;
  columns: ColumnCheck[];
  /** Each table's width and its scrolling box's: wider than the box, it scrolls inside its card. */
  tables: { id: string; width: number; box: number }[];
}

/**
 * Measured in the page (tests compile without DOM types): the page's width, then each table header
 * scrolled into view the way a user would reach it (the page vertically, its table's container
 * sideways) and checked to lie inside the viewport, uncovered.
 */
const MEASURE_LAYOUT = `(() => {
  const viewport = document.documentElement.clientWidth;
  const scrollWidth = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
  let maxScrollX = 0;
  const tables = [...document.querySelectorAll('main table')].map((t) => ({ id: t.id, width: t.parentElement.scrollWidth, box: t.parentElement.clientWidth }));
  const columns = [...document.querySelectorAll('main table thead th')].map((th) => {
    th.scrollIntoView({ block: 'center', inline: 'nearest' });
    maxScrollX = Math.max(maxScrollX, window.scrollX);
    const r = th.getBoundingClientRect();
    const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return { table: th.closest('table').id, header: th.textContent, left: r.left, right: r.right, onTop: top === th || th.contains(top) };
  });
  for (const el of document.querySelectorAll('*')) if (el.scrollLeft) el.scrollLeft = 0;
  window.scrollTo(0, 0);
  return { viewport, scrollWidth, scrollX: maxScrollX, columns, tables };
})()`;

/** The Block column's header and buttons, with no sideways scrolling anywhere: brought into view vertically only. */
const BLOCK_COLUMN_BOXES = `(() => {
  for (const el of document.querySelectorAll('*')) if (el.scrollLeft) el.scrollLeft = 0;
  const table = document.getElementById('abuse-table');
  const index = [...table.querySelectorAll('thead th')].findIndex((th) => th.textContent === 'Block');
  const header = table.querySelectorAll('thead th')[index];
  window.scrollTo(0, window.scrollY + header.getBoundingClientRect().top - 40);
  const cells = [header, ...[...table.querySelectorAll('tbody tr')].map((tr) => tr.children[index]).filter(Boolean)].slice(0, 6);
  return { viewport: document.documentElement.clientWidth, height: window.innerHeight, boxes: cells.map((c) => { const r = c.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; }) };
})()`;

/**
 * Rows as wide as real traffic makes them: an IPv6 address that fired five different rules. With
 * them the abuse table of the first dashboard pushed its Block column off a 1366 px screen.
 */
const WIDE_IP = '2001:db8:85a3:4d2f:9e01:8a2e:370:7334';
const WIDE_EVENTS = [
  { reason: 'abuse_suspected', rule: 'abuse:score' },
  { reason: 'abuse_suspected', rule: 'auto:conversion_collapse' },
  { reason: 'blocked', rule: 'geo:non_geographic' },
  { reason: 'blocked', rule: 'blocklist:cidr' },
  { reason: 'rate_limited', rule: 'limit:subnet:10m' },
].map((event, i) => ({
  ...event,
  at: T0 + (300 + i) * 60_000,
  kind: 'failure' as const,
  app: 'beta',
  number: `+44770090099${i}`,
  country: 'GB',
  ip: WIDE_IP,
  channel: 'sms',
}));

/** A SQLite file holding the reports' seeded day of traffic, moved so it happened in the last day (the real server reads with the real clock). */
async function seededDatabase(dir: string): Promise<string> {
  const path = join(dir, 'verify.db');
  const t = await createTestApp({ sqlitePath: path, storage: 'sqlite' });
  const shift = Date.now() - NOW;
  for (const event of [...SCENARIO, ...WIDE_EVENTS])
    await t.deps.events.record({ ...event, at: event.at + shift });
  t.close();
  return path;
}

const TARGETS = [
  { name: 'the tsx build (src/main.ts)', label: 'tsx', compiled: false },
  {
    name: 'the compiled build (node dist/main.js, from the files the Dockerfile copies)',
    label: 'dist',
    compiled: true,
  },
];

describe.skipIf(!existsSync(CHROMIUM))('dashboard in headless Chromium', () => {
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let base = '';
  const problems: string[] = [];

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'otp-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: WIDTHS[0]!,
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
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(base) && !url.startsWith('data:') && url !== 'about:blank')
        problems.push(`request outside the service: ${url}`);
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  describe.each(TARGETS)('on $name', ({ label, compiled }) => {
    let server: ServerProcess;
    let dir: string;

    beforeAll(async () => {
      const image = compiled ? await buildDockerImage() : undefined;
      dir = mkdtempSync(join(tmpdir(), 'otp-dashboard-'));
      const sqlitePath = await seededDatabase(dir);
      server = await startServer(
        {
          ADMIN_API_KEY: ADMIN_KEY,
          OTP_PEPPER: PEPPER,
          REPORTS_ENCRYPTION_KEY: REPORTS_KEY,
          SQLITE_PATH: sqlitePath,
          DATA_DIR: dir,
          LOG_PROVIDER_STDOUT: 'false',
        },
        image ? { compiledIn: image.dir } : {},
      );
      base = server.url;
    }, 240_000);

    afterAll(async () => {
      // The page is shared by every target: leave this server's dashboard before the server goes,
      // or its refresh reaches a closed port while the next target's test is watching the page.
      await page?.goto('about:blank');
      await server?.stop('SIGKILL');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_KEY}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(response.ok, `${method} ${path}: ${response.status}`).toBe(true);
      return (response.status === 204 ? undefined : await response.json()) as T;
    }

    async function manualEntries(): Promise<BlockEntry[]> {
      const { entries } = await api<{ entries: BlockEntry[] }>('GET', '/v1/blocklist');
      return entries.filter((entry) => entry.createdBy !== 'auto');
    }

    /** The text of every cell of a table's body, row by row. */
    async function cells(table: string): Promise<string[][]> {
      return page.evaluate<string[][]>(
        `[...document.querySelectorAll(${JSON.stringify(`${table} tbody tr`)})].map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))`,
      );
    }

    async function signIn(): Promise<string> {
      const { key } = await api<{ key: string }>('POST', '/v1/admin/api-keys', {
        app: 'default',
        scopes: ['reports', 'security'],
      });
      await page.setViewportSize(WIDTHS[0]!);
      await page.goto(`${base}/dashboard`);
      await page.evaluate('sessionStorage.clear()');
      await page.reload();
      await page.fill('#key', key);
      await page.click('#login-form button[type=submit]');
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
      return key;
    }

    it('shows the seeded reports; at 1366 and 390 px the page never scrolls sideways and every column can be reached', async () => {
      problems.length = 0;
      const key = await signIn();
      expect(await page.isVisible('#login')).toBe(false);
      expect(await page.textContent('#status')).toContain('17 failures');
      expect((await cells('#reasons-table')).sort()).toEqual([
        ['abuse_suspected', '2'],
        ['blocked', '2'],
        ['delivery_failed', '2'],
        ['incorrect_code', '4'],
        ['rate_limited', '4'],
        ['unauthorized', '3'],
      ]);
      expect(await cells('#conversion-table')).toContainEqual([
        'FR',
        '3',
        '3',
        '1',
        '100.0 %',
        '33.3 %',
      ]);
      expect(
        await page.$eval(
          '#failures-chart',
          (canvas) => (canvas as unknown as { width: number }).width,
        ),
      ).toBeGreaterThan(0);
      expect(await page.locator('#tail-table tbody tr').count()).toBe(17);
      expect(await page.textContent('#tail-table')).toContain('+33 6 •• •• •• 78');
      expect(await page.content()).not.toContain('33612345678');
      const prefixRow = page.locator(
        `#abuse-table tr[data-kind="prefix"][data-value="${FR_PREFIX}"]`,
      );
      expect(await prefixRow.locator('td.num').first().textContent()).toBe('7');
      expect(await prefixRow.locator('.badge').textContent()).toBe('none');
      const rulesColumn = (await page.locator('#abuse-table thead th').allTextContents()).indexOf(
        'Rules fired',
      );
      expect(
        await page
          .locator(`#abuse-table tr[data-kind="ip"][data-value="${WIDE_IP}"] td`)
          .nth(rulesColumn)
          .innerText(),
      ).toBe(
        'abuse:score ×1\nauto:conversion_collapse ×1\nblocklist:cidr ×1\ngeo:non_geographic ×1\nlimit:subnet:10m ×1',
      );

      mkdirSync('test-output', { recursive: true });
      for (const size of WIDTHS) {
        await page.setViewportSize(size);
        // Chart.js resizes on the next animation frame.
        await page.waitForTimeout(300);
        const layout = await page.evaluate<Layout>(MEASURE_LAYOUT);
        console.info(
          `dashboard ${label} @${size.width}: scrollWidth ${layout.scrollWidth} ≤ viewport ${layout.viewport}; ${layout.columns.length} headers, ` +
            `${layout.columns.filter((c) => c.onTop && c.left >= 0 && c.right <= layout.viewport).length} reachable; max scrollX ${layout.scrollX}; ` +
            `tables (px in their box): ${layout.tables.map((t) => `${t.id} ${t.width} in ${t.box}`).join(', ')}`,
        );
        expect(layout.viewport).toBe(size.width);
        expect(layout.scrollWidth).toBeLessThanOrEqual(layout.viewport);
        expect(layout.scrollX).toBe(0);
        expect(layout.columns.length).toBe(2 + 6 + 7 + 11);
        const unreachable = layout.columns.filter(
          (c) => !c.onTop || c.left < -0.5 || c.right > layout.viewport + 0.5,
        );
        expect(unreachable).toEqual([]);
        if (size.width >= 1366) {
          // A laptop's screen shows every table whole, the abuse report's IPv6 row and five rules included.
          expect(layout.tables.filter((t) => t.width > t.box)).toEqual([]);
          const block = await page.evaluate<{
            viewport: number;
            height: number;
            boxes: { left: number; right: number; top: number; bottom: number }[];
          }>(BLOCK_COLUMN_BOXES);
          expect(block.boxes.length).toBeGreaterThan(1);
          for (const box of block.boxes) {
            expect(box.left).toBeGreaterThanOrEqual(0);
            expect(box.right).toBeLessThanOrEqual(block.viewport);
            expect(box.top).toBeGreaterThanOrEqual(0);
            expect(box.bottom).toBeLessThanOrEqual(block.height);
          }
          await page.evaluate('window.scrollTo(0, 0)');
        }
        await page.screenshot({
          path: `test-output/dashboard-${label}-${size.width}.png`,
          fullPage: true,
        });
        if (process.env.UPDATE_DOCS_SCREENSHOT && label === 'tsx' && size.width === 1366)
          await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });
      }

      expect(await page.evaluate('sessionStorage.getItem("otp-verify.reportsKey")')).toBe(key);
      expect(await page.evaluate('localStorage.length')).toBe(0);
      expect(problems).toEqual([]);
    }, 90_000);

    it('Block asks first: Cancel and Escape create nothing, 24 h blocks until now + 24 h, never blocks without expiry; Unblock removes it', async () => {
      problems.length = 0;
      await signIn();
      const dialog = page.locator('#block-dialog');
      const prefixRow = page.locator(
        `#abuse-table tr[data-kind="prefix"][data-value="${FR_PREFIX}"]`,
      );
      const ipRow = page.locator(`#abuse-table tr[data-kind="ip"][data-value="${ATTACKER_IP}"]`);
      expect(await manualEntries()).toEqual([]);

      // Cancel, then Escape: nothing is created, the row is as it was.
      await ipRow.locator('button[data-action="block"]').click();
      await dialog.waitFor({ state: 'visible' });
      expect(await dialog.textContent()).toContain(ATTACKER_IP);
      // Modal: the rest of the page is inert until the dialog is answered.
      expect(await page.evaluate(`document.getElementById('block-dialog').matches(':modal')`)).toBe(
        true,
      );
      await dialog.locator('button[value="cancel"]').click();
      await dialog.waitFor({ state: 'hidden' });
      await ipRow.locator('button[data-action="block"]').click();
      await dialog.waitFor({ state: 'visible' });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await page.waitForTimeout(300);
      expect(await manualEntries()).toEqual([]);
      expect(await ipRow.locator('.badge').textContent()).toBe('none');
      expect(await ipRow.locator('button[data-action="block"]').isEnabled()).toBe(true);

      // 24 h, at the phone's width: the dialog fits the screen.
      await page.setViewportSize(WIDTHS[1]!);
      await prefixRow.locator('button[data-action="block"]').scrollIntoViewIfNeeded();
      await prefixRow.locator('button[data-action="block"]').click();
      await dialog.waitFor({ state: 'visible' });
      expect(await dialog.textContent()).toContain(FR_PREFIX);
      const box = await dialog.boundingBox();
      expect(box && box.x >= 0 && box.x + box.width <= WIDTHS[1]!.width).toBe(true);
      expect(
        await page
          .locator('#block-dialog input[name="expiry"]')
          .evaluateAll((inputs) => inputs.map((i) => (i as unknown as { value: string }).value)),
      ).toEqual(['1h', '24h', '7d', 'never']);
      await dialog.getByLabel('24 hours').check();
      await page.screenshot({ path: `test-output/dashboard-${label}-390-dialog.png` });
      const confirmedAt = Date.now();
      await dialog.locator('button[value="confirm"]').click();
      await prefixRow.locator('.badge', { hasText: 'blocked' }).waitFor({ timeout: 10_000 });
      const [prefixEntry] = await manualEntries();
      expect(prefixEntry).toMatchObject({
        kind: 'prefix',
        value: FR_PREFIX,
        action: 'block',
        reason: 'abuse dashboard: 7 failures',
      });
      expect(
        Math.abs(Date.parse(prefixEntry!.expiresAt!) - (confirmedAt + 24 * HOUR_MS)),
      ).toBeLessThan(60_000);

      // Never: no expiry at all.
      await page.setViewportSize(WIDTHS[0]!);
      await ipRow.locator('button[data-action="block"]').click();
      await dialog.waitFor({ state: 'visible' });
      await dialog.getByLabel('Never').check();
      await dialog.locator('button[value="confirm"]').click();
      await ipRow.locator('.badge', { hasText: 'blocked' }).waitFor({ timeout: 10_000 });
      const ipEntry = (await manualEntries()).find((entry) => entry.kind === 'ip');
      expect(ipEntry).toMatchObject({ value: ATTACKER_IP, action: 'block', expiresAt: null });
      expect(await manualEntries()).toHaveLength(2);

      await prefixRow.locator('button[data-action="unblock"]').click();
      await prefixRow.locator('.badge', { hasText: 'none' }).waitFor({ timeout: 10_000 });
      await ipRow.locator('button[data-action="unblock"]').click();
      await ipRow.locator('.badge', { hasText: 'none' }).waitFor({ timeout: 10_000 });
      expect(await manualEntries()).toEqual([]);
      expect(problems).toEqual([]);
    }, 90_000);
  });
});
