import { desc } from 'drizzle-orm';
import type { SigningKeyStore } from '../../tokens/signing-keys.store.js';
import * as rules from '../shared/admin.js';
import type { SqliteDb } from './db.js';
import { signingKeys } from './schema.js';

export function createSqliteSigningKeyStore(db: SqliteDb): SigningKeyStore {
  const k = signingKeys;
  return {
    listPublishable(retiredAfter) {
      return Promise.resolve(
        db
          .select()
          .from(k)
          .where(rules.publishable(k, retiredAfter))
          .orderBy(desc(k.createdAt))
          .all(),
      );
    },
    insert(key) {
      db.insert(k).values(key).onConflictDoNothing().run();
      return Promise.resolve();
    },
    retireAllExcept(kid, now) {
      db.update(k).set({ retiredAt: now }).where(rules.activeExcept(k, kid)).run();
      return Promise.resolve();
    },
  };
}
