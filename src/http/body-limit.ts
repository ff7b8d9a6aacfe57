import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export interface BodyLimitOptions {
  maxSize: number;
  onError: (c: Context) => Response | Promise<Response>;
}

/**
 * hono's bodyLimit without its cost in the common case. A request that declares its length
 * (Content-Length without Transfer-Encoding) is judged by that header, exactly as hono's does, but
 * without touching `c.req.raw.body` first: on @hono/node-server that builds a full web Request, an
 * AbortController and a stream for every request, and makes the route read its JSON through them
 * instead of straight from the socket. Node's HTTP parser never hands on more bytes than the header
 * declares. Chunked bodies and bodies of unknown length go through hono's, which counts as it reads.
 */
export function declaredBodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const counting = bodyLimit(options);
  return async function bodyLimitMiddleware(c, next) {
    // No body can reach a route on these methods (hono's sees a null body and passes them too).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined)
      return counting(c, next);
    if (Number.parseInt(length, 10) > options.maxSize) return options.onError(c);
    return next();
  };
}
