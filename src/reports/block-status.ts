/** A thing the blocklist can hold, as the abuse report asks about it. */
export interface BlockTarget {
  kind: 'number' | 'prefix' | 'ip';
  /** E.164 number, E.164 prefix or IP address. */
  value: string;
}

export interface BlockStatus {
  /** `unknown` when no blocklist is wired in. */
  status: 'blocked' | 'allowed' | 'none' | 'unknown';
  entryId: string | null;
  expiresAt: number | null;
}

/** Reads the current blocklist state of targets (the blocklist API of issue 3 implements it). */
export interface BlockStatusReader {
  /** One status per target, in order. Must not throw for a target it does not know. */
  statusOf(targets: BlockTarget[]): Promise<BlockStatus[]>;
}

/** The default until a blocklist is wired in: reports every target as `unknown`, never as unblocked. */
export const NO_BLOCKLIST: BlockStatusReader = {
  statusOf: (targets) =>
    Promise.resolve(
      targets.map(() => ({ status: 'unknown' as const, entryId: null, expiresAt: null })),
    ),
};

/** A blocklist entry as the blocklist service lists it (structural: any source with this shape fits). */
export interface ListedBlockEntry {
  id: string;
  kind: string;
  value: string;
  action: string;
  expiresAt: number | null;
}

/** Lists unexpired entries; the blocklist service of issue 3 has this method. */
export interface BlockEntrySource {
  list(filter: { kind?: undefined; action?: undefined }): Promise<ListedBlockEntry[]>;
}

/** The entries that apply to a target: exact matches, and for numbers and prefixes the prefixes that cover them. */
function covers(entry: ListedBlockEntry, target: BlockTarget): boolean {
  if (entry.kind === target.kind && entry.value === target.value) return true;
  return (
    entry.kind === 'prefix' &&
    (target.kind === 'number' || target.kind === 'prefix') &&
    target.value.startsWith(entry.value)
  );
}

/**
 * Block status from a list of blocklist entries, read once per report. An `allow` entry wins, as it
 * does in the blocklist itself; among `block` entries the most specific (longest value) is reported.
 * CIDR and country entries are not matched here: an IP inside a blocked CIDR shows as `none`.
 */
export function createBlockStatusReader(source: BlockEntrySource): BlockStatusReader {
  return {
    async statusOf(targets) {
      const entries = await source.list({});
      return targets.map((target) => {
        const matching = entries
          .filter((entry) => target.value !== '' && covers(entry, target))
          .sort((a, b) => b.value.length - a.value.length);
        const entry =
          matching.find((e) => e.action === 'allow') ?? matching.find((e) => e.action === 'block');
        if (!entry) return { status: 'none' as const, entryId: null, expiresAt: null };
        return {
          status: entry.action === 'allow' ? ('allowed' as const) : ('blocked' as const),
          entryId: entry.id,
          expiresAt: entry.expiresAt,
        };
      });
    },
  };
}
