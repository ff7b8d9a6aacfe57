import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import type { LedgerEntry, OptinStore } from '../../optin/optin.store.js';
import * as rules from '../shared/optin.js';
import type { PostgresDb } from './db.js';
import {
  optinConsentLedger,
  optinLedgerRetention,
  optinLists,
  optinSubscribers,
} from './schema.js';

type Tx = Parameters<Parameters<PostgresDb['transaction']>[0]>[0];

async function appendIn(db: PostgresDb | Tx, entries: LedgerEntry[]): Promise<void> {
  if (entries.length > 0) await db.insert(optinConsentLedger).values(rules.ledgerRows(entries));
}

/**
 * PostgreSQL implementation of the rules in shared/optin.ts. Every transition is one guarded
 * statement: a concurrent writer of the same row waits for its lock, then PostgreSQL re-checks the
 * guard against the committed row (READ COMMITTED), so exactly one caller sees it change. A
 * transition and its ledger entries commit in one transaction. The ledger's append-only triggers
 * live in the migration (migrations/postgres/0000_init.sql), not here.
 */
export function createPostgresOptinStore(db: PostgresDb): OptinStore {
  const l = optinLists;
  const s = optinSubscribers;

  return {
    async createList(list) {
      await db.insert(l).values(rules.listRow(list));
    },

    async findList(app, id) {
      const [row] = await db
        .select()
        .from(l)
        .where(rules.listOfApp(l, app, id));
      return row && rules.asList(row);
    },

    async listLists(app) {
      return (
        await db
          .select()
          .from(l)
          .where(eq(l.app, app))
          .orderBy(...rules.byCreation(l))
      ).map(rules.asList);
    },

    async listsBySender(sender) {
      return (
        await db
          .select()
          .from(l)
          .where(eq(l.sender, sender))
          .orderBy(...rules.byCreation(l))
      ).map(rules.asList);
    },

    async openSignup(input, evidence) {
      const { values, set, setWhere } = rules.signupUpsert(s, input);
      const row = await db.transaction(async (tx) => {
        const [changed] = await tx
          .insert(s)
          .values(values)
          .onConflictDoUpdate({ target: [s.listId, s.number], set, setWhere })
          .returning();
        if (changed) await appendIn(tx, evidence);
        return changed;
      });
      return row && rules.asSubscriber(row);
    },

    async findSubscriber(listId, number) {
      const [row] = await db
        .select()
        .from(s)
        .where(rules.subscriberOf(s, listId, number));
      return row && rules.asSubscriber(row);
    },

    async reserveAttempt(listId, number, signupId, now) {
      const [row] = await db
        .update(s)
        .set(rules.attemptSet(s, now))
        .where(rules.attemptable(s, listId, number, signupId, now))
        .returning({ attempts: s.attempts });
      return row?.attempts;
    },

    async confirmPending(listId, number, signupId, now, evidence) {
      const row = await db.transaction(async (tx) => {
        const [changed] = await tx
          .update(s)
          .set(rules.confirmedSet(now))
          .where(rules.confirmable(s, listId, number, signupId, now))
          .returning();
        if (changed) await appendIn(tx, evidence);
        return changed;
      });
      return row && rules.asSubscriber(row);
    },

    async unsubscribe(listId, number, now, evidence) {
      const row = await db.transaction(async (tx) => {
        const [changed] = await tx
          .update(s)
          .set(rules.unsubscribedSet(now))
          .where(rules.unsubscribable(s, listId, number))
          .returning();
        if (changed) await appendIn(tx, evidence(rules.asSubscriber(changed)));
        return changed;
      });
      return row && rules.asSubscriber(row);
    },

    async expireDue(now, limit, evidence) {
      return db.transaction(async (tx) => {
        // Two statements, not SQLite's `UPDATE … WHERE id IN (SELECT … LIMIT n)`: PostgreSQL may run
        // that subquery as the inner side of a nested loop, rescanned per row, and each rescan skips
        // the rows this statement already changed and takes the next ones: the limit stops holding
        // (measured: 30 rows for LIMIT 10). The rows chosen here stay locked until COMMIT; SKIP
        // LOCKED lets sweeps on several instances take disjoint batches instead of queueing.
        const due = await tx
          .select({ id: s.id })
          .from(s)
          .where(and(...rules.expiring(s, now)))
          .limit(limit)
          .for('update', { skipLocked: true });
        if (due.length === 0) return [];
        const ids = due.map((row) => row.id);
        const changed = (
          await tx
            .update(s)
            .set(rules.expiredSet(now))
            .where(and(inArray(s.id, ids), ...rules.expiring(s, now)))
            .returning()
        ).map(rules.asSubscriber);
        await appendIn(tx, changed.map(evidence));
        return changed;
      });
    },

    async page(listId, status, after, limit) {
      return (
        await db
          .select()
          .from(s)
          .where(rules.pageOf(s, listId, status, after))
          .orderBy(asc(s.id))
          .limit(limit)
      ).map(rules.asSubscriber);
    },

    async appendLedger(entries) {
      await appendIn(db, entries);
    },

    async ledgerFor(listId, number) {
      const ledger = optinConsentLedger;
      return (
        await db
          .select()
          .from(ledger)
          .where(rules.trailOf(ledger, listId, number))
          .orderBy(asc(ledger.id))
      ).map(rules.asEntry);
    },

    async purgeLedgerBefore(cutoff) {
      // The delete trigger lets through only rows older than purge_before, which is non-zero only
      // inside this transaction: its UPDATE holds the retention row's lock until COMMIT, so other
      // sessions keep reading 0 (and a concurrent purge waits its turn).
      const retention = optinLedgerRetention;
      return db.transaction(async (tx) => {
        await tx
          .update(retention)
          .set({ purgeBefore: cutoff })
          .where(eq(retention.id, rules.LEDGER_RETENTION_ID));
        const result = await tx.delete(optinConsentLedger).where(lt(optinConsentLedger.at, cutoff));
        await tx
          .update(retention)
          .set({ purgeBefore: 0 })
          .where(eq(retention.id, rules.LEDGER_RETENTION_ID));
        return result.rowCount ?? 0;
      });
    },
  };
}
