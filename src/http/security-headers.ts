import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';

/**
 * Every response is JSON, YAML or a file for the docs page: none may run script, be framed or load
 * anything (OWASP ASVS 14.4). HTML pages replace this with HTML_CSP.
 */
export const API_CSP =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * HTML pages (/docs today, a dashboard later): scripts and styles only from this origin, no inline
 * script, no eval, no framing, no plugins, no form posts elsewhere. Inline styles are allowed because
 * Swagger UI sets style attributes; they cannot run code.
 */
export const HTML_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'";

/**
 * hono/secure-headers with the API's CSP and framing denied outright. A page that sets its own
 * Content-Security-Policy (the dashboard, the printable consent record) keeps it: its policy is
 * written for that page and is at least as strict; everything else gets the API's.
 */
export function securityHeaders(): MiddlewareHandler {
  const base = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
    xFrameOptions: 'DENY',
  });
  return async function securityHeadersMiddleware(c, next) {
    let own: string | null = null;
    await base(c, async () => {
      await next();
      own = c.res.headers.get('content-security-policy');
    });
    if (own !== null) c.res.headers.set('content-security-policy', own);
  };
}

/**
 * The CSP of an HTML page. Mounted before securityHeaders so it runs last on the way out and
 * replaces the API policy on the page's responses only.
 */
export function htmlPolicy(): MiddlewareHandler {
  return async function htmlPolicyMiddleware(c, next) {
    await next();
    if (c.res.headers.get('content-type')?.startsWith('text/html'))
      c.res.headers.set('content-security-policy', HTML_CSP);
  };
}

/**
 * Cross-origin browser access: none unless CORS_ORIGINS lists origins (no wildcard: a page on any
 * site could then drive the API with a key it obtained). Preflights from other origins get no
 * Access-Control-Allow-Origin, so the browser refuses them.
 */
export function corsPolicy(origins: readonly string[]): MiddlewareHandler {
  if (origins.length === 0) {
    return async function noCorsMiddleware(_c, next) {
      await next();
    };
  }
  return cors({
    origin: (origin) => (origins.includes(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowHeaders: ['authorization', 'content-type'],
    exposeHeaders: [
      'retry-after',
      'x-request-id',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'ratelimit-policy',
    ],
    maxAge: 600,
  });
}
