import type { BlockList } from 'node:net';
import { cidrList, matchesCidr } from '../platform/ip.js';
import type { BlockEntry, BlockSubject } from './limits.store.js';

const parsed = new Map<string, BlockList | null>();

function cidrMatches(value: string, ip: string): boolean {
  let list = parsed.get(value);
  if (list === undefined) {
    try {
      list = cidrList([value]);
    } catch {
      list = null;
    }
    if (parsed.size > 10_000) parsed.clear();
    parsed.set(value, list);
  }
  return list !== null && matchesCidr(list, ip);
}

function applies(entry: BlockEntry, subject: BlockSubject): boolean {
  switch (entry.kind) {
    case 'number':
      return entry.value === subject.number;
    case 'prefix':
      return subject.number.startsWith(entry.value);
    case 'country':
      return entry.value === subject.country;
    case 'ip':
      return entry.value === subject.ip;
    case 'cidr':
      return subject.ip !== undefined && cidrMatches(entry.value, subject.ip);
  }
}

/**
 * The entry that decides a start, if any: an allow entry wins over every block entry (the security
 * team allows one number inside a blocked prefix or country); otherwise the first block entry.
 */
export function matchBlocklist(
  candidates: readonly BlockEntry[],
  subject: BlockSubject,
): BlockEntry | undefined {
  const matching = candidates.filter((entry) => applies(entry, subject));
  return (
    matching.find((entry) => entry.action === 'allow') ??
    matching.find((entry) => entry.action === 'block')
  );
}
