import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { ApiKeyStore, AppStore } from '../../admin/admin.store.js';
import type { PostgresDb } from './db.js';
import { apiKeys, apps } from './schema.js';

export function createPostgresApiKeyStore(db: PostgresDb): ApiKeyStore {
  const toRecord = (row: typeof apiKeys.$inferSelect) => ({ ...row, scopes: row.scopes.split(' ').filter(Boolean) });
  // Every request authenticates: prepared once (prepared.ts).
  const active = db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, sql.placeholder('id')), isNull(apiKeys.revokedAt)))
    .prepare('api_key_active');
  return {
    async insert(key) {
      await db.insert(apiKeys).values({ ...key, scopes: key.scopes.join(' ') });
    },
    async findActive(id) {
      const [row] = await active.execute({ id });
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
  // Read by every start (brand, code length): prepared once (prepared.ts).
  const byName = db.select().from(apps).where(eq(apps.name, sql.placeholder('name'))).prepare('app_by_name');
  return {
    async get(name) {
      const [row] = await byName.execute({ name });
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
