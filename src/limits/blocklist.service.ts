import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { canonicalIp, parseCidr } from '../platform/ip.js';
import type { BlockAction, BlockEntry, BlockKind, BlocklistStore } from './limits.store.js';

export interface NewBlockEntry {
  kind: BlockKind;
  value: string;
  reason: string;
  action?: BlockAction | undefined;
  /** Epoch milliseconds; absent for an entry that never expires. */
  expiresAt?: number | undefined;
}

/** The security team's blocklist/allowlist. Every change applies to the next decision on every instance. */
export interface BlocklistService {
  /** Adds an entry on behalf of `createdBy` (an API key id). Throws invalid_request for a value that does not fit its kind. */
  create(createdBy: string, input: NewBlockEntry): Promise<BlockEntry>;
  /** Unexpired entries, automatic ones included. */
  list(filter: {
    kind?: BlockKind | undefined;
    action?: BlockAction | undefined;
  }): Promise<BlockEntry[]>;
  /** Throws not_found when no such entry exists. */
  remove(id: string): Promise<void>;
}

const invalid = (message: string): DomainError =>
  new DomainError('invalid_request', { details: { errors: [{ path: 'value', message }] } });

/** The canonical form of a value for its kind (matching compares canonical forms). Throws invalid_request. */
export function canonicalValue(kind: BlockKind, raw: string): string {
  const value = raw.trim();
  switch (kind) {
    case 'number':
      if (!/^\+[1-9]\d{6,14}$/.test(value))
        throw invalid('a number must be in E.164 form, e.g. +14155550123');
      return value;
    case 'prefix':
      if (!/^\+[1-9]\d{0,14}$/.test(value))
        throw invalid('a prefix must be a "+" followed by 1 to 15 digits, e.g. +4479');
      return value;
    case 'ip': {
      const ip = canonicalIp(value);
      if (ip === undefined) throw invalid('not an IPv4 or IPv6 address');
      return ip;
    }
    case 'cidr': {
      const cidr = parseCidr(value.toLowerCase());
      if (!cidr || !value.includes('/'))
        throw invalid('a CIDR must look like 203.0.113.0/24 or 2001:db8::/32');
      return `${cidr.network}/${cidr.prefix}`;
    }
    case 'country':
      if (!/^[A-Za-z]{2}$/.test(value))
        throw invalid('a country must be an ISO 3166-1 alpha-2 code, e.g. GB');
      return value.toUpperCase();
  }
}

export function createBlocklistService(deps: {
  store: BlocklistStore;
  clock: Clock;
}): BlocklistService {
  return {
    async create(createdBy, input) {
      const now = deps.clock.now();
      if (input.expiresAt !== undefined && input.expiresAt <= now) {
        throw new DomainError('invalid_request', {
          details: { errors: [{ path: 'expiresAt', message: 'must be in the future' }] },
        });
      }
      const entry: BlockEntry = {
        id: newId('blk', now),
        kind: input.kind,
        value: canonicalValue(input.kind, input.value),
        action: input.action ?? 'block',
        reason: input.reason,
        createdBy,
        createdAt: now,
        expiresAt: input.expiresAt ?? null,
      };
      await deps.store.insert(entry);
      return entry;
    },

    async list(filter) {
      return deps.store.list(deps.clock.now(), filter);
    },

    async remove(id) {
      if (!(await deps.store.remove(id))) throw new DomainError('not_found');
    },
  };
}
