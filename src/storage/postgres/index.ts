import { assembleStores } from '../shared/assemble.js';
import type { StoreOptions, Stores } from '../stores.js';
import type { PostgresHandle } from './db.js';
import { isPostgresUnavailable } from './errors.js';
import * as factories from './factories.js';

const PING_TIMEOUT_MS = 2000;

/** Every store on one PostgreSQL database. */
export function createPostgresStores(handle: PostgresHandle, options: StoreOptions): Stores {
  const { db, pool } = handle;
  return {
    ...assembleStores(db, options, factories),
    async ping() {
      // A server that accepts connections but never answers must not hold /readyz for long.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`PostgreSQL did not answer within ${PING_TIMEOUT_MS} ms`)),
          PING_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([pool.query('SELECT 1'), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    isUnavailable: isPostgresUnavailable,
  };
}
