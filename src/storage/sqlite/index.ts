import { assembleStores } from '../shared/assemble.js';
import type { StoreOptions, Stores } from '../stores.js';
import type { SqliteHandle } from './db.js';
import * as factories from './factories.js';

/** Every store on one SQLite database. */
export function createSqliteStores(handle: SqliteHandle, options: StoreOptions): Stores {
  return {
    ...assembleStores(handle.db, options, factories),
    ping() {
      handle.raw.prepare('SELECT 1').get();
      return Promise.resolve();
    },
    // A local file: there is no connection to lose.
    isUnavailable: () => false,
  };
}
