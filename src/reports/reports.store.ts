/** Read access to the event record for reports. Every method is one read statement: a consistent snapshot, no locks held between calls. */

export const DIMENSIONS = [
  'reason',
  'country',
  'prefix',
  'ip',
  'channel',
  'provider',
  'app',
  'rule',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];
export const TIME_BUCKETS = ['hour', 'day'] as const;
export type TimeBucket = (typeof TIME_BUCKETS)[number];
export type OffenderDimension = 'prefix' | 'ip' | 'number';

/** A time window [from, to) in epoch ms, and the app whose records are visible (undefined: every app). */
export interface RecordScope {
  from: number;
  to: number;
  app: string | undefined;
  /** ISO 3166-1 alpha-2; every country when absent. */
  country?: string | undefined;
}

export interface CountRow {
  key: string | null;
  stack?: string | null;
  count: number;
}

export interface ConversionCounts {
  key: string | null;
  started: number;
  sent: number;
  delivered: number;
  deliveryFailed: number;
  approved: number;
}

export interface OffenderCounts {
  /** The prefix, the IP, or for numbers the keyed hash. */
  key: string;
  failures: number;
  started: number;
  sent: number;
  approved: number;
  firstAt: number;
  lastAt: number;
  /** For numbers: one encrypted copy of the number. */
  numberEnc: string | null;
}

export interface RuleCount {
  key: string | null;
  rule: string;
  reason: string;
  count: number;
}

export interface StoredEvent {
  id: number;
  at: number;
  app: string | null;
  kind: string;
  reason: string;
  rule: string | null;
  details: string | null;
  channel: string | null;
  provider: string | null;
  providerError: string | null;
  numberHash: string | null;
  numberEnc: string | null;
  prefix: string | null;
  country: string | null;
  numberType: string | null;
  ip: string | null;
  userAgent: string | null;
  verificationId: string | null;
}

export interface EventFilter extends RecordScope {
  kind?: string | undefined;
  reason?: string | undefined;
  numberHash?: string | undefined;
  prefix?: string | undefined;
  ip?: string | undefined;
  verificationId?: string | undefined;
  /** Only records strictly older than this (at, id) position: the cursor of the previous page. */
  before?: { at: number; id: number } | undefined;
}

export interface ReportsStore {
  /** Failure counts per group (and per stack within a group), largest first; time buckets in time order. */
  countFailures(
    scope: RecordScope,
    groupBy: Dimension | TimeBucket,
    stackBy?: Dimension,
  ): Promise<CountRow[]>;
  /** Starts, sends, receipts and approvals per group. */
  conversion(
    scope: RecordScope,
    groupBy: 'country' | 'prefix' | 'channel',
  ): Promise<ConversionCounts[]>;
  /** The `limit` groups with the most failures, with their successes for conversion. */
  topOffenders(
    scope: RecordScope,
    dimension: OffenderDimension,
    limit: number,
  ): Promise<OffenderCounts[]>;
  /** Which rules fired, per group when `keys` is given (restricted to those keys), overall otherwise. */
  rulesFired(
    scope: RecordScope,
    dimension?: OffenderDimension,
    keys?: string[],
  ): Promise<RuleCount[]>;
  /** Records newest first (by time, then insertion order), at most `limit`. */
  listEvents(filter: EventFilter, limit: number): Promise<StoredEvent[]>;
}
