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
  statusOf: (targets) => Promise.resolve(targets.map(() => ({ status: 'unknown' as const, entryId: null, expiresAt: null }))),
};
