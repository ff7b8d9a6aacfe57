import type { RateRuleName } from './limits.rules.js';

/** A counter's value in its current window. */
export interface CounterState {
  points: number;
  /** Milliseconds until the window ends (0 when the counter is absent or expired). */
  resetInMs: number;
}

/**
 * Fixed-window counters shared by every instance using the same store. Implementations: SQLite
 * (one guarded upsert per call) and Redis (rate-limiter-flexible's atomic Lua increment).
 */
export interface CounterStore {
  /**
   * Adds `cost` to `key` in its window of `windowMs` (starting a new window when the current one
   * has ended) and returns the new total. Atomic: N concurrent hits of cost 1 return N distinct
   * totals, so a caller that compares the total with a limit never lets more than the limit pass.
   */
  hit(key: string, windowMs: number, cost?: number): Promise<CounterState>;
  /** The current value without changing it. */
  peek(key: string): Promise<CounterState>;
  /** Keeps `key` non-zero for at least `durationMs` from now (never shortens an existing hold). */
  hold(key: string, durationMs: number): Promise<void>;
  /** Releases resources (Redis connections). */
  close(): Promise<void>;
}

export type BlockKind = 'number' | 'prefix' | 'ip' | 'cidr' | 'country';
export type BlockAction = 'block' | 'allow';

export interface BlockEntry {
  id: string;
  kind: BlockKind;
  value: string;
  action: BlockAction;
  reason: string;
  createdBy: string;
  createdAt: number;
  expiresAt: number | null;
}

/** What a start is matched against. */
export interface BlockSubject {
  number: string;
  country: string | undefined;
  ip: string | undefined;
}

/**
 * The blocklist/allowlist. Read from the database on every decision (no cache), so a change
 * takes effect at once on every instance sharing the database.
 */
export interface BlocklistStore {
  insert(entry: BlockEntry): Promise<void>;
  /**
   * Inserts an automatic prefix block iff no unexpired block entry exists for the same prefix
   * (one guarded `INSERT … SELECT … WHERE NOT EXISTS`): under concurrent callers at most one entry
   * is created; returns it, or undefined when one already existed.
   */
  insertAutoPrefixBlock(entry: BlockEntry, now: number): Promise<BlockEntry | undefined>;
  /** Unexpired entries, optionally filtered, oldest first. */
  list(now: number, filter: { kind?: BlockKind | undefined; action?: BlockAction | undefined }): Promise<BlockEntry[]>;
  /** Unexpired entries that may apply to this subject: exact number/ip/country, prefixes of the number, every CIDR. */
  candidates(subject: BlockSubject, now: number): Promise<BlockEntry[]>;
  /** Deletes an entry; true iff this call deleted it. */
  remove(id: string): Promise<boolean>;
}

/** Per-app overrides; every field is optional and falls back to the environment's default. */
export interface AppLimitOverrides {
  rates?: Partial<Record<RateRuleName, number>> | undefined;
  blockVoip?: boolean | undefined;
  /** When set, only these countries may receive codes. */
  allowCountries?: string[] | null | undefined;
  /** When set, replaces the default high-risk deny list for this app. */
  denyCountries?: string[] | null | undefined;
}

export interface AppLimitsRecord {
  app: string;
  overrides: AppLimitOverrides;
  updatedAt: number;
}

export interface AppLimitsStore {
  get(app: string): Promise<AppLimitsRecord | undefined>;
  /** Replaces the app's overrides (one upsert). */
  put(app: string, overrides: AppLimitOverrides, now: number): Promise<AppLimitsRecord>;
}
