import { and, desc, gt, isNull, ne, or } from 'drizzle-orm';
import type { SigningKeyStore } from '../../verification/tokens.js';
import type { SqliteDb } from './db.js';
import { signingKeys } from './schema.js';

export function createSqliteSigningKeyStore(db: SqliteDb): SigningKeyStore {
  return {
    listPublishable(retiredAfter) {
      return Promise.resolve(
        db
          .select()
          .from(signingKeys)
          .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, retiredAfter)))
          .orderBy(desc(signingKeys.createdAt))
          .all(),
      );
    },
    insert(key) {
      db.insert(signingKeys).values(key).onConflictDoNothing().run();
      return Promise.resolve();
    },
    retireAllExcept(kid, now) {
      db.update(signingKeys).set({ retiredAt: now }).where(and(ne(signingKeys.kid, kid), isNull(signingKeys.retiredAt))).run();
      return Promise.resolve();
    },
  };
}
