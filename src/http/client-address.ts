import { isIP, type BlockList } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { cidrList, matchesCidr, normalizeIp, parseCidr } from '../platform/ip.js';

/** Which peers may set the client's address through X-Forwarded-For. */
export type TrustProxy =
  | { kind: 'none' }
  | { kind: 'hops'; hops: number }
  | { kind: 'cidrs'; ranges: string[]; list: BlockList };

/**
 * Reads TRUST_PROXY: unset, "false" or "0" trusts no proxy (the socket's peer is the client); a
 * number trusts that many hops in front of the service; otherwise a comma-separated list of
 * addresses/CIDRs of trusted proxies. "true" and catch-all ranges are refused: they would let any
 * client write its own address into X-Forwarded-For (OWASP ASVS 4.0 §1.4, trust boundaries).
 */
export function parseTrustProxy(value: string): TrustProxy {
  const text = value.trim().toLowerCase();
  if (text === '' || text === 'false' || text === '0' || text === 'none') return { kind: 'none' };
  if (text === 'true')
    throw new Error(
      'must name the trusted hops: a hop count (e.g. 1) or the proxies\' CIDRs, not "true"',
    );
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    if (hops > 10) throw new Error('hop count must be at most 10');
    return { kind: 'hops', hops };
  }
  const ranges = text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const range of ranges) {
    const cidr = parseCidr(range);
    if (!cidr) throw new Error(`"${range}" is not a hop count, an IP address or a CIDR`);
    if (cidr.prefix === 0)
      throw new Error(`"${range}" trusts every peer; list the proxies' addresses`);
  }
  return { kind: 'cidrs', ranges, list: cidrList(ranges) };
}

/**
 * The client's address: the socket's peer unless that peer is a trusted proxy, then the
 * X-Forwarded-For entry its trusted hops appended (read right to left, each proxy appends the
 * address it saw). Entries left of the first untrusted address are the client's own claims and
 * are ignored, so a spoofed header from an untrusted peer changes nothing.
 */
export function resolveClientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trust: TrustProxy,
): string | undefined {
  if (peer === undefined || trust.kind === 'none' || !forwardedFor) return peer;
  const chain = forwardedFor
    .split(',')
    .map((entry) => normalizeIp(entry.trim()))
    .filter(Boolean);
  if (trust.kind === 'hops') {
    // [client, proxy1, …, proxyN-1] + peer (proxyN): the address `hops` steps left of the peer.
    let address = peer;
    for (let hop = 0; hop < trust.hops; hop++) {
      const next = chain.pop();
      if (next === undefined || isIP(next) === 0) return address;
      address = next;
    }
    return address;
  }
  let address = peer;
  while (matchesCidr(trust.list, address)) {
    const next = chain.pop();
    if (next === undefined || isIP(next) === 0) return address;
    address = next;
  }
  return address;
}

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
export function clientAddress(
  trust: TrustProxy,
): MiddlewareHandler<{ Variables: { clientAddress: string | undefined } }> {
  return async function clientAddressMiddleware(c, next) {
    c.set(
      'clientAddress',
      resolveClientAddress(socketAddress(c), c.req.header('x-forwarded-for'), trust),
    );
    await next();
  };
}

/** The client's address as resolved by the clientAddress middleware (the socket's peer without it). */
export function getClientAddress(c: Context): string | undefined {
  const resolved = c.get('clientAddress') as string | undefined;
  return resolved ?? socketAddress(c);
}
