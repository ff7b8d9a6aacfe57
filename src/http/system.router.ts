import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Metrics } from '../platform/metrics.js';
import type { TokenIssuer } from '../tokens/tokens.js';
import type { AppEnv } from './app-env.js';
import { problem } from './problem.js';
import {
  docsAssetRoute,
  docsRoute,
  healthRoute,
  jwksRoute,
  metricsRoute,
  openapiRoute,
  readyRoute,
} from './system.routes.js';

/** What /readyz reports: the database answers; `redis` when REDIS_URL is set. */
export interface ReadinessChecks {
  database: 'ok';
  redis?: 'ok' | 'unavailable';
}

export interface SystemRouterDeps {
  tokens: TokenIssuer;
  metrics: Metrics;
  /**
   * Resolves with the state of each dependency (`database`, and `redis` when configured) when the
   * service can serve; rejects when it cannot (the database does not answer).
   */
  ready: () => Promise<ReadinessChecks>;
  /** The repository's openapi.yaml, served as is. */
  openapiYaml: string;
}

/**
 * Every link is relative to the page (/docs), never absolute: behind a reverse proxy that mounts the
 * service under a prefix (https://example.com/otp/docs → /docs) an absolute /docs/... or
 * /openapi.yaml would leave the prefix and miss the service. The empty data: icon spares the
 * browser a /favicon.ico request that would only 404.
 */
const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OTP Verify API</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script><script src="docs/init.js"></script></body></html>`;

// The document URL is resolved against the page, prefix included; its relative server URL is then
// resolved against the document, so "Try it out" calls the service that served the page.
// validatorUrl: null, or Swagger UI sends the document to validator.swagger.io for a badge (CSP refuses it, and it would leave the machine).
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: new URL('openapi.yaml', document.baseURI).href, dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });`;

let docsAssets: Record<string, { body: string; type: string }> | undefined;

/** Swagger UI's files come from the swagger-ui-dist package: no CDN, works offline. Read once, lazily. */
function loadDocsAssets(): Record<string, { body: string; type: string }> {
  if (!docsAssets) {
    const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
    docsAssets = {
      'swagger-ui.css': {
        body: readFileSync(join(dir, 'swagger-ui.css'), 'utf8'),
        type: 'text/css; charset=utf-8',
      },
      'swagger-ui-bundle.js': {
        body: readFileSync(join(dir, 'swagger-ui-bundle.js'), 'utf8'),
        type: 'text/javascript; charset=utf-8',
      },
      'init.js': { body: DOCS_INIT, type: 'text/javascript; charset=utf-8' },
    };
  }
  return docsAssets;
}

export function createSystemRouter(
  deps: SystemRouterDeps,
  base: () => OpenAPIHono<AppEnv>,
): OpenAPIHono<AppEnv> {
  const router = base();

  router.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));

  router.openapi(readyRoute, async (c) => {
    try {
      const checks = await deps.ready();
      return c.json({ status: 'ready' as const, checks }, 200);
    } catch {
      return problem(c, 'not_ready', { retryAfterSeconds: 5 }) as never;
    }
  });

  router.openapi(metricsRoute, async (c) => {
    c.header('content-type', deps.metrics.registry.contentType);
    return c.text(await deps.metrics.registry.metrics(), 200);
  });

  router.openapi(jwksRoute, async (c) => {
    c.header('cache-control', 'public, max-age=300');
    const { keys } = await deps.tokens.jwks();
    return c.json({ keys: keys.map((k) => ({ ...k, kty: k.kty ?? 'OKP' })) }, 200);
  });

  router.openapi(openapiRoute, (c) => {
    c.header('content-type', 'application/yaml; charset=utf-8');
    return c.body(deps.openapiYaml, 200);
  });

  router.openapi(docsRoute, (c) => c.html(DOCS_HTML, 200));

  router.openapi(docsAssetRoute, (c) => {
    const asset = loadDocsAssets()[c.req.valid('param').asset];
    if (!asset) return problem(c, 'not_found');
    c.header('content-type', asset.type);
    c.header('cache-control', 'public, max-age=86400');
    return c.body(asset.body, 200);
  });

  return router;
}
