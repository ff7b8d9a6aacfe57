import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { newServiceSid, type ApiKeyStore, type AppStore } from '../../admin/admin.store.js';
import type { SqliteDb } from './db.js';
import { apiKeys, apps } from './schema.js';

export function createSqliteApiKeyStore(db: SqliteDb): ApiKeyStore {
  const toRecord = (row: typeof apiKeys.$inferSelect) => ({ ...row, scopes: row.scopes.split(' ').filter(Boolean) });
  const active = db.select().from(apiKeys).where(and(eq(apiKeys.id, sql.placeholder('id')), isNull(apiKeys.revokedAt))).prepare();
  return {
    insert(key) {
      db.insert(apiKeys).values({ ...key, scopes: key.scopes.join(' ') }).run();
      return Promise.resolve();
    },
    findActive(id) {
      const row = active.get({ id });
      return Promise.resolve(row ? toRecord(row) : undefined);
    },
    list() {
      return Promise.resolve(db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt)).all().map(toRecord));
    },
    revoke(id, now) {
      const row = db.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt))).returning({ id: apiKeys.id }).get();
      return Promise.resolve(row !== undefined);
    },
  };
}

export function createSqliteAppStore(db: SqliteDb): AppStore {
  const byName = db.select().from(apps).where(eq(apps.name, sql.placeholder('name'))).prepare();
  const bySid = db.select().from(apps).where(eq(apps.twilioServiceSid, sql.placeholder('sid'))).prepare();
  return {
    get(name) {
      return Promise.resolve(byName.get({ name }));
    },
    findByServiceSid(sid) {
      return Promise.resolve(bySid.get({ sid }));
    },
    list({ offset, limit }) {
      return Promise.resolve(db.select().from(apps).orderBy(asc(apps.createdAt), asc(apps.name)).limit(limit).offset(offset).all());
    },
    ensure(name, now) {
      db.insert(apps).values({ name, twilioServiceSid: newServiceSid(), createdAt: now, updatedAt: now }).onConflictDoNothing().run();
      return Promise.resolve();
    },
    create(name, settings, now) {
      const row = db
        .insert(apps)
        .values({ name, ...settings, twilioServiceSid: newServiceSid(), createdAt: now, updatedAt: now })
        .onConflictDoNothing()
        .returning()
        .get();
      return Promise.resolve(row);
    },
    upsert(name, settings, now) {
      const row = db
        .insert(apps)
        .values({ name, ...settings, twilioServiceSid: newServiceSid(), createdAt: now, updatedAt: now })
        .onConflictDoUpdate({ target: apps.name, set: { ...settings, updatedAt: now } })
        .returning()
        .get();
      return Promise.resolve(row);
    },
    remove(name) {
      const row = db.delete(apps).where(eq(apps.name, name)).returning({ name: apps.name }).get();
      return Promise.resolve(row !== undefined);
    },
  };
}
