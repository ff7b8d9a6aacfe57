/** Storage of marketing lists, subscribers and the consent ledger. SQLite: storage/sqlite/optin.store.ts. */

export type SubscriberStatus = 'pending' | 'confirmed' | 'unsubscribed' | 'expired';

export interface ListTemplates {
  confirmation?: string | undefined;
  stopped?: string | undefined;
  help?: string | undefined;
}

export interface ListRecord {
  id: string;
  app: string;
  name: string;
  brand: string;
  sender: string;
  windowSeconds: number;
  /** Per locale (en, fr, …); missing entries use the built-in texts. */
  templates: Record<string, ListTemplates>;
  helpContact: string | null;
  createdAt: number;
}

export interface SubscriberRecord {
  id: string;
  app: string;
  listId: string;
  number: string;
  status: SubscriberStatus;
  signupId: string;
  codeHash: string | null;
  attempts: number;
  maxAttempts: number;
  locale: string;
  requestedAt: number;
  expiresAt: number;
  confirmedAt: number | null;
  unsubscribedAt: number | null;
  updatedAt: number;
}

export type LedgerType =
  | 'requested'
  | 'message_sent'
  | 'message_failed'
  | 'reply_received'
  | 'confirmed'
  | 'expired'
  | 'unsubscribed'
  | 'help_sent';

/** One entry of the append-only consent ledger. */
export interface LedgerEntry {
  at: number;
  app: string;
  listId: string;
  number: string;
  signupId: string | null;
  type: LedgerType;
  channel: 'api' | 'sms' | 'web' | 'system';
  ip: string | null;
  userAgent: string | null;
  source: string | null;
  consentText: string | null;
  consentTextVersion: string | null;
  text: string | null;
  textSha256: string | null;
  details: Record<string, unknown> | null;
}

export interface StoredLedgerEntry extends LedgerEntry {
  id: number;
}

/** A new sign-up generation for (list, number). */
export interface SignupInput {
  id: string;
  app: string;
  listId: string;
  number: string;
  signupId: string;
  codeHash: string;
  maxAttempts: number;
  locale: string;
  now: number;
  expiresAt: number;
}

export interface OptinStore {
  createList(list: ListRecord): Promise<void>;
  findList(app: string, id: string): Promise<ListRecord | undefined>;
  listLists(app: string): Promise<ListRecord[]>;
  /** Every list sending from `sender`, oldest first. */
  listsBySender(sender: string): Promise<ListRecord[]>;

  /**
   * Opens a new pending sign-up for (list, number): inserts it, or restarts an existing row that is
   * not confirmed (pending, expired or unsubscribed) with a new generation, code and window, in one
   * INSERT … ON CONFLICT DO UPDATE … WHERE status <> 'confirmed'. Returns undefined when the number
   * is already confirmed (nothing changed). Concurrent calls: each succeeds in turn and the last
   * generation wins; only its code confirms. `evidence` is appended to the ledger in the same
   * transaction when (and only when) the row changed.
   */
  openSignup(input: SignupInput, evidence: LedgerEntry[]): Promise<SubscriberRecord | undefined>;
  findSubscriber(listId: string, number: string): Promise<SubscriberRecord | undefined>;
  /**
   * Counts one confirmation attempt on the pending, unexpired generation `signupId` if it has
   * attempts left. Returns the attempt count after the increment, or undefined when none was
   * reserved. Atomic: N concurrent callers never reserve more than the attempts left.
   */
  reserveAttempt(
    listId: string,
    number: string,
    signupId: string,
    now: number,
  ): Promise<number | undefined>;
  /**
   * pending → confirmed, only for this generation while it is pending and unexpired. Exactly one of
   * concurrent callers receives the row. `evidence` is appended in the same transaction on success.
   */
  confirmPending(
    listId: string,
    number: string,
    signupId: string,
    now: number,
    evidence: LedgerEntry[],
  ): Promise<SubscriberRecord | undefined>;
  /**
   * pending|confirmed → unsubscribed for one (list, number). Returns the row as it was changed, or
   * undefined when it was not subscribed or pending (nothing changed). Exactly one concurrent caller
   * receives the row. `evidence(row)` is appended in the same transaction on success.
   */
  unsubscribe(
    listId: string,
    number: string,
    now: number,
    evidence: (row: SubscriberRecord) => LedgerEntry[],
  ): Promise<SubscriberRecord | undefined>;
  /**
   * pending → expired for every pending sign-up whose window has ended (at most `limit`). Each
   * expired row is returned to exactly one caller, however many sweeps run at once, and its
   * `expired` ledger entry (built by `evidence`) is written in the same transaction.
   */
  expireDue(
    now: number,
    limit: number,
    evidence: (row: SubscriberRecord) => LedgerEntry,
  ): Promise<SubscriberRecord[]>;
  /** A page of a list's subscribers in a status, by id, after the cursor (an id). */
  page(
    listId: string,
    status: SubscriberStatus | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<SubscriberRecord[]>;

  /** Appends entries to the consent ledger. The store offers no way to change or remove one, except purgeLedgerBefore. */
  appendLedger(entries: LedgerEntry[]): Promise<void>;
  /** The trail of one number on one list, oldest first. */
  ledgerFor(listId: string, number: string): Promise<StoredLedgerEntry[]>;
  /** The retention policy: deletes ledger entries older than `cutoff`; returns how many. */
  purgeLedgerBefore(cutoff: number): Promise<number>;
}
