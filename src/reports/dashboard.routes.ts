import { createRoute, z } from '@hono/zod-openapi';
import { problemResponses } from '../http/problem.js';

const TAGS = ['Reports'];
/** The page and its files are static and public; the data comes from the API, with the key the user pastes. */
const PUBLIC: [] = [];

export const dashboardRoute = createRoute({
  method: 'get',
  path: '/dashboard',
  operationId: 'getDashboardPage',
  tags: TAGS,
  security: PUBLIC,
  summary:
    'Failure and abuse dashboard (static page; it calls the reports API with a key of scope `reports`)',
  description:
    'A static page under a strict Content-Security-Policy; it asks for an API key with the `reports` scope (`security` as well for its Block buttons) and calls the reports and blocklist APIs with it. The page itself needs no key.',
  responses: {
    200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
  },
});

export const DASHBOARD_ASSETS = ['dashboard.js', 'dashboard.css', 'chart.umd.min.js'] as const;

export const dashboardAssetRoute = createRoute({
  method: 'get',
  path: '/dashboard/{asset}',
  operationId: 'getDashboardAsset',
  tags: TAGS,
  security: PUBLIC,
  summary: 'Assets of the dashboard (Chart.js is served from the installed package: no CDN)',
  description:
    'The script, stylesheet and Chart.js bundle of the dashboard. Any other name is 404.',
  request: {
    params: z.object({
      asset: z.enum(DASHBOARD_ASSETS).openapi({ param: { name: 'asset', in: 'path' } }),
    }),
  },
  responses: {
    200: {
      description: 'Asset',
      content: { 'text/css': { schema: z.string() }, 'text/javascript': { schema: z.string() } },
    },
    ...problemResponses('not_found'),
  },
});
