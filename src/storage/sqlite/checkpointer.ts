import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteHandle } from './db.js';

/** Log pages after which the serving connection checkpoints by itself, should the worker fall behind or die (64 MiB). */
const SAFETY_NET_PAGES = 16_384;
const DEFAULT_AUTOCHECKPOINT_PAGES = 1_000;

/**
 * The worker: a connection of its own that runs a PASSIVE checkpoint every `intervalMs` (copies
 * committed log pages into the database file, with the fsyncs synchronous=NORMAL asks for). PASSIVE
 * never waits for, nor blocks, the serving connection's readers and writers. CommonJS, evaluated.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 5000 });
db.pragma('synchronous = NORMAL');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const run = () => {
  try {
    checkpoint.get();
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
  }
};
const timer = setInterval(run, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  run();
  db.close();
  parentPort.close();
});
`;

export interface WalCheckpointer {
  /** Runs a last checkpoint and ends the worker. */
  stop(): Promise<void>;
}

export interface WalCheckpointerOptions {
  intervalMs: number;
  /** Told when a checkpoint fails or the worker dies (the connection then checkpoints by itself again). */
  onError: (message: string) => void;
}

/**
 * Moves WAL checkpoints off the serving thread. Measured under load, the connection's own automatic
 * checkpoint (every 1000 log pages: about every 40 starts) took 15 % of the server's CPU and stalled
 * requests behind its fsyncs. A worker thread now checkpoints every `intervalMs`; the connection
 * keeps a 64 MiB automatic checkpoint as a safety net. Nothing to do for an in-memory database.
 */
export function startWalCheckpointer(
  handle: SqliteHandle,
  options: WalCheckpointerOptions,
): WalCheckpointer {
  if (handle.raw.memory) return { stop: () => Promise.resolve() };
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, path: handle.raw.name, intervalMs: options.intervalMs },
  });
  worker.unref();
  handle.raw.pragma(`wal_autocheckpoint = ${SAFETY_NET_PAGES}`);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping = false;
  worker.on('message', (message: { error?: string }) => {
    if (message.error) options.onError(message.error);
  });
  worker.on('error', (error) => options.onError(error.message));
  void exited.then(() => {
    if (stopping || !handle.raw.open) return;
    options.onError('the checkpoint worker exited');
    handle.raw.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_PAGES}`);
  });
  return {
    stop() {
      stopping = true;
      // Keep the process alive until the worker has closed its connection.
      worker.ref();
      worker.postMessage('stop');
      return exited;
    },
  };
}
