import { asc, eq, sql } from 'drizzle-orm';
import type { ApiKeyStore, AppStore } from '../../admin/admin.store.js';
import * as rules from '../shared/admin.js';
import type { SqliteDb } from './db.js';
import { apiKeys, apps } from './schema.js';

export function createSqliteApiKeyStore(db: SqliteDb): ApiKeyStore {
  const active = db
    .select()
    .from(apiKeys)
    .where(rules.activeKey(apiKeys, sql.placeholder('id')))
    .prepare();
  return {
    insert(key) {
      db.insert(apiKeys).values(rules.apiKeyRow(key)).run();
      return Promise.resolve();
    },
    findActive(id) {
      const row = active.get({ id });
      return Promise.resolve(row && rules.asApiKey(row));
    },
    list() {
      return Promise.resolve(
        db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt)).all().map(rules.asApiKey),
      );
    },
    revoke(id, now) {
      return Promise.resolve(
        db
          .update(apiKeys)
          .set({ revokedAt: now })
          .where(rules.activeKey(apiKeys, id))
          .returning({ id: apiKeys.id })
          .get() !== undefined,
      );
    },
  };
}

export function createSqliteAppStore(db: SqliteDb): AppStore {
  const byName = db
    .select()
    .from(apps)
    .where(eq(apps.name, sql.placeholder('name')))
    .prepare();
  const bySid = db
    .select()
    .from(apps)
    .where(eq(apps.twilioServiceSid, sql.placeholder('sid')))
    .prepare();
  return {
    get(name) {
      return Promise.resolve(byName.get({ name }));
    },
    findByServiceSid(sid) {
      return Promise.resolve(bySid.get({ sid }));
    },
    list({ offset, limit }) {
      return Promise.resolve(
        db
          .select()
          .from(apps)
          .orderBy(asc(apps.createdAt), asc(apps.name))
          .limit(limit)
          .offset(offset)
          .all(),
      );
    },
    ensure(name, now) {
      db.insert(apps).values(rules.newApp(name, now)).onConflictDoNothing().run();
      return Promise.resolve();
    },
    create(name, settings, now) {
      const row = db
        .insert(apps)
        .values(rules.newApp(name, now, settings))
        .onConflictDoNothing()
        .returning()
        .get();
      return Promise.resolve(row);
    },
    upsert(name, settings, now) {
      const { values, set } = rules.appUpsert(name, settings, now);
      return Promise.resolve(
        db
          .insert(apps)
          .values(values)
          .onConflictDoUpdate({ target: apps.name, set })
          .returning()
          .get(),
      );
    },
    remove(name) {
      const row = db.delete(apps).where(eq(apps.name, name)).returning({ name: apps.name }).get();
      return Promise.resolve(row !== undefined);
    },
  };
}
