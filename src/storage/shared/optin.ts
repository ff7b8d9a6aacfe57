import { and, asc, eq, gt, inArray, lt, lte, ne, sql, type SQL } from 'drizzle-orm';
import type {
  LedgerEntry,
  ListRecord,
  SignupInput,
  StoredLedgerEntry,
  SubscriberRecord,
  SubscriberStatus,
} from '../../optin/optin.store.js';
import type { Columns, RowOf } from './sql.js';

/**
 * The rules of the opt-in store (optin/optin.store.ts), the same on both dialects: how lists and
 * ledger entries are stored (JSON in text columns), which generation a transition may change, and
 * what it writes. The dialect stores run each transition with its ledger entries in one transaction.
 */

type Lists = Columns<'id' | 'app' | 'sender' | 'createdAt'>;
type Subscribers = Columns<
  'id' | 'listId' | 'number' | 'status' | 'signupId' | 'attempts' | 'maxAttempts' | 'expiresAt'
>;
type Ledger = Columns<'id' | 'listId' | 'number'>;

/** The consent ledger's retention row: its `purge_before` is non-zero only inside the retention purge. */
export const LEDGER_RETENTION_ID = 1;

export function listRow(list: ListRecord) {
  return { ...list, templates: JSON.stringify(list.templates) };
}

export function asList(
  row: Omit<RowOf<ListRecord>, 'templates'> & { templates: string },
): ListRecord {
  return { ...row, templates: JSON.parse(row.templates) as ListRecord['templates'] };
}

export function asSubscriber(row: RowOf<SubscriberRecord>): SubscriberRecord {
  return row as SubscriberRecord;
}

/** The only write the ledger ever gets: INSERT of these rows. */
export function ledgerRows(entries: readonly LedgerEntry[]) {
  return entries.map((e) => ({
    ...e,
    details: e.details === null ? null : JSON.stringify(e.details),
  }));
}

export function asEntry(
  row: Omit<RowOf<StoredLedgerEntry>, 'details'> & { details: string | null },
): StoredLedgerEntry {
  return {
    ...row,
    details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>),
  } as StoredLedgerEntry;
}

export function listOfApp(l: Lists, app: string, id: string): SQL | undefined {
  return and(eq(l.app, app), eq(l.id, id));
}

/** Lists oldest first, then by id (two lists created in the same millisecond). */
export function byCreation(l: Lists): SQL[] {
  return [asc(l.createdAt), asc(l.id)];
}

/** A new generation of a sign-up: pending, its own code and window, no attempt yet. */
export function freshSignup(input: SignupInput) {
  return {
    status: 'pending',
    signupId: input.signupId,
    codeHash: input.codeHash,
    attempts: 0,
    maxAttempts: input.maxAttempts,
    locale: input.locale,
    requestedAt: input.now,
    expiresAt: input.expiresAt,
    confirmedAt: null,
    unsubscribedAt: null,
    updatedAt: input.now,
  };
}

/**
 * openSignup as one upsert on (list_id, number): the subscriber row, or, when present, the fresh
 * generation over it unless confirmed (`setWhere`). ON CONFLICT DO UPDATE is atomic even when two
 * callers insert a new (list, number) at once: the second waits on the unique index, then updates
 * the first one's row.
 */
export function signupUpsert(s: Subscribers, input: SignupInput) {
  const fresh = freshSignup(input);
  return {
    values: { id: input.id, app: input.app, listId: input.listId, number: input.number, ...fresh },
    set: fresh,
    setWhere: ne(s.status, 'confirmed'),
  };
}

export function subscriberOf(s: Subscribers, listId: string, number: string): SQL | undefined {
  return and(eq(s.listId, listId), eq(s.number, number));
}

/** The generation `signupId` of (list, number) while pending and unexpired: the only one a code may confirm. */
function openGeneration(
  s: Subscribers,
  listId: string,
  number: string,
  signupId: string,
  now: number,
): SQL[] {
  return [
    eq(s.listId, listId),
    eq(s.number, number),
    eq(s.signupId, signupId),
    eq(s.status, 'pending'),
    gt(s.expiresAt, now),
  ];
}

/** reserveAttempt's guard: the open generation with an attempt left. */
export function attemptable(
  s: Subscribers,
  listId: string,
  number: string,
  signupId: string,
  now: number,
): SQL | undefined {
  return and(...openGeneration(s, listId, number, signupId, now), lt(s.attempts, s.maxAttempts));
}

export function attemptSet(s: Subscribers, now: number) {
  return { attempts: sql`${s.attempts} + 1`, updatedAt: now };
}

export function confirmable(
  s: Subscribers,
  listId: string,
  number: string,
  signupId: string,
  now: number,
): SQL | undefined {
  return and(...openGeneration(s, listId, number, signupId, now));
}

/** Confirmed: the code is forgotten, it can never be used again. */
export function confirmedSet(now: number) {
  return { status: 'confirmed', confirmedAt: now, codeHash: null, updatedAt: now };
}

export function unsubscribable(s: Subscribers, listId: string, number: string): SQL | undefined {
  return and(
    eq(s.listId, listId),
    eq(s.number, number),
    inArray(s.status, ['pending', 'confirmed']),
  );
}

export function unsubscribedSet(now: number) {
  return { status: 'unsubscribed', unsubscribedAt: now, codeHash: null, updatedAt: now };
}

/** Pending sign-ups whose window has ended at `now`: what expireDue picks, and repeats in its UPDATE. */
export function expiring(s: Subscribers, now: number): SQL[] {
  return [eq(s.status, 'pending'), lte(s.expiresAt, now)];
}

export function expiredSet(now: number) {
  return { status: 'expired', codeHash: null, updatedAt: now };
}

/** A page of a list by id after the cursor, optionally in one status. */
export function pageOf(
  s: Subscribers,
  listId: string,
  status: SubscriberStatus | undefined,
  after: string | undefined,
): SQL | undefined {
  return and(
    eq(s.listId, listId),
    status ? eq(s.status, status) : undefined,
    after ? gt(s.id, after) : undefined,
  );
}

export function trailOf(ledger: Ledger, listId: string, number: string): SQL | undefined {
  return and(eq(ledger.listId, listId), eq(ledger.number, number));
}
