import type { Context, MiddlewareHandler } from 'hono';
import { normalizeIp, resolveClientAddress, type TrustProxy } from '../limits/ip.js';

export { normalizeIp };

interface NodeEnv {
  incoming?: { socket?: { remoteAddress?: string } };
}

/**
 * The address of the peer that opened the connection, from the Node socket (what
 * @hono/node-server passes as `env.incoming`). Tests pass the same shape to `app.request`.
 */
function socketAddress(c: Context): string | undefined {
  const env = c.env as NodeEnv | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  return address ? normalizeIp(address) : undefined;
}

/**
 * Resolves the client's address once per request: the socket's peer, or, when TRUST_PROXY names
 * that peer as a trusted hop, the X-Forwarded-For entry the trusted hops set. Every later reader
 * goes through getClientAddress.
 */
export function clientAddress(trust: TrustProxy): MiddlewareHandler<{ Variables: { clientAddress: string | undefined } }> {
  return async function clientAddressMiddleware(c, next) {
    c.set('clientAddress', resolveClientAddress(socketAddress(c), c.req.header('x-forwarded-for'), trust));
    await next();
  };
}

/** The client's address as resolved by the clientAddress middleware (the socket's peer without it). */
export function getClientAddress(c: Context): string | undefined {
  const resolved = c.get('clientAddress') as string | undefined;
  return resolved ?? socketAddress(c);
}
