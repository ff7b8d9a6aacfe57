import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import type { LedgerEntry, OptinStore } from '../../optin/optin.store.js';
import * as rules from '../shared/optin.js';
import type { SqliteDb } from './db.js';
import {
  optinConsentLedger,
  optinLedgerRetention,
  optinLists,
  optinSubscribers,
} from './schema.js';

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

type Tx = Parameters<Parameters<SqliteDb['transaction']>[0]>[0];

function appendIn(db: SqliteDb | Tx, entries: LedgerEntry[]): void {
  if (entries.length > 0) db.insert(optinConsentLedger).values(rules.ledgerRows(entries)).run();
}

/**
 * SQLite implementation of the rules in shared/optin.ts. Every state change is one guarded
 * statement (better-sqlite3 runs each atomically); a transition and its ledger entries commit
 * together in one synchronous IMMEDIATE transaction, so the evidence can never miss a change nor
 * record one that did not happen.
 */
export function createSqliteOptinStore(db: SqliteDb): OptinStore {
  for (const statement of LEDGER_TRIGGERS) db.$client.exec(statement);
  const l = optinLists;
  const s = optinSubscribers;
  const immediate = { behavior: 'immediate' } as const;

  return {
    createList(list) {
      db.insert(l).values(rules.listRow(list)).run();
      return Promise.resolve();
    },

    findList(app, id) {
      const row = db
        .select()
        .from(l)
        .where(rules.listOfApp(l, app, id))
        .get();
      return Promise.resolve(row && rules.asList(row));
    },

    listLists(app) {
      return Promise.resolve(
        db
          .select()
          .from(l)
          .where(eq(l.app, app))
          .orderBy(...rules.byCreation(l))
          .all()
          .map(rules.asList),
      );
    },

    listsBySender(sender) {
      return Promise.resolve(
        db
          .select()
          .from(l)
          .where(eq(l.sender, sender))
          .orderBy(...rules.byCreation(l))
          .all()
          .map(rules.asList),
      );
    },

    openSignup(input, evidence) {
      const { values, set, setWhere } = rules.signupUpsert(s, input);
      const row = db.transaction((tx) => {
        const changed = tx
          .insert(s)
          .values(values)
          .onConflictDoUpdate({ target: [s.listId, s.number], set, setWhere })
          .returning()
          .get();
        if (changed) appendIn(tx, evidence);
        return changed;
      }, immediate);
      return Promise.resolve(row && rules.asSubscriber(row));
    },

    findSubscriber(listId, number) {
      const row = db
        .select()
        .from(s)
        .where(rules.subscriberOf(s, listId, number))
        .get();
      return Promise.resolve(row && rules.asSubscriber(row));
    },

    reserveAttempt(listId, number, signupId, now) {
      const taken = db
        .update(s)
        .set(rules.attemptSet(s, now))
        .where(rules.attemptable(s, listId, number, signupId, now));
      return Promise.resolve(taken.returning({ attempts: s.attempts }).get()?.attempts);
    },

    confirmPending(listId, number, signupId, now, evidence) {
      const row = db.transaction((tx) => {
        const changed = tx
          .update(s)
          .set(rules.confirmedSet(now))
          .where(rules.confirmable(s, listId, number, signupId, now))
          .returning()
          .get();
        if (changed) appendIn(tx, evidence);
        return changed;
      }, immediate);
      return Promise.resolve(row && rules.asSubscriber(row));
    },

    unsubscribe(listId, number, now, evidence) {
      const row = db.transaction((tx) => {
        const changed = tx
          .update(s)
          .set(rules.unsubscribedSet(now))
          .where(rules.unsubscribable(s, listId, number))
          .returning()
          .get();
        if (changed) appendIn(tx, evidence(rules.asSubscriber(changed)));
        return changed;
      }, immediate);
      return Promise.resolve(row && rules.asSubscriber(row));
    },

    expireDue(now, limit, evidence) {
      const rows = db.transaction((tx) => {
        const due = tx
          .select({ id: s.id })
          .from(s)
          .where(and(...rules.expiring(s, now)))
          .limit(limit);
        const expired = tx
          .update(s)
          .set(rules.expiredSet(now))
          .where(and(inArray(s.id, due), ...rules.expiring(s, now)))
          .returning();
        const changed = expired.all().map(rules.asSubscriber);
        appendIn(tx, changed.map(evidence));
        return changed;
      }, immediate);
      return Promise.resolve(rows);
    },

    page(listId, status, after, limit) {
      const rows = db
        .select()
        .from(s)
        .where(rules.pageOf(s, listId, status, after))
        .orderBy(asc(s.id))
        .limit(limit)
        .all();
      return Promise.resolve(rows.map(rules.asSubscriber));
    },

    appendLedger(entries) {
      appendIn(db, entries);
      return Promise.resolve();
    },

    ledgerFor(listId, number) {
      const ledger = optinConsentLedger;
      const rows = db
        .select()
        .from(ledger)
        .where(rules.trailOf(ledger, listId, number))
        .orderBy(asc(ledger.id))
        .all();
      return Promise.resolve(rows.map(rules.asEntry));
    },

    purgeLedgerBefore(cutoff) {
      const retention = optinLedgerRetention;
      const deleted = db.transaction((tx) => {
        tx.update(retention)
          .set({ purgeBefore: cutoff })
          .where(eq(retention.id, rules.LEDGER_RETENTION_ID))
          .run();
        const result = tx.delete(optinConsentLedger).where(lt(optinConsentLedger.at, cutoff)).run();
        tx.update(retention)
          .set({ purgeBefore: 0 })
          .where(eq(retention.id, rules.LEDGER_RETENTION_ID))
          .run();
        return result.changes;
      }, immediate);
      return Promise.resolve(deleted);
    },
  };
}
