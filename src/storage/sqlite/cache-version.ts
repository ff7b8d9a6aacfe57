import type { CacheVersion } from '../cache/caches.js';
import type { SqliteHandle } from './db.js';

/**
 * The caches' version on SQLite: `PRAGMA data_version`, which moves whenever another connection
 * (another instance, the CLI, a test's second app) commits to the file, plus this process's own
 * writes. Read at the first cached read of every event-loop turn, so a change made anywhere applies
 * to the next request: a revoked key or a new blocklist entry is never served from a stale cache.
 */
export function sqliteCacheVersion(handle: SqliteHandle): CacheVersion {
  const dataVersion = handle.raw.prepare('PRAGMA data_version').pluck();
  let seen = dataVersion.get() as number;
  let version = 0;
  // Read once per event-loop turn (34 µs a read, measured; a start makes three cached reads): the
  // requests of one turn see the file as it was when the turn began, as if they had come first.
  let checkedThisTurn = false;
  const nextTurn = (): void => {
    checkedThisTurn = false;
  };
  return {
    current: () => {
      if (!checkedThisTurn) {
        checkedThisTurn = true;
        setImmediate(nextTurn);
        const now = dataVersion.get() as number;
        if (now !== seen) {
          seen = now;
          version += 1;
        }
      }
      return version;
    },
    changed: () => {
      version += 1;
    },
    close: () => Promise.resolve(),
  };
}
