import pg from 'pg';
import type { CacheVersion } from '../cache/caches.js';
import type { PostgresHandle } from './db.js';

export interface PostgresCacheVersionOptions {
  /** How often the `cache_version` row is read, in case a notification was missed (default 500 ms). */
  pollMs?: number;
  onError?: (error: Error) => void;
}

/**
 * The caches' version on PostgreSQL, shared by every instance: triggers on the cached tables
 * (migration 0002) move `cache_version` and notify channel `otp_cache` in the writer's
 * transaction, so whoever writes (an instance, the CLI, psql) is seen. Each instance LISTENs on a
 * connection of its own and drops its caches on a notification (a few ms after the commit); the
 * row is also read every `pollMs`, so a notification lost with a dropped connection still bounds
 * staleness to `pollMs` plus one query (SECURITY.md: within 1 s). This process's own writes drop
 * its caches at once.
 */
export async function postgresCacheVersion(
  handle: PostgresHandle,
  options: PostgresCacheVersionOptions = {},
): Promise<CacheVersion> {
  let version = 0;
  let seen: string | undefined;
  let closed = false;
  let listener: pg.Client | undefined;
  const bump = (): void => {
    version += 1;
  };

  async function poll(): Promise<void> {
    const result = await handle.pool.query<{ version: string }>(
      'SELECT version FROM cache_version WHERE id = 1',
    );
    const now = String(result.rows[0]?.version ?? '');
    if (seen !== undefined && now !== seen) bump();
    seen = now;
  }

  async function listen(): Promise<void> {
    if (closed) return;
    const client = new pg.Client({
      // The pool's own settings: the notifications arrive on a connection of their own, outside it.
      connectionString: handle.pool.options.connectionString,
      application_name: 'otp-verify-cache',
    });
    client.on('notification', bump);
    client.on('error', (error) => {
      options.onError?.(error);
      // Whatever changed while we were not listening is caught by the poll; listen again soon.
      bump();
      listener = undefined;
      client.end().catch(() => undefined);
      setTimeout(() => void listen().catch(() => undefined), 1000).unref();
    });
    await client.connect();
    await client.query('LISTEN otp_cache');
    listener = client;
    if (closed) await client.end();
  }

  await poll().catch((error: unknown) => options.onError?.(error as Error));
  await listen().catch((error: unknown) => {
    options.onError?.(error as Error);
    setTimeout(() => void listen().catch(() => undefined), 1000).unref();
  });
  const timer = setInterval(() => {
    poll().catch((error: unknown) => {
      options.onError?.(error as Error);
      // Unsure whether anything changed: drop the caches (the next reads go to the database).
      bump();
    });
  }, options.pollMs ?? 500);
  timer.unref();

  return {
    current: () => version,
    changed: bump,
    close: async () => {
      closed = true;
      clearInterval(timer);
      await listener?.end().catch(() => undefined);
      listener = undefined;
    },
  };
}
