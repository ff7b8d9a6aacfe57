import { createRoute, z } from '@hono/zod-openapi';
import { problemResponses } from './problem.js';

const TAGS = ['Service'];
/** Probes, metrics, keys and docs answer without an API key: orchestrators, scrapers and verifiers have none. */
const PUBLIC: [] = [];

export const healthRoute = createRoute({
  method: 'get',
  operationId: 'getHealth',
  path: '/healthz',
  tags: TAGS,
  security: PUBLIC,
  summary: 'Liveness: the process answers',
  description:
    'Answers 200 as long as the process runs and its event loop turns; it reads no database. Use it as the liveness probe, and /readyz for readiness.',
  responses: {
    200: {
      description: 'Alive',
      content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } },
    },
  },
});

export const readyRoute = createRoute({
  method: 'get',
  operationId: 'getReadiness',
  path: '/readyz',
  tags: TAGS,
  security: PUBLIC,
  summary: 'Readiness: the database answers',
  description:
    "Ready (200) when the database answers. A Redis outage keeps the instance ready: the rate limits are answered by each instance's in-memory insurance with budgets divided by LIMITS_INSTANCES, and `checks.redis` says `unavailable`.",
  responses: {
    200: {
      description: 'Ready',
      content: {
        'application/json': {
          schema: z.object({
            status: z.literal('ready'),
            checks: z.object({
              database: z.literal('ok'),
              redis: z
                .enum(['ok', 'unavailable'])
                .optional()
                .openapi({ description: 'Present when REDIS_URL is set' }),
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
  operationId: 'getMetrics',
  path: '/metrics',
  tags: TAGS,
  security: PUBLIC,
  summary: 'Prometheus metrics',
  description:
    'Prometheus text format: request counts and durations per route, events recorded, deliveries, limit refusals, rate-limiter fallbacks and the process metrics. Expose it to the scraper only (it carries no secret, but counts reveal traffic).',
  responses: {
    200: {
      description: 'Metrics in the Prometheus text format',
      content: { 'text/plain': { schema: z.string() } },
    },
  },
});

const Jwk = z
  .object({
    kty: z.string(),
    crv: z.string().optional(),
    x: z.string().optional(),
    kid: z.string().optional(),
    alg: z.string().optional(),
    use: z.string().optional(),
  })
  .catchall(z.unknown());

export const jwksRoute = createRoute({
  method: 'get',
  operationId: 'getJwks',
  path: '/.well-known/jwks.json',
  tags: TAGS,
  security: PUBLIC,
  summary: 'Public keys that verify result tokens (RFC 7517)',
  description:
    'The Ed25519 public keys (JWK Set, RFC 7517) that verify result tokens, selected by the token header `kid`. After a rotation the previous keys stay listed until the tokens they signed expire. Cacheable for 5 minutes.',
  responses: {
    200: {
      description: 'JWK Set',
      content: {
        'application/json': { schema: z.object({ keys: z.array(Jwk) }).openapi('JwkSet') },
      },
    },
  },
});

export const openapiRoute = createRoute({
  method: 'get',
  operationId: 'getOpenApiDocument',
  path: '/openapi.yaml',
  tags: TAGS,
  security: PUBLIC,
  summary: 'This API description',
  description:
    'This OpenAPI 3.1 document, as committed in the repository. Its server URL is relative, so it resolves against wherever the document is served (any host, port or path prefix).',
  responses: {
    200: {
      description: 'OpenAPI 3.1 document',
      content: { 'application/yaml': { schema: z.string() } },
    },
  },
});

export const docsRoute = createRoute({
  method: 'get',
  operationId: 'getDocsPage',
  path: '/docs',
  tags: TAGS,
  security: PUBLIC,
  summary: 'Interactive API documentation (Swagger UI, served locally)',
  description:
    'Swagger UI served from the installed swagger-ui-dist package (no CDN), under a Content-Security-Policy that allows scripts and connections to this origin only. Every link on the page is relative, so it works behind a reverse proxy with a path prefix.',
  responses: {
    200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } },
  },
});

export const DOCS_ASSETS = ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js'] as const;

export const docsAssetRoute = createRoute({
  method: 'get',
  operationId: 'getDocsAsset',
  path: '/docs/{asset}',
  tags: TAGS,
  security: PUBLIC,
  summary: 'Assets of the documentation page',
  description:
    'The stylesheet, script bundle and start-up script of the documentation page. Any other name is 404.',
  request: {
    params: z.object({
      asset: z.enum(DOCS_ASSETS).openapi({ param: { name: 'asset', in: 'path' } }),
    }),
  },
  responses: {
    200: {
      description: 'Asset',
      content: { 'text/css': { schema: z.string() }, 'text/javascript': { schema: z.string() } },
    },
    // A name outside the enum fails path validation, which answers not_found (src/app.ts validationHook).
    ...problemResponses('not_found'),
  },
});
