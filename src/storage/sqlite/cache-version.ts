import type { CacheVersion } from '../cache/caches.js';
import type { SqliteHandle } from './db.js';

/**
 * The caches' version on SQLite: `PRAGMA data_version`, which moves whenever another connection
 * (another instance, the CLI, a test's second app) commits to the file, plus this process's own
 * writes. Read on every cached read, so a change made anywhere applies to the next request: a
 * revoked key or a new blocklist entry is never served from a stale cache.
 */
export function sqliteCacheVersion(handle: SqliteHandle): CacheVersion {
  const dataVersion = handle.raw.prepare('PRAGMA data_version').pluck();
  let seen = dataVersion.get() as number;
  let version = 0;
  return {
    current: () => {
      const now = dataVersion.get() as number;
      if (now !== seen) {
        seen = now;
        version += 1;
      }
      return version;
    },
    changed: () => {
      version += 1;
    },
    close: () => Promise.resolve(),
  };
}
