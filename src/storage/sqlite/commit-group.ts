import type Database from 'better-sqlite3';

/**
 * Group commit for one SQLite connection: every write statement of one event-loop turn runs in one
 * transaction, committed when the turn ends (setImmediate).
 *
 * Why: a start runs about twenty guarded write statements (counters, the verification, events).
 * Each on its own is a transaction, and in WAL mode each commit appends every page it touched to
 * the log and takes and releases the file locks: measured, 190 write syscalls and 420 KB per start,
 * half of the server's CPU. Committed together, the pages requests share are written once.
 *
 * What does not change: every statement is still atomic and guarded on its own (a turn's batch is
 * never rolled back as a whole to undo a request; no request relies on another's statements), and
 * the connection reads its own writes. What callers must respect: a write is durable only once
 * `settled()` resolves. The HTTP layer answers only after it (nothing acknowledged can be lost),
 * and a message or call leaves the process only after it (a crash never leaves a code out in the
 * world whose verification, delivery or fallback claim was lost). See deps.ts.
 *
 * Other processes see the batch when it commits, at most one turn later; the write lock is held
 * only while the turn runs, never across I/O waits, and a process waiting for it waits
 * busy_timeout as for any write.
 */
export interface CommitGroup {
  /** Resolves once every write made so far on this connection is committed; rejects if that commit failed. */
  settled(): Promise<void>;
  /** Commits the open batch now (before closing the connection). */
  flush(): void;
}

/**
 * Connections of this process with a batch open. A connection about to write first commits the
 * others' batches: they are on the same thread, so waiting for their lock would wait for a commit
 * that cannot happen until this very turn ends (two instances on one file in one process, as tests
 * and the CLI do).
 */
const openBatches = new Set<CommitGroup>();

/** Commits every batch open in this process (before opening another connection to a file: its migrations may write). */
export function flushOpenBatches(): void {
  for (const group of openBatches) group.flush();
}

type StatementMethod = 'run' | 'get' | 'all' | 'iterate';
const EXECUTORS: readonly StatementMethod[] = ['run', 'get', 'all', 'iterate'];

/**
 * Turns group commit on for `raw`: every statement prepared from now on that can write
 * (`!statement.readonly`, as SQLite itself decides) first joins the turn's batch. Statements
 * prepared before this call are not affected.
 */
export function enableCommitGroup(raw: Database.Database): CommitGroup {
  const begin = raw.prepare('BEGIN IMMEDIATE');
  const commit = raw.prepare('COMMIT');
  const rollback = raw.prepare('ROLLBACK');
  let batchOpen = false;
  let waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  function flush(): void {
    if (!batchOpen) return;
    batchOpen = false;
    openBatches.delete(group);
    const batchWaiters = waiters;
    waiters = [];
    try {
      commit.run();
    } catch (error) {
      if (raw.inTransaction) rollback.run();
      for (const waiter of batchWaiters) waiter.reject(error);
      return;
    }
    for (const waiter of batchWaiters) waiter.resolve();
  }

  const group: CommitGroup = {
    settled: () =>
      batchOpen
        ? new Promise((resolve, reject) => waiters.push({ resolve, reject }))
        : Promise.resolve(),
    flush,
  };

  function join(): void {
    for (const other of openBatches) if (other !== group) other.flush();
    // Inside a transaction function of its own (better-sqlite3 `transaction()`), a write commits with it.
    if (batchOpen || raw.inTransaction) return;
    begin.run();
    batchOpen = true;
    openBatches.add(group);
    setImmediate(flush);
  }

  const prepare = raw.prepare.bind(raw);
  const joiningPrepare = (source: string): Database.Statement => {
    const statement = prepare(source);
    if (statement.readonly) return statement;
    const target = statement as unknown as Record<StatementMethod, (...args: unknown[]) => unknown>;
    for (const method of EXECUTORS) {
      const execute = target[method];
      // Own properties, so they also apply after raw()/pluck(), which return the same statement.
      target[method] = function joinThenExecute(this: unknown, ...args: unknown[]): unknown {
        join();
        return execute.apply(this, args);
      };
    }
    return statement;
  };
  raw.prepare = joiningPrepare as Database.Database['prepare'];
  return group;
}
