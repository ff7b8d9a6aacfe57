import { and, desc, gt, isNull, ne, or } from 'drizzle-orm';
import type { SigningKeyStore } from '../../verification/tokens.js';
import type { PostgresDb } from './db.js';
import { signingKeys } from './schema.js';

export function createPostgresSigningKeyStore(db: PostgresDb): SigningKeyStore {
  return {
    listPublishable(retiredAfter) {
      return db
        .select()
        .from(signingKeys)
        .where(or(isNull(signingKeys.retiredAt), gt(signingKeys.retiredAt, retiredAfter)))
        .orderBy(desc(signingKeys.createdAt), desc(signingKeys.kid)); // the same newest key on every instance, even for a tie
    },
    async insert(key) {
      await db.insert(signingKeys).values(key).onConflictDoNothing();
    },
    async retireAllExcept(kid, now) {
      await db
        .update(signingKeys)
        .set({ retiredAt: now })
        .where(and(ne(signingKeys.kid, kid), isNull(signingKeys.retiredAt)));
    },
  };
}
