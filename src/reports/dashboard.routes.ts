import { createRoute, z } from '@hono/zod-openapi';
import { problemResponses } from '../http/problem.js';

const TAGS = ['Reports'];

export const dashboardRoute = createRoute({
  method: 'get',
  path: '/dashboard',
  tags: TAGS,
  summary: 'Failure and abuse dashboard (static page; it calls the reports API with a key of scope `reports`)',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});

export const DASHBOARD_ASSETS = ['dashboard.js', 'dashboard.css', 'chart.umd.min.js'] as const;

export const dashboardAssetRoute = createRoute({
  method: 'get',
  path: '/dashboard/{asset}',
  tags: TAGS,
  summary: 'Assets of the dashboard (Chart.js is served from the installed package: no CDN)',
  request: { params: z.object({ asset: z.enum(DASHBOARD_ASSETS).openapi({ param: { name: 'asset', in: 'path' } }) }) },
  responses: {
    200: { description: 'Asset', content: { 'text/css': { schema: z.string() }, 'text/javascript': { schema: z.string() } } },
    ...problemResponses('not_found'),
  },
});
