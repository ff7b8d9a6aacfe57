import { performance } from 'node:perf_hooks';
import type { NumberProtector } from '../../src/events/number-protection.js';
import {
  createRandom,
  createTraffic,
  failureRow,
  pendingVerificationRows,
  successEventRows,
  timeOf,
  verificationRows,
  type KnownVerification,
  type Row,
  type RowContext,
} from './rows.js';
import type { SeedTarget } from './targets.js';

export interface SeedOptions {
  /** Settled verifications, each with its deliveries, spread over the window. */
  verifications: number;
  /** Failure records of the event record, spread over the window. */
  failures: number;
  /** App names, busiest first. */
  apps: readonly string[];
  now: number;
  /** Window length in days, ending at `now` (default 30). */
  days?: number;
  /** The server's number protector (from REPORTS_ENCRYPTION_KEY): the reports API can read the rows. */
  protector: NumberProtector;
  /** Seeds the random spread; the same seed gives the same spread (ids are always fresh). */
  seed?: number;
  /** Rows generated and inserted at a time, between progress reports (default 10,000). */
  chunk?: number;
  /** Chunks per transaction (default 20). */
  chunksPerTransaction?: number;
  /**
   * Drop the tables' secondary indexes for the load and build them again after (the time counts
   * in the summary): several times faster on big tables, and the indexes come out compact, as
   * after a REINDEX, rather than grown page by page. Only while no server uses the database.
   */
  rebuildIndexes?: boolean;
  /**
   * Also the success events of each verification (`started`, `sent`, `delivered`, `approved`), as
   * the service appends them: about 3.7 events per verification more. Off by default, so a grown
   * database is the one the growth figures of docs/performance.md were measured on.
   */
  successEvents?: boolean;
  onIndexes?: (phase: 'dropped' | 'rebuilt', count: number) => void;
  onProgress?: (part: 'verifications' | 'failures', done: number, total: number) => void;
}

export interface SeedSummary {
  verifications: number;
  deliveries: number;
  failures: number;
  /** Success events written with the verifications (0 unless `successEvents`). */
  successEvents: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

/**
 * Seeds settled verifications (with their deliveries) and failure records in ascending time, as a
 * service accumulates them, in transactions of `chunk × chunksPerTransaction` rows. Failures of the verification phase
 * refer to seeded verifications (same app, number and id) when there are some.
 */
export async function seed(target: SeedTarget, options: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const context: RowContext = {
    random: createRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32)),
    apps: options.apps,
    now: options.now,
    days: options.days ?? 30,
    protector: options.protector,
  };
  const traffic = createTraffic(context);
  const chunk = options.chunk ?? 10_000;
  // A sample of seeded verifications for failures to refer to (reservoir: uniform over all of them).
  const known: KnownVerification[] = [];
  const KNOWN_MAX = 50_000;
  let deliveries = 0;

  const perTransaction = chunk * (options.chunksPerTransaction ?? 20);
  let successEvents = 0;
  const writesEvents =
    options.failures > 0 || (options.successEvents === true && options.verifications > 0);
  const tables = [
    ...(options.verifications > 0 ? (['verifications', 'deliveries'] as const) : []),
    ...(writesEvents ? (['events'] as const) : []),
  ];
  const dropped = options.rebuildIndexes ? await target.dropIndexes(tables) : [];
  if (options.rebuildIndexes) options.onIndexes?.('dropped', dropped.length);

  try {
    for (let txFrom = 0; txFrom < options.verifications; txFrom += perTransaction) {
      await target.transaction(async () => {
        for (
          let from = txFrom;
          from < Math.min(options.verifications, txFrom + perTransaction);
          from += chunk
        ) {
          const to = Math.min(options.verifications, from + chunk);
          const verificationBatch: Row[] = [];
          const deliveryBatch: Row[] = [];
          const eventBatch: Row[] = [];
          for (let i = from; i < to; i++) {
            const made = verificationRows(
              context,
              traffic,
              timeOf(context, i, options.verifications),
            );
            verificationBatch.push(made.verification);
            deliveryBatch.push(...made.deliveries);
            if (options.successEvents) eventBatch.push(...successEventRows(context, made));
            const entry = {
              id: String(made.verification.id),
              app: String(made.verification.app),
              number: made.number,
              country: made.country,
            };
            if (known.length < KNOWN_MAX) known.push(entry);
            else if (context.random.next() < KNOWN_MAX / (i + 1))
              known[Math.floor(context.random.next() * KNOWN_MAX)] = entry;
          }
          await target.write([
            { table: 'verifications', rows: verificationBatch },
            { table: 'deliveries', rows: deliveryBatch },
            { table: 'events', rows: eventBatch },
          ]);
          deliveries += deliveryBatch.length;
          successEvents += eventBatch.length;
          options.onProgress?.('verifications', to, options.verifications);
        }
      });
    }

    for (let txFrom = 0; txFrom < options.failures; txFrom += perTransaction) {
      await target.transaction(async () => {
        for (
          let from = txFrom;
          from < Math.min(options.failures, txFrom + perTransaction);
          from += chunk
        ) {
          const to = Math.min(options.failures, from + chunk);
          const rows: Row[] = [];
          for (let i = from; i < to; i++)
            rows.push(failureRow(context, traffic, timeOf(context, i, options.failures), known));
          await target.write([{ table: 'events', rows }]);
          options.onProgress?.('failures', to, options.failures);
        }
      });
    }
  } finally {
    // Rebuilt even when the load failed: a database is never left without its indexes.
    if (options.rebuildIndexes) {
      await target.createIndexes(dropped);
      options.onIndexes?.('rebuilt', dropped.length);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const rows = options.verifications + deliveries + options.failures + successEvents;
  return {
    verifications: options.verifications,
    deliveries,
    failures: options.failures,
    successEvents,
    rows,
    seconds,
    rowsPerSecond: Math.round(rows / seconds),
  };
}

export interface PoolEntry {
  id: string;
  code: string;
}

/**
 * Pending verifications for the check scenarios, written the way a start leaves them (one SMS
 * delivery whose hash is of a known code), to distinct numbers so no per-number limit is shared.
 */
export async function seedCheckPool(
  target: SeedTarget,
  options: { app: string; count: number; now: number; pepper: Buffer; ttlMs?: number },
): Promise<PoolEntry[]> {
  const pool: PoolEntry[] = [];
  const random = createRandom(Math.floor(Math.random() * 2 ** 32));
  await target.transaction(async () => {
    for (let from = 0; from < options.count; from += 10_000) {
      const verificationBatch: Row[] = [];
      const deliveryBatch: Row[] = [];
      for (let i = from; i < Math.min(options.count, from + 10_000); i++) {
        const code = String(random.int(0, 999_999)).padStart(6, '0');
        const number = `+337${random.int(5, 8)}${String(random.int(0, 9_999_999)).padStart(7, '0')}`;
        const made = pendingVerificationRows({
          app: options.app,
          number,
          now: options.now,
          ttlMs: options.ttlMs ?? 600_000,
          pepper: options.pepper,
          code,
        });
        verificationBatch.push(made.verification);
        deliveryBatch.push(made.delivery);
        pool.push({ id: String(made.verification.id), code });
      }
      await target.write([
        { table: 'verifications', rows: verificationBatch },
        { table: 'deliveries', rows: deliveryBatch },
      ]);
    }
  });
  return pool;
}
