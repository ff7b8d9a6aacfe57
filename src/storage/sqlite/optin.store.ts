import { and, asc, eq, gt, inArray, lt, lte, ne, sql } from 'drizzle-orm';
import type { LedgerEntry, ListRecord, OptinStore, StoredLedgerEntry, SubscriberRecord } from '../../optin/optin.store.js';
import type { SqliteDb } from './db.js';
import { optinConsentLedger, optinLedgerRetention, optinLists, optinSubscribers } from './schema.js';

/**
 * Defence in depth for the ledger: even SQL run outside this store cannot rewrite history. UPDATE
 * is always refused; DELETE only for rows older than the cutoff the retention purge sets (and
 * resets) inside its own transaction. Created here, idempotently, so they survive a regeneration
 * of the drizzle migrations.
 */
const LEDGER_TRIGGERS = [
  `INSERT OR IGNORE INTO optin_ledger_retention (id, purge_before) VALUES (1, 0)`,
  `CREATE TRIGGER IF NOT EXISTS optin_consent_ledger_no_update BEFORE UPDATE ON optin_consent_ledger
   BEGIN SELECT RAISE(ABORT, 'optin_consent_ledger is append-only'); END`,
  `CREATE TRIGGER IF NOT EXISTS optin_consent_ledger_no_delete BEFORE DELETE ON optin_consent_ledger
   WHEN OLD.at >= COALESCE((SELECT purge_before FROM optin_ledger_retention WHERE id = 1), 0)
   BEGIN SELECT RAISE(ABORT, 'optin_consent_ledger is append-only (only the retention purge deletes)'); END`,
];

const asList = (row: typeof optinLists.$inferSelect): ListRecord => ({ ...row, templates: JSON.parse(row.templates) as ListRecord['templates'] });
const asSubscriber = (row: typeof optinSubscribers.$inferSelect): SubscriberRecord => row as SubscriberRecord;
const asEntry = (row: typeof optinConsentLedger.$inferSelect): StoredLedgerEntry =>
  ({ ...row, details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>) }) as StoredLedgerEntry;

type Tx = Parameters<Parameters<SqliteDb['transaction']>[0]>[0];

/** The only write the ledger ever gets: INSERT. */
function appendIn(db: SqliteDb | Tx, entries: LedgerEntry[]): void {
  if (entries.length === 0) return;
  db.insert(optinConsentLedger)
    .values(entries.map((e) => ({ ...e, details: e.details === null ? null : JSON.stringify(e.details) })))
    .run();
}

/**
 * SQLite implementation. Every state change is one guarded statement (better-sqlite3 runs each
 * atomically); a transition and its ledger entries commit together in one synchronous IMMEDIATE
 * transaction, so the evidence can never miss a change nor record one that did not happen.
 */
export function createSqliteOptinStore(db: SqliteDb): OptinStore {
  for (const statement of LEDGER_TRIGGERS) db.$client.exec(statement);
  const s = optinSubscribers;

  return {
    createList(list) {
      db.insert(optinLists)
        .values({ ...list, templates: JSON.stringify(list.templates) })
        .run();
      return Promise.resolve();
    },

    findList(app, id) {
      const row = db.select().from(optinLists).where(and(eq(optinLists.app, app), eq(optinLists.id, id))).get();
      return Promise.resolve(row ? asList(row) : undefined);
    },

    listLists(app) {
      return Promise.resolve(db.select().from(optinLists).where(eq(optinLists.app, app)).orderBy(asc(optinLists.createdAt), asc(optinLists.id)).all().map(asList));
    },

    listsBySender(sender) {
      return Promise.resolve(db.select().from(optinLists).where(eq(optinLists.sender, sender)).orderBy(asc(optinLists.createdAt), asc(optinLists.id)).all().map(asList));
    },

    openSignup(input, evidence) {
      const fresh = {
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
      const row = db.transaction(
        (tx) => {
          const changed = tx
            .insert(s)
            .values({ id: input.id, app: input.app, listId: input.listId, number: input.number, ...fresh })
            .onConflictDoUpdate({ target: [s.listId, s.number], set: fresh, setWhere: ne(s.status, 'confirmed') })
            .returning()
            .get();
          if (changed) appendIn(tx, evidence);
          return changed;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(row ? asSubscriber(row) : undefined);
    },

    findSubscriber(listId, number) {
      const row = db.select().from(s).where(and(eq(s.listId, listId), eq(s.number, number))).get();
      return Promise.resolve(row ? asSubscriber(row) : undefined);
    },

    reserveAttempt(listId, number, signupId, now) {
      const row = db
        .update(s)
        .set({ attempts: sql`${s.attempts} + 1`, updatedAt: now })
        .where(and(eq(s.listId, listId), eq(s.number, number), eq(s.signupId, signupId), eq(s.status, 'pending'), gt(s.expiresAt, now), lt(s.attempts, s.maxAttempts)))
        .returning({ attempts: s.attempts })
        .get();
      return Promise.resolve(row?.attempts);
    },

    confirmPending(listId, number, signupId, now, evidence) {
      const row = db.transaction(
        (tx) => {
          const changed = tx
            .update(s)
            .set({ status: 'confirmed', confirmedAt: now, codeHash: null, updatedAt: now })
            .where(and(eq(s.listId, listId), eq(s.number, number), eq(s.signupId, signupId), eq(s.status, 'pending'), gt(s.expiresAt, now)))
            .returning()
            .get();
          if (changed) appendIn(tx, evidence);
          return changed;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(row ? asSubscriber(row) : undefined);
    },

    unsubscribe(listId, number, now, evidence) {
      const row = db.transaction(
        (tx) => {
          const changed = tx
            .update(s)
            .set({ status: 'unsubscribed', unsubscribedAt: now, codeHash: null, updatedAt: now })
            .where(and(eq(s.listId, listId), eq(s.number, number), inArray(s.status, ['pending', 'confirmed'])))
            .returning()
            .get();
          if (changed) appendIn(tx, evidence(asSubscriber(changed)));
          return changed;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(row ? asSubscriber(row) : undefined);
    },

    expireDue(now, limit, evidence) {
      const rows = db.transaction(
        (tx) => {
          const due = tx
            .select({ id: s.id })
            .from(s)
            .where(and(eq(s.status, 'pending'), lte(s.expiresAt, now)))
            .limit(limit);
          const changed = tx
            .update(s)
            .set({ status: 'expired', codeHash: null, updatedAt: now })
            .where(and(inArray(s.id, due), eq(s.status, 'pending'), lte(s.expiresAt, now)))
            .returning()
            .all()
            .map(asSubscriber);
          appendIn(tx, changed.map(evidence));
          return changed;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(rows);
    },

    page(listId, status, after, limit) {
      const rows = db
        .select()
        .from(s)
        .where(and(eq(s.listId, listId), status ? eq(s.status, status) : undefined, after ? gt(s.id, after) : undefined))
        .orderBy(asc(s.id))
        .limit(limit)
        .all();
      return Promise.resolve(rows.map(asSubscriber));
    },

    appendLedger(entries) {
      appendIn(db, entries);
      return Promise.resolve();
    },

    ledgerFor(listId, number) {
      const rows = db
        .select()
        .from(optinConsentLedger)
        .where(and(eq(optinConsentLedger.listId, listId), eq(optinConsentLedger.number, number)))
        .orderBy(asc(optinConsentLedger.id))
        .all();
      return Promise.resolve(rows.map(asEntry));
    },

    purgeLedgerBefore(cutoff) {
      const deleted = db.transaction(
        (tx) => {
          tx.update(optinLedgerRetention).set({ purgeBefore: cutoff }).where(eq(optinLedgerRetention.id, 1)).run();
          const result = tx.delete(optinConsentLedger).where(lt(optinConsentLedger.at, cutoff)).run();
          tx.update(optinLedgerRetention).set({ purgeBefore: 0 }).where(eq(optinLedgerRetention.id, 1)).run();
          return result.changes;
        },
        { behavior: 'immediate' },
      );
      return Promise.resolve(deleted);
    },
  };
}
