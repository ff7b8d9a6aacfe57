/** One entry of the failure/event record, written for every failure and for notable successes. */
export interface EventRecord {
  at: number;
  /** `audit` records access to protected data (e.g. a report that revealed full numbers). */
  kind: 'failure' | 'success' | 'audit';
  /** A failure reason (incorrect_code, invalid_phone, …) or a success (started, delivered, approved). */
  reason: string;
  app?: string | undefined;
  rule?: string | undefined;
  details?: Record<string, unknown> | undefined;
  channel?: string | undefined;
  provider?: string | undefined;
  providerError?: string | undefined;
  /** E.164. Stored only as a keyed hash, an encrypted value and its prefix (see number-protection.ts). */
  number?: string | undefined;
  country?: string | undefined;
  numberType?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  verificationId?: string | undefined;
}

/** Appends one record to the event log; rejects only when the database is unavailable. */
export interface EventRecorder {
  record(event: EventRecord): Promise<void>;
  /**
   * Told of an event a store appended itself, in the same write as its own change (e.g.
   * VerificationStore.create): counts it as record() would (metrics), without writing it again.
   */
  counted?(event: EventRecord): void;
}
