import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../http/app-env.js';
import { problem } from '../http/problem.js';
import { dashboardAssetRoute, dashboardRoute } from './dashboard.routes.js';

/**
 * Strict CSP: scripts, styles and data only from this origin, no inline script or style, no
 * framing (OWASP ASVS V14.4). The page holds a bearer key, so nothing foreign may run in it.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

interface Asset {
  body: string;
  type: string;
}

let assets: Record<string, Asset> | undefined;

/**
 * Read once: the page from the dashboard/ folder beside this module (src/ under tsx, dist/ once
 * built: `npm run build` copies it), Chart.js from its npm package.
 */
function loadAssets(): Record<string, Asset> {
  if (!assets) {
    const here = join(dirname(fileURLToPath(import.meta.url)), 'dashboard');
    // chart.js exports no ./package.json; its main entry sits in dist/ beside the UMD build.
    const chartDir = dirname(createRequire(import.meta.url).resolve('chart.js'));
    assets = {
      'index.html': {
        body: readFileSync(join(here, 'index.html'), 'utf8'),
        type: 'text/html; charset=utf-8',
      },
      'dashboard.js': {
        body: readFileSync(join(here, 'dashboard.js'), 'utf8'),
        type: 'text/javascript; charset=utf-8',
      },
      'dashboard.css': {
        body: readFileSync(join(here, 'dashboard.css'), 'utf8'),
        type: 'text/css; charset=utf-8',
      },
      'chart.umd.min.js': {
        body: readFileSync(join(chartDir, 'chart.umd.min.js'), 'utf8'),
        type: 'text/javascript; charset=utf-8',
      },
    };
  }
  return assets;
}

export function createDashboardRouter(base: () => OpenAPIHono<AppEnv>): OpenAPIHono<AppEnv> {
  // When the app is built, not at the first request: a build without the page fails at start (ENOENT
  // naming the file) instead of answering 500 on /dashboard to the first operator who opens it.
  loadAssets();
  const router = base();

  router.openapi(dashboardRoute, (c) => {
    c.header('content-security-policy', DASHBOARD_CSP);
    c.header('cache-control', 'no-cache');
    c.header('referrer-policy', 'no-referrer');
    return c.html(loadAssets()['index.html']?.body ?? '', 200);
  });

  router.openapi(dashboardAssetRoute, (c) => {
    const asset = loadAssets()[c.req.valid('param').asset];
    if (!asset) return problem(c, 'not_found');
    c.header('content-security-policy', DASHBOARD_CSP);
    c.header('content-type', asset.type);
    c.header('cache-control', 'public, max-age=300');
    return c.body(asset.body, 200);
  });

  return router;
}
