import { BlockList, isIP } from 'node:net';

/** Strips the IPv4-mapped IPv6 prefix so one client has one address form. */
export function normalizeIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * One spelling per address, so a limit keyed by IP cannot be dodged by writing the same IPv6
 * address another way (`2001:db8::1` = `2001:0db8:0:0::1`): IPv6 in RFC 5952 form (the WHATWG URL
 * serializer), IPv4-mapped IPv6 as IPv4. Undefined for anything that is not an address.
 */
export function canonicalIp(address: string): string | undefined {
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) return undefined;
  try {
    const host = new URL(`http://[${address}]`).hostname.slice(1, -1);
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
    if (!mapped?.[1] || !mapped[2]) return host;
    const high = parseInt(mapped[1], 16);
    const low = parseInt(mapped[2], 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  } catch {
    return undefined;
  }
}

/** `a.b.c.d/n` or `x::/n` (or a bare address) as a network, or undefined when malformed. */
export function parseCidr(
  value: string,
): { network: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', bits, ...rest] = value.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { network: address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** A matcher for a list of CIDRs (bare addresses are /32 or /128). Throws on a malformed entry. */
export function cidrList(ranges: readonly string[]): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const cidr = parseCidr(range);
    if (!cidr) throw new Error(`"${range}" is not an IP address or CIDR`);
    list.addSubnet(cidr.network, cidr.prefix, cidr.family);
  }
  return list;
}

export function matchesCidr(list: BlockList, ip: string): boolean {
  const version = isIP(ip);
  return version !== 0 && list.check(ip, version === 4 ? 'ipv4' : 'ipv6');
}

function expandIpv6(ip: string): string[] {
  let text = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text =
      text.slice(0, -v4[1].length) +
      `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((g) => g.padStart(4, '0'));
}

/** The network an address belongs to for per-subnet limits: IPv4 /24, IPv6 /64. */
export function subnetOf(ip: string): string | undefined {
  const version = isIP(ip);
  if (version === 4) return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  if (version === 6) return `${expandIpv6(ip).slice(0, 4).join(':')}::/64`;
  return undefined;
}
