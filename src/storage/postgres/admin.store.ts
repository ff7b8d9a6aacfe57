import { and, asc, eq, isNull } from 'drizzle-orm';
import type { ApiKeyStore, AppStore } from '../../admin/admin.store.js';
import type { PostgresDb } from './db.js';
import { apiKeys, apps } from './schema.js';

export function createPostgresApiKeyStore(db: PostgresDb): ApiKeyStore {
  const toRecord = (row: typeof apiKeys.$inferSelect) => ({ ...row, scopes: row.scopes.split(' ').filter(Boolean) });
  return {
    async insert(key) {
      await db.insert(apiKeys).values({ ...key, scopes: key.scopes.join(' ') });
    },
    async findActive(id) {
      const [row] = await db
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
      return row ? toRecord(row) : undefined;
    },
    async list() {
      return (await db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))).map(toRecord);
    },
    async revoke(id, now) {
      const rows = await db
        .update(apiKeys)
        .set({ revokedAt: now })
        .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
        .returning({ id: apiKeys.id });
      return rows.length === 1;
    },
  };
}

export function createPostgresAppStore(db: PostgresDb): AppStore {
  return {
    async get(name) {
      const [row] = await db.select().from(apps).where(eq(apps.name, name));
      return row;
    },
    async ensure(name, now) {
      await db.insert(apps).values({ name, createdAt: now, updatedAt: now }).onConflictDoNothing();
    },
    async upsert(name, settings, now) {
      const [row] = await db
        .insert(apps)
        .values({ name, ...settings, createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: apps.name, set: { ...settings, updatedAt: now } })
        .returning();
      return row!;
    },
  };
}
