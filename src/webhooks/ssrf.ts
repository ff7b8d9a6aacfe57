import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { canonicalIp, cidrList, matchesCidr } from '../platform/ip.js';

/**
 * Where a webhook may not go (server-side request forgery): the rules, each with the name a refusal
 * carries (docs/webhooks.md). Checked at registration on the URL as written, and at delivery time on
 * every address its name resolves to, the connection then pinned to the address checked.
 */
const DENIED: readonly { rule: string; ranges: readonly string[] }[] = [
  // Cloud metadata services first: they are also link-local, but deserve their own name.
  { rule: 'metadata', ranges: ['169.254.169.254/32', 'fd00:ec2::254/128', '100.100.100.200/32'] },
  { rule: 'unspecified', ranges: ['0.0.0.0/8', '::/128'] },
  { rule: 'loopback', ranges: ['127.0.0.0/8', '::1/128'] },
  {
    rule: 'private',
    ranges: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7', '192.0.0.0/24'],
  },
  { rule: 'link_local', ranges: ['169.254.0.0/16', 'fe80::/10'] },
  { rule: 'cgnat', ranges: ['100.64.0.0/10'] },
  { rule: 'multicast', ranges: ['224.0.0.0/4', 'ff00::/8'] },
  {
    rule: 'reserved',
    ranges: ['240.0.0.0/4', '255.255.255.255/32', '198.18.0.0/15', '64:ff9b::/96'],
  },
];
const LISTS = DENIED.map(({ rule, ranges }) => ({ rule, list: cidrList(ranges) }));

/** The rule an address breaks (loopback, private, link_local, cgnat, metadata, unspecified, multicast, reserved), if any. */
export function deniedRange(address: string): string | undefined {
  const ip = canonicalIp(address);
  if (ip === undefined) return 'unspecified';
  return LISTS.find(({ list }) => matchesCidr(list, ip))?.rule;
}

export type UrlRefusal =
  | { reason: 'webhook_url_invalid'; rule: 'syntax' | 'credentials' }
  | { reason: 'webhook_url_not_https'; rule: 'https_only' }
  | { reason: 'webhook_url_private_address'; rule: string };

/** Refuses what can be seen in the URL itself: syntax, scheme, credentials, a literal address in a denied range, `localhost`. */
export function checkUrl(value: string, allowPrivate: boolean): UrlRefusal | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { reason: 'webhook_url_invalid', rule: 'syntax' };
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:'))
    return { reason: 'webhook_url_not_https', rule: 'https_only' };
  if (url.username !== '' || url.password !== '')
    return { reason: 'webhook_url_invalid', rule: 'credentials' };
  if (allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (isIP(host) !== 0) {
    const rule = deniedRange(host);
    return rule === undefined ? undefined : { reason: 'webhook_url_private_address', rule };
  }
  if (host === 'localhost' || host.endsWith('.localhost'))
    return { reason: 'webhook_url_private_address', rule: 'loopback' };
  return undefined;
}

/** The error a delivery attempt fails with when its destination resolves into a denied range. */
export class DeniedDestinationError extends Error {
  readonly rule: string;
  constructor(rule: string, address: string) {
    super(`destination ${address} refused (${rule})`);
    this.name = 'DeniedDestinationError';
    this.rule = rule;
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for node:http(s) that resolves the name, refuses it when ANY of its addresses is in a
 * denied range (a name cannot mix a public and a private address to win a race), and connects to
 * the first one: the socket goes to exactly the address checked (no second resolution to rebind).
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses;
      if (!allowPrivate) {
        for (const { address } of list) {
          const rule = deniedRange(address);
          if (rule !== undefined) return callback(new DeniedDestinationError(rule, address), []);
        }
      }
      const first = list[0];
      if (!first) return callback(new Error(`${hostname} has no address`), []);
      if ((options as { all?: boolean }).all) return callback(null, [first]);
      callback(null, first.address, first.family);
    });
  };
}
