import type { Logger } from '../platform/logger.js';
import type { CacheVersion } from '../storage/cache/caches.js';
import type { Database } from '../storage/database.js';
import { postgresCacheVersion } from '../storage/postgres/cache-version.js';
import { sqliteCacheVersion } from '../storage/sqlite/cache-version.js';

/**
 * What tells the in-process caches of apps, API keys, per-app limits and the blocklist
 * (storage/cache/caches.ts) that the data changed: on SQLite the file's data_version, checked on
 * every read (a change anywhere applies to the next request); on PostgreSQL the otp_cache
 * notifications and a poll of cache_version every 500 ms (a change on another instance applies
 * within 1 s; SECURITY.md, "Bounds on loss and staleness").
 */
export function createCacheVersion(database: Database, logger: Logger): Promise<CacheVersion> {
  if (database.kind === 'sqlite') return Promise.resolve(sqliteCacheVersion(database));
  return postgresCacheVersion(database, {
    onError: (error) =>
      logger.warn({ err: error.message }, 'cache invalidation: notifications or poll failed'),
  });
}
