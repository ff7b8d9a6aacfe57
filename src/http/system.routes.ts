import { createRoute, z } from '@hono/zod-openapi';
import { problemResponses } from './problem.js';

const TAGS = ['Service'];

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: TAGS,
  summary: 'Liveness: the process answers',
  responses: { 200: { description: 'Alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
});

export const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: TAGS,
  summary: 'Readiness: the database answers',
  description:
    'Ready (200) when the database answers. A Redis outage keeps the instance ready: the rate limits are answered by each instance\'s in-memory insurance with budgets divided by LIMITS_INSTANCES, and `checks.redis` says `unavailable`.',
  responses: {
    200: {
      description: 'Ready',
      content: {
        'application/json': {
          schema: z.object({
            status: z.literal('ready'),
            checks: z.object({
              database: z.literal('ok'),
              redis: z.enum(['ok', 'unavailable']).optional().openapi({ description: 'Present when REDIS_URL is set' }),
            }),
          }),
        },
      },
    },
    ...problemResponses('not_ready'),
  },
});

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: TAGS,
  summary: 'Prometheus metrics',
  responses: { 200: { description: 'Metrics in the Prometheus text format', content: { 'text/plain': { schema: z.string() } } } },
});

const Jwk = z.object({ kty: z.string(), crv: z.string().optional(), x: z.string().optional(), kid: z.string().optional(), alg: z.string().optional(), use: z.string().optional() }).catchall(z.unknown());

export const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: TAGS,
  summary: 'Public keys that verify result tokens (RFC 7517)',
  responses: { 200: { description: 'JWK Set', content: { 'application/json': { schema: z.object({ keys: z.array(Jwk) }).openapi('JwkSet') } } } },
});

export const openapiRoute = createRoute({
  method: 'get',
  path: '/openapi.yaml',
  tags: TAGS,
  summary: 'This API description',
  responses: { 200: { description: 'OpenAPI 3.1 document', content: { 'application/yaml': { schema: z.string() } } } },
});

export const docsRoute = createRoute({
  method: 'get',
  path: '/docs',
  tags: TAGS,
  summary: 'Interactive API documentation (Swagger UI, served locally)',
  responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } } },
});

export const DOCS_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js'] as const;

export const docsAssetRoute = createRoute({
  method: 'get',
  path: '/docs/{asset}',
  tags: TAGS,
  summary: 'Assets of the documentation page',
  request: { params: z.object({ asset: z.enum(DOCS_ASSETS).openapi({ param: { name: 'asset', in: 'path' } }) }) },
  responses: {
    200: { description: 'Asset', content: { 'text/css': { schema: z.string() }, 'text/javascript': { schema: z.string() } } },
    ...problemResponses('invalid_request'),
  },
});
