import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { newServiceSid, type ApiKeyStore, type AppStore } from '../../admin/admin.store.js';
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
  // Read by every /v2 request (its Service sid in the path): prepared once too.
  const bySid = db.select().from(apps).where(eq(apps.twilioServiceSid, sql.placeholder('sid'))).prepare('app_by_service_sid');
  return {
    async get(name) {
      const [row] = await byName.execute({ name });
      return row;
    },
    async findByServiceSid(sid) {
      const [row] = await bySid.execute({ sid });
      return row;
    },
    async list({ offset, limit }) {
      return db.select().from(apps).orderBy(asc(apps.createdAt), asc(apps.name)).limit(limit).offset(offset);
    },
    async ensure(name, now) {
      await db.insert(apps).values({ name, twilioServiceSid: newServiceSid(), createdAt: now, updatedAt: now }).onConflictDoNothing();
    },
    async create(name, settings, now) {
      const [row] = await db
        .insert(apps)
        .values({ name, ...settings, twilioServiceSid: newServiceSid(), createdAt: now, updatedAt: now })
        .onConflictDoNothing()
        .returning();
      return row;
    },
    async upsert(name, settings, now) {
      const [row] = await db
        .insert(apps)
        .values({ name, ...settings, twilioServiceSid: newServiceSid(), createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: apps.name, set: { ...settings, updatedAt: now } })
        .returning();
      return row!;
    },
    async remove(name) {
      const rows = await db.delete(apps).where(eq(apps.name, name)).returning({ name: apps.name });
      return rows.length === 1;
    },
  };
}
