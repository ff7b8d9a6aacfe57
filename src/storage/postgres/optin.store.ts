import { and, asc, eq, gt, inArray, lt, lte, ne, sql } from 'drizzle-orm';
import type { LedgerEntry, ListRecord, OptinStore, StoredLedgerEntry, SubscriberRecord } from '../../optin/optin.store.js';
import type { PostgresDb } from './db.js';
import { optinConsentLedger, optinLedgerRetention, optinLists, optinSubscribers } from './schema.js';

const asList = (row: typeof optinLists.$inferSelect): ListRecord => ({ ...row, templates: JSON.parse(row.templates) as ListRecord['templates'] });
const asSubscriber = (row: typeof optinSubscribers.$inferSelect): SubscriberRecord => row as SubscriberRecord;
const asEntry = (row: typeof optinConsentLedger.$inferSelect): StoredLedgerEntry =>
  ({ ...row, details: row.details === null ? null : (JSON.parse(row.details) as Record<string, unknown>) }) as StoredLedgerEntry;

type Tx = Parameters<Parameters<PostgresDb['transaction']>[0]>[0];

/** The only write the ledger ever gets: INSERT. */
async function appendIn(db: PostgresDb | Tx, entries: LedgerEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.insert(optinConsentLedger).values(entries.map((e) => ({ ...e, details: e.details === null ? null : JSON.stringify(e.details) })));
}

/**
 * PostgreSQL implementation (see storage/sqlite/optin.store.ts for the contracts). Every transition
 * is one guarded statement: a concurrent writer of the same row waits for its lock, then PostgreSQL
 * re-checks the guard against the committed row (READ COMMITTED), so exactly one caller sees it
 * change. A transition and its ledger entries commit in one transaction. The ledger's append-only
 * triggers live in the migration (migrations/postgres/0000_init.sql), not here.
 */
export function createPostgresOptinStore(db: PostgresDb): OptinStore {
  const s = optinSubscribers;
  const byCreation = [asc(optinLists.createdAt), asc(optinLists.id)];

  return {
    async createList(list) {
      await db.insert(optinLists).values({ ...list, templates: JSON.stringify(list.templates) });
    },

    async findList(app, id) {
      const [row] = await db.select().from(optinLists).where(and(eq(optinLists.app, app), eq(optinLists.id, id)));
      return row ? asList(row) : undefined;
    },

    async listLists(app) {
      const rows = await db.select().from(optinLists).where(eq(optinLists.app, app)).orderBy(...byCreation);
      return rows.map(asList);
    },

    async listsBySender(sender) {
      const rows = await db.select().from(optinLists).where(eq(optinLists.sender, sender)).orderBy(...byCreation);
      return rows.map(asList);
    },

    async openSignup(input, evidence) {
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
      // ON CONFLICT DO UPDATE is atomic even when two callers insert a new (list, number) at once:
      // the second waits on the unique index, then updates the first one's row.
      const row = await db.transaction(async (tx) => {
        const [changed] = await tx
          .insert(s)
          .values({ id: input.id, app: input.app, listId: input.listId, number: input.number, ...fresh })
          .onConflictDoUpdate({ target: [s.listId, s.number], set: fresh, setWhere: ne(s.status, 'confirmed') })
          .returning();
        if (changed) await appendIn(tx, evidence);
        return changed;
      });
      return row ? asSubscriber(row) : undefined;
    },

    async findSubscriber(listId, number) {
      const [row] = await db.select().from(s).where(and(eq(s.listId, listId), eq(s.number, number)));
      return row ? asSubscriber(row) : undefined;
    },

    async reserveAttempt(listId, number, signupId, now) {
      const [row] = await db
        .update(s)
        .set({ attempts: sql`${s.attempts} + 1`, updatedAt: now })
        .where(and(eq(s.listId, listId), eq(s.number, number), eq(s.signupId, signupId), eq(s.status, 'pending'), gt(s.expiresAt, now), lt(s.attempts, s.maxAttempts)))
        .returning({ attempts: s.attempts });
      return row?.attempts;
    },

    async confirmPending(listId, number, signupId, now, evidence) {
      const row = await db.transaction(async (tx) => {
        const [changed] = await tx
          .update(s)
          .set({ status: 'confirmed', confirmedAt: now, codeHash: null, updatedAt: now })
          .where(and(eq(s.listId, listId), eq(s.number, number), eq(s.signupId, signupId), eq(s.status, 'pending'), gt(s.expiresAt, now)))
          .returning();
        if (changed) await appendIn(tx, evidence);
        return changed;
      });
      return row ? asSubscriber(row) : undefined;
    },

    async unsubscribe(listId, number, now, evidence) {
      const row = await db.transaction(async (tx) => {
        const [changed] = await tx
          .update(s)
          .set({ status: 'unsubscribed', unsubscribedAt: now, codeHash: null, updatedAt: now })
          .where(and(eq(s.listId, listId), eq(s.number, number), inArray(s.status, ['pending', 'confirmed'])))
          .returning();
        if (changed) await appendIn(tx, evidence(asSubscriber(changed)));
        return changed;
      });
      return row ? asSubscriber(row) : undefined;
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
          .where(and(eq(s.status, 'pending'), lte(s.expiresAt, now)))
          .limit(limit)
          .for('update', { skipLocked: true });
        if (due.length === 0) return [];
        const changed = (
          await tx
            .update(s)
            .set({ status: 'expired', codeHash: null, updatedAt: now })
            .where(and(inArray(s.id, due.map((row) => row.id)), eq(s.status, 'pending'), lte(s.expiresAt, now)))
            .returning()
        ).map(asSubscriber);
        await appendIn(tx, changed.map(evidence));
        return changed;
      });
    },

    async page(listId, status, after, limit) {
      const rows = await db
        .select()
        .from(s)
        .where(and(eq(s.listId, listId), status ? eq(s.status, status) : undefined, after ? gt(s.id, after) : undefined))
        .orderBy(asc(s.id))
        .limit(limit);
      return rows.map(asSubscriber);
    },

    async appendLedger(entries) {
      await appendIn(db, entries);
    },

    async ledgerFor(listId, number) {
      const rows = await db
        .select()
        .from(optinConsentLedger)
        .where(and(eq(optinConsentLedger.listId, listId), eq(optinConsentLedger.number, number)))
        .orderBy(asc(optinConsentLedger.id));
      return rows.map(asEntry);
    },

    async purgeLedgerBefore(cutoff) {
      // The delete trigger lets through only rows older than purge_before, which is non-zero only
      // inside this transaction: its UPDATE holds the retention row's lock until COMMIT, so other
      // sessions keep reading 0 (and a concurrent purge waits its turn).
      return db.transaction(async (tx) => {
        await tx.update(optinLedgerRetention).set({ purgeBefore: cutoff }).where(eq(optinLedgerRetention.id, 1));
        const result = await tx.delete(optinConsentLedger).where(lt(optinConsentLedger.at, cutoff));
        await tx.update(optinLedgerRetention).set({ purgeBefore: 0 }).where(eq(optinLedgerRetention.id, 1));
        return result.rowCount ?? 0;
      });
    },
  };
}
