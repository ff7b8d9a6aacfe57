/**
 * Without a working checkpointer the write-ahead log grows without bound (disk, and every read
 * slows down), or the serving thread does the checkpoints itself and stalls requests behind fsync.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startWalCheckpointer } from '../../src/storage/sqlite/checkpointer.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe('WAL checkpoints in a worker thread', () => {
  it('copies committed pages into the database file while the serving connection only appends to the log', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'otp-ckpt-')), 'verify.db');
    const handle = openSqlite(path);
    const errors: string[] = [];
    const checkpointer = startWalCheckpointer(handle, {
      intervalMs: 20,
      onError: (message) => errors.push(message),
    });
    try {
      // The serving connection now checkpoints only past 64 MiB of log: it does not touch the file for this.
      expect(handle.raw.pragma('wal_autocheckpoint', { simple: true })).toBe(16_384);
      const before = statSync(path).size;
      const insert = handle.raw.prepare(
        'INSERT INTO rate_counters (key, points, expires_at) VALUES (?, 1, 9e15)',
      );
      for (let i = 0; i < 20_000; i++) insert.run(`key-${i}-${'x'.repeat(60)}`);
      await handle.settled();
      expect(await until(() => statSync(path).size > before + 1_000_000, 10_000)).toBe(true);
      expect(errors).toEqual([]);
    } finally {
      await checkpointer.stop();
      handle.close();
    }
  });

  it('does nothing for an in-memory database', async () => {
    const handle = openSqlite(':memory:');
    const checkpointer = startWalCheckpointer(handle, { intervalMs: 20, onError: () => undefined });
    await expect(checkpointer.stop()).resolves.toBeUndefined();
    handle.close();
  });
});
