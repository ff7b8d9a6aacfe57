import type { RateRuleName } from './limits.rules.js';

/** A counter's value in its current window. */
export interface CounterState {
  points: number;
  /** Milliseconds until the window ends (0 when the counter is absent or expired). */
  resetInMs: number;
}

/** One hit of `hitMany`: `cost` (default 1) added to `key` in its window of `windowMs`. */
export interface CounterHit {
  key: string;
  windowMs: number;
  cost?: number;
}

/** One hit of `hitUntil`, with the limit its total is compared with. */
export interface LimitedHit extends CounterHit {
  limit: number;
}

/**
 * Fixed-window counters shared by every instance using the same store. Implementations: SQLite
 * and PostgreSQL (one guarded upsert per call, one multi-row upsert per batch) and Redis
 * (rate-limiter-flexible's atomic Lua increment, a batch's commands pipelined).
 */
export interface CounterStore {
  /**
   * Adds `cost` to `key` in its window of `windowMs` (starting a new window when the current one
   * has ended) and returns the new total. Atomic: N concurrent hits of cost 1 return N distinct
   * totals, so a caller that compares the total with a limit never lets more than the limit pass.
   */
  hit(key: string, windowMs: number, cost?: number): Promise<CounterState>;
  /**
   * Several hits at once, each with the guarantee of `hit` (a batch is not one transaction: each
   * counter is atomic on its own, as if hit alone, in no particular order). One statement or round
   * trip where the store allows. Keys must be distinct. Results come in the order of `hits`.
   */
  hitMany(hits: readonly CounterHit[]): Promise<CounterState[]>;
  /**
   * Hits in order and stops after the first hit whose total exceeds its `limit`: that hit counts,
   * the later ones do not, exactly as if each were hit alone one after the other (a request one
   * narrow limit refuses does not spend the wider budgets). Returns the totals of the hits made.
   * One statement or round trip where the store allows; keys must be distinct.
   */
  hitUntil(hits: readonly LimitedHit[]): Promise<CounterState[]>;
  /** The current value without changing it. */
  peek(key: string): Promise<CounterState>;
  /** Several peeks at once (one statement or round trip where the store allows); results in order. */
  peekMany(keys: readonly string[]): Promise<CounterState[]>;
  /** Keeps `key` non-zero for at least `durationMs` from now (never shortens an existing hold). */
  hold(key: string, durationMs: number): Promise<void>;
  /** Releases resources (Redis connections). */
  close(): Promise<void>;
}

/** A counter as it is persisted: its points and the end of its window (epoch ms). */
export interface CounterRecord {
  key: string;
  points: number;
  expiresAt: number;
}

/**
 * The database's copy of counters kept in process memory (single-instance SQLite: see
 * storage/memory/counters.ts). Synchronous, so a shutdown can write the last counts before the
 * database closes.
 */
export interface CounterSnapshot {
  /** Every counter whose window has not ended at `now` (read once, at start). */
  load(now: number): CounterRecord[];
  /** Writes these counters' values in one transaction, and deletes a bounded number of ended windows. */
  save(records: readonly CounterRecord[], now: number): void;
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
 * The blocklist/allowlist. The wiring holds it in memory (storage/cache/caches.ts), reloaded when
 * it may have changed anywhere (within 1 s on every instance: SECURITY.md).
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
  list(
    now: number,
    filter: { kind?: BlockKind | undefined; action?: BlockAction | undefined },
  ): Promise<BlockEntry[]>;
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
