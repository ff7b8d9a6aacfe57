import type { MiddlewareHandler } from 'hono';
import type { LimitState } from '../limits/guard.js';

/**
 * Adds the RateLimit-* headers of draft-ietf-httpapi-ratelimit-headers (RateLimit-Limit,
 * RateLimit-Remaining, RateLimit-Reset in seconds, RateLimit-Policy `limit;w=window`) for the
 * tightest limit the request consumed, on success and on refusal alike.
 */
export function rateLimitHeaders(): MiddlewareHandler<{
  Variables: { limitState: LimitState | undefined };
}> {
  return async function rateLimitHeadersMiddleware(c, next) {
    await next();
    const state = c.get('limitState');
    if (!state) return;
    c.res.headers.set('RateLimit-Limit', String(state.limit));
    c.res.headers.set('RateLimit-Remaining', String(state.remaining));
    c.res.headers.set('RateLimit-Reset', String(state.resetSeconds));
    c.res.headers.set(
      'RateLimit-Policy',
      `${state.limit};w=${state.windowSeconds};name="${state.policy}"`,
    );
  };
}
