import { asc, eq, sql } from 'drizzle-orm';
import type { ApiKeyStore, AppStore } from '../../admin/admin.store.js';
import * as rules from '../shared/admin.js';
import type { SqliteDb } from './db.js';
import { apiKeys, apps } from './schema.js';

export function createSqliteApiKeyStore(db: SqliteDb): ApiKeyStore {
  const active = db.select().from(apiKeys).where(rules.activeKey(apiKeys, sql.placeholder('id'))).prepare();
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
      return Promise.resolve(db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt)).all().map(rules.asApiKey));
    },
    revoke(id, now) {
      return Promise.resolve(db.update(apiKeys).set({ revokedAt: now }).where(rules.activeKey(apiKeys, id)).returning({ id: apiKeys.id }).get() !== undefined);
    },
  };
}

export function createSqliteAppStore(db: SqliteDb): AppStore {
  const byName = db.select().from(apps).where(eq(apps.name, sql.placeholder('name'))).prepare();
  return {
    get(name) {
      return Promise.resolve(byName.get({ name }));
    },
    ensure(name, now) {
      db.insert(apps).values(rules.newApp(name, now)).onConflictDoNothing().run();
      return Promise.resolve();
    },
    upsert(name, settings, now) {
      const { values, set } = rules.appUpsert(name, settings, now);
      return Promise.resolve(db.insert(apps).values(values).onConflictDoUpdate({ target: apps.name, set }).returning().get());
    },
  };
}
