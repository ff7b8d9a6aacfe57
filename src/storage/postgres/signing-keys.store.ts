import { desc } from 'drizzle-orm';
import type { SigningKeyStore } from '../../tokens/signing-keys.store.js';
import * as rules from '../shared/admin.js';
import type { PostgresDb } from './db.js';
import { signingKeys } from './schema.js';

export function createPostgresSigningKeyStore(db: PostgresDb): SigningKeyStore {
  const k = signingKeys;
  return {
    listPublishable(retiredAfter) {
      // Ties by kid: the same newest key on every instance.
      return db
        .select()
        .from(k)
        .where(rules.publishable(k, retiredAfter))
        .orderBy(desc(k.createdAt), desc(k.kid));
    },
    async insert(key) {
      await db.insert(k).values(key).onConflictDoNothing();
    },
    async retireAllExcept(kid, now) {
      await db.update(k).set({ retiredAt: now }).where(rules.activeExcept(k, kid));
    },
  };
}
