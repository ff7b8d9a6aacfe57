import type { Context } from 'hono';

interface NodeEnv {
  incoming?: { socket?: { remoteAddress?: string } };
}

/** Strips the IPv4-mapped IPv6 prefix so one client has one address form. */
export function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The address of the peer that opened the connection, from the Node socket (what
 * @hono/node-server passes as `env.incoming`). Tests pass the same shape to `app.request`.
 */
export function getClientAddress(c: Context): string | undefined {
  const env = c.env as NodeEnv | undefined;
  const address = env?.incoming?.socket?.remoteAddress;
  return address ? normalizeIp(address) : undefined;
}
