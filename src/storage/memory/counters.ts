import type {
  CounterHit,
  CounterRecord,
  CounterSnapshot,
  CounterState,
  CounterStore,
  LimitedHit,
} from '../../limits/limits.store.js';
import type { Clock } from '../../platform/clock.js';
import { assertDistinct } from '../shared/limits.js';

export interface WriteBehindCountersOptions {
  /** The database's copy: loaded once here, written behind every `flushEveryMs` and on close. */
  snapshot: CounterSnapshot;
  clock: Clock;
  /** How often the counts changed since the last write are written (one transaction; default 1000 ms). */
  flushEveryMs?: number;
  /** Keys written through at once, in the request's own turn (lock-out state: a crash must not lift a hold). */
  writeThrough: (key: string) => boolean;
  /** Told when a write behind fails (the counts stay pending and are written with the next one). */
  onFlushError?: (error: unknown) => void;
}

/** The store, and a write of the pending counts now (tests and shutdown). */
export interface WriteBehindCounters extends CounterStore {
  flush(): void;
}

/** Ended windows looked at per write behind: a bounded sweep of the map, resumed at the next write. */
const SWEEP_PER_FLUSH = 20_000;

/**
 * Counters of a single instance in process memory, with the semantics of the SQLite counter store
 * (storage/sqlite/limits.store.ts: fixed windows, a new window when the current one has ended,
 * holds that never shorten) and its atomicity for free: every operation is synchronous on the one
 * event loop. A SQLite database has exactly one instance (several need PostgreSQL), so nobody
 * else counts in its table.
 *
 * The counts changed since the last write are written behind in one transaction at least every
 * `flushEveryMs` and on close (SIGTERM: deps.close()); loaded at start. A crash (SIGKILL, power
 * loss) loses at most the counts of the last `flushEveryMs` (SECURITY.md, "Bounds on loss and
 * staleness"; measured by test/hardening/crash.counters.test.ts). Lock-out state (`writeThrough`)
 * is written in the turn that changes it, so it is committed before the answer like any write.
 */
export function createWriteBehindCounters(
  options: WriteBehindCountersOptions,
): WriteBehindCounters {
  const { snapshot, clock, writeThrough } = options;
  const counters = new Map<string, CounterRecord>();
  for (const record of snapshot.load(clock.now())) counters.set(record.key, { ...record });
  let dirty = new Set<string>();
  let sweep: Iterator<[string, CounterRecord]> | undefined;

  function changed(record: CounterRecord, now: number): void {
    if (writeThrough(record.key)) snapshot.save([{ ...record }], now);
    else dirty.add(record.key);
  }

  /** Drops ended windows from memory, at most SWEEP_PER_FLUSH per call (their rows go with the table's purge). */
  function sweepEnded(now: number): void {
    sweep ??= counters.entries();
    for (let i = 0; i < SWEEP_PER_FLUSH; i++) {
      const next = sweep.next();
      if (next.done === true) {
        sweep = undefined;
        return;
      }
      const [key, record] = next.value;
      if (record.expiresAt <= now && !dirty.has(key)) counters.delete(key);
    }
  }

  function flush(): void {
    const now = clock.now();
    const pending = dirty;
    dirty = new Set();
    const records: CounterRecord[] = [];
    for (const key of pending) {
      const record = counters.get(key);
      if (record) records.push({ ...record });
    }
    try {
      snapshot.save(records, now);
    } catch (error) {
      for (const key of pending) dirty.add(key);
      options.onFlushError?.(error);
    }
    sweepEnded(now);
  }

  function hitNow(key: string, windowMs: number, cost: number, now: number): CounterState {
    let record = counters.get(key);
    if (!record || record.expiresAt <= now) {
      record = { key, points: cost, expiresAt: now + windowMs };
      counters.set(key, record);
    } else {
      record.points += cost;
    }
    changed(record, now);
    return { points: record.points, resetInMs: Math.max(0, record.expiresAt - now) };
  }

  function peekNow(key: string, now: number): CounterState {
    const record = counters.get(key);
    return record && record.expiresAt > now
      ? { points: record.points, resetInMs: record.expiresAt - now }
      : { points: 0, resetInMs: 0 };
  }

  function hitMany(hits: readonly CounterHit[]): CounterState[] {
    assertDistinct(hits);
    const now = clock.now();
    return hits.map((h) => hitNow(h.key, h.windowMs, h.cost ?? 1, now));
  }

  function hitUntil(hits: readonly LimitedHit[]): CounterState[] {
    assertDistinct(hits);
    const now = clock.now();
    const totals: CounterState[] = [];
    for (const h of hits) {
      const total = hitNow(h.key, h.windowMs, h.cost ?? 1, now);
      totals.push(total);
      if (total.points > h.limit) break;
    }
    return totals;
  }

  function hold(key: string, durationMs: number): void {
    const now = clock.now();
    const until = now + durationMs;
    let record = counters.get(key);
    if (!record || record.expiresAt <= now) {
      record = { key, points: 1, expiresAt: until };
      counters.set(key, record);
    } else {
      record.points = Math.max(record.points, 1);
      record.expiresAt = Math.max(record.expiresAt, until);
    }
    changed(record, now);
  }

  const timer = setInterval(flush, options.flushEveryMs ?? 1000);
  timer.unref();
  let closed = false;

  return {
    hit: (key, windowMs, cost = 1) => answer(() => hitNow(key, windowMs, cost, clock.now())),
    hitMany: (hits) => answer(() => hitMany(hits)),
    hitUntil: (hits) => answer(() => hitUntil(hits)),
    peek: (key) => answer(() => peekNow(key, clock.now())),
    peekMany: (keys) =>
      answer(() => {
        const now = clock.now();
        return keys.map((key) => peekNow(key, now));
      }),
    hold: (key, durationMs) => answer(() => hold(key, durationMs)),
    flush,
    // Synchronous up to the returned promise: the last counts are written before the caller
    // closes the database, even when it does not wait (test-app's close).
    close: () => {
      if (!closed) {
        closed = true;
        clearInterval(timer);
        flush();
      }
      return Promise.resolve();
    },
  };
}

/** A synchronous result as a promise, and its throw as a rejection (as every store answers). */
function answer<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}
