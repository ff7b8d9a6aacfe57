import { asc, eq, sql } from 'drizzle-orm';
import type { ApiKeyStore, AppStore } from '../../admin/admin.store.js';
import * as rules from '../shared/admin.js';
import type { PostgresDb } from './db.js';
import { apiKeys, apps } from './schema.js';

export function createPostgresApiKeyStore(db: PostgresDb): ApiKeyStore {
  // Every request authenticates: prepared once (prepared.ts).
  const active = db
    .select()
    .from(apiKeys)
    .where(rules.activeKey(apiKeys, sql.placeholder('id')))
    .prepare('api_key_active');
  return {
    async insert(key) {
      await db.insert(apiKeys).values(rules.apiKeyRow(key));
    },
    async findActive(id) {
      const [row] = await active.execute({ id });
      return row && rules.asApiKey(row);
    },
    async list() {
      // Ties by id: PostgreSQL has no insertion order of its own.
      return (await db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))).map(
        rules.asApiKey,
      );
    },
    async revoke(id, now) {
      return (
        (
          await db
            .update(apiKeys)
            .set({ revokedAt: now })
            .where(rules.activeKey(apiKeys, id))
            .returning({ id: apiKeys.id })
        ).length === 1
      );
    },
  };
}

export function createPostgresAppStore(db: PostgresDb): AppStore {
  // Read by every start (brand, code length): prepared once (prepared.ts).
  const byName = db
    .select()
    .from(apps)
    .where(eq(apps.name, sql.placeholder('name')))
    .prepare('app_by_name');
  // Read by every /v2 request (its Service sid in the path): prepared once too.
  const bySid = db
    .select()
    .from(apps)
    .where(eq(apps.twilioServiceSid, sql.placeholder('sid')))
    .prepare('app_by_service_sid');
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
      return db
        .select()
        .from(apps)
        .orderBy(asc(apps.createdAt), asc(apps.name))
        .limit(limit)
        .offset(offset);
    },
    async ensure(name, now) {
      await db.insert(apps).values(rules.newApp(name, now)).onConflictDoNothing();
    },
    async create(name, settings, now) {
      const [row] = await db
        .insert(apps)
        .values(rules.newApp(name, now, settings))
        .onConflictDoNothing()
        .returning();
      return row;
    },
    async upsert(name, settings, now) {
      const { values, set } = rules.appUpsert(name, settings, now);
      const [row] = await db
        .insert(apps)
        .values(values)
        .onConflictDoUpdate({ target: apps.name, set })
        .returning();
      return row!;
    },
    async remove(name) {
      const rows = await db.delete(apps).where(eq(apps.name, name)).returning({ name: apps.name });
      return rows.length === 1;
    },
  };
}
