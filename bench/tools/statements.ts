/**
 * What does one start and one check cost in the database? Counts, in process, every statement a
 * start and a check send (by SQL text), the writes among them and the CPU per request, on the
 * storage the app would run on. Requests run one after another, so each one's statements are its
 * own. The app is the real one (createDeps/createApp through bench/lib/in-process-app.ts, limits
 * raised), without HTTP sockets.
 *
 *   npx tsx bench/tools/statements.ts                  SQLite: a fresh database FILE (WAL), as the server runs it
 *   SQLITE_PATH=/tmp/big/verify.db …                   reuse a (seeded: `npm run bench -- seed`) database file
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test …   PostgreSQL, on a database of its own (dropped after)
 *   REDIS_URL=redis://127.0.0.1:6379 …                 with DATABASE_URL: the counters in Redis
 *   N=2000                                             requests of each kind (default 2000 on SQLite, 500 on PostgreSQL)
 *   TRACE=1                                            every distinct statement: runs (and on SQLite µs) per request
 *   PLAN=1                                             SQLite, with TRACE: each statement's EXPLAIN QUERY PLAN
 *   PRAGMA='wal_autocheckpoint = 10000; synchronous = OFF'   SQLite: try settings without editing db.ts
 *
 * SQLite prints wall, CPU and SQL µs per request, statements, write statements and rows changed
 * per request; the turn's commit (group commit) counts as COMMIT. PostgreSQL prints statements
 * (each a round trip), transactions committed and how many of them wrote (a WAL flush each), Redis
 * commands and CPU per request. Commits are counted from the statements (BEGIN … COMMIT is one
 * transaction, any other statement one of its own) and cross-checked against `xact_commit` of
 * pg_stat_database for the app's database (the server publishes it up to 10 s late, hence the
 * pauses). Counting wraps every statement, which costs a little CPU: for a CPU profile of the
 * request path, profile the real server instead (bench/tools/load-server.ts, LOAD_CPU_PROF=1).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createInProcessApp, type InProcessApp } from '../lib/in-process-app.js';
import { randomMobile } from '../lib/traffic.js';

const DATABASE_URL = process.env.DATABASE_URL;
const N = Number(process.env.N ?? (DATABASE_URL ? 500 : 2000));
const TRACE = Boolean(process.env.TRACE);
const WRITE = /^\s*(insert|update|delete|with\b[\s\S]*\b(insert|update|delete)\b)/i;

/** What a dialect counts while `counting` is on, and how it prints a measured run. */
interface Counter {
  counting: boolean;
  reset(): void;
  /** Before a measured run (PostgreSQL: the server's commit count). */
  before(): Promise<void>;
  report(label: string, cpuUs: number, wallUs: number, n: number): Promise<void>;
}

const counts = new Map<string, number>();
const perOp = (value: number, n: number, digits = 2): string => (value / n).toFixed(digits);
const oneLine = (sql: string, width: number): string => sql.replace(/\s+/g, ' ').slice(0, width);

/** Counts and times every statement run through better-sqlite3's prototype (drizzle's prepared queries and raw ones alike). */
function sqliteCounter(): Counter & { attach(t: InProcessApp): void } {
  const nanos = new Map<string, number>();
  let raw: Database.Database | undefined;
  let changesBefore = 0;
  const self = {
    counting: false,
    attach(t: InProcessApp) {
      if (t.database.kind !== 'sqlite') throw new Error('expected a SQLite app');
      raw = t.database.raw;
      // PRAGMA='…; …': try settings without editing db.ts.
      for (const pragma of (process.env.PRAGMA ?? '').split(';').filter((p) => p.trim()))
        raw.pragma(pragma.trim());
    },
    reset() {
      counts.clear();
      nanos.clear();
    },
    before() {
      changesBefore = totalChanges();
      return Promise.resolve();
    },
    report(label: string, cpuUs: number, wallUs: number, n: number) {
      const statements = [...counts.values()].reduce((a, b) => a + b, 0);
      const writes = [...counts].filter(([sql]) => WRITE.test(sql)).reduce((a, [, k]) => a + k, 0);
      const sqlUs = [...nanos.values()].reduce((a, b) => a + b, 0) / 1000;
      console.log(
        `${label}: wall µs/op ${Math.round(wallUs / n)}, CPU µs/op ${Math.round(cpuUs / n)}, SQL µs/op ${Math.round(sqlUs / n)}, statements/op ${perOp(statements, n, 1)}, write statements/op ${perOp(writes, n, 1)}, rows changed/op ${perOp(totalChanges() - changesBefore, n, 1)}`,
      );
      if (TRACE) {
        for (const [sql, k] of [...counts].sort(
          (x, y) => (nanos.get(y[0]) ?? 0) - (nanos.get(x[0]) ?? 0),
        )) {
          console.log(
            `  ${perOp(k, n)}×  ${((nanos.get(sql) ?? 0) / n / 1000).toFixed(1).padStart(6)} µs  ${oneLine(sql, 140)}`,
          );
          if (process.env.PLAN)
            for (const step of plan(sql)) console.log(`             plan: ${step}`);
        }
      }
      return Promise.resolve();
    },
  };
  const totalChanges = (): number =>
    raw!.prepare('SELECT total_changes() AS n').pluck().get() as number;
  /** EXPLAIN QUERY PLAN of a statement, its parameters (`?` or `@name`) bound to NULL (the plan does not depend on them). */
  const plan = (sql: string): string[] => {
    if (!/^\s*(select|insert|update|delete)/i.test(sql)) return [];
    const names = [...new Set([...sql.matchAll(/@([A-Za-z_]\w*)/g)].map((m) => m[1]!))];
    const args =
      names.length > 0
        ? [Object.fromEntries(names.map((name) => [name, null]))]
        : Array<null>((sql.match(/\?/g) ?? []).length).fill(null);
    try {
      return (raw!.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map(
        (row) => row.detail,
      );
    } catch (error) {
      return [`(no plan: ${error instanceof Error ? error.message : String(error)})`];
    }
  };
  // Patched before the app prepares anything.
  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<
    string,
    unknown
  >;
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate'] as const) {
    const original = statementProto[method] as (...args: unknown[]) => unknown;
    statementProto[method] = function counted(this: { source: string }, ...args: unknown[]) {
      if (!self.counting) return original.apply(this, args);
      const started = process.hrtime.bigint();
      try {
        return original.apply(this, args);
      } finally {
        counts.set(this.source, (counts.get(this.source) ?? 0) + 1);
        nanos.set(
          this.source,
          (nanos.get(this.source) ?? 0) + Number(process.hrtime.bigint() - started),
        );
      }
    };
  }
  return self;
}

/** Counts every query a pg.Client sends (the pool's clients, drizzle's and raw ones alike) and every Redis command. */
function postgresCounter(
  url: string,
): Counter & { attach(t: InProcessApp): Promise<void>; close(): Promise<void> } {
  let transactions = 0;
  let writeTransactions = 0;
  let redisCommands = 0;
  let commitsBefore = 0;
  const open = new WeakMap<object, { writes: boolean }>();
  const stats = new pg.Client({ connectionString: url });
  let database = '';
  const xactCommit = async (): Promise<number> => {
    await sleep(11_000); // an idle backend publishes its counts within 10 s (PGSTAT_IDLE_INTERVAL)
    const { rows } = await stats.query<{ n: string }>(
      'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return Number(rows[0]?.n ?? 0);
  };
  const self = {
    counting: false,
    async attach(t: InProcessApp) {
      if (t.database.kind !== 'postgres') throw new Error('expected a PostgreSQL app');
      database =
        (await t.database.pool.query<{ name: string }>('SELECT current_database() AS name')).rows[0]
          ?.name ?? '';
      await stats.connect();
    },
    reset() {
      counts.clear();
      transactions = 0;
      writeTransactions = 0;
      redisCommands = 0;
    },
    async before() {
      commitsBefore = await xactCommit();
    },
    async report(label: string, cpuUs: number, wallUs: number, n: number) {
      const serverCommits = (await xactCommit()) - commitsBefore;
      const statements = [...counts.values()].reduce((a, b) => a + b, 0);
      console.log(
        `${label}: statements/op ${perOp(statements, n)}, commits/op ${perOp(transactions, n)} (writing ${perOp(writeTransactions, n)}; server xact_commit/op ${perOp(serverCommits, n)}), redis commands/op ${perOp(redisCommands, n)}, CPU µs/op ${Math.round(cpuUs / n)}, wall µs/op ${Math.round(wallUs / n)}`,
      );
      if (TRACE)
        for (const [sql, k] of [...counts].sort((x, y) => y[1] - x[1]))
          console.log(`  ${perOp(k, n)}×  ${oneLine(sql, 160)}`);
    },
    close: () => stats.end(),
  };
  const clientProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const originalQuery = clientProto.query;
  clientProto.query = function counted(this: object, ...args: unknown[]) {
    if (self.counting) {
      const first = args[0];
      const text =
        typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
      counts.set(text, (counts.get(text) ?? 0) + 1);
      const verb = text.trim().toLowerCase();
      const tx = open.get(this);
      if (verb === 'begin' || verb.startsWith('begin ') || verb.startsWith('start transaction'))
        open.set(this, { writes: false });
      else if (verb === 'commit' && tx) {
        transactions++;
        if (tx.writes) writeTransactions++;
        open.delete(this);
      } else if (verb === 'rollback' && tx) open.delete(this);
      else if (tx) tx.writes ||= WRITE.test(text);
      else {
        transactions++;
        if (WRITE.test(text)) writeTransactions++;
      }
    }
    return originalQuery.apply(this, args);
  };
  // ioredis: every command goes through sendCommand; a pipeline or multi is one round trip per exec.
  const redisProto = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
  const originalSend = redisProto.sendCommand;
  redisProto.sendCommand = function counted(this: unknown, ...args: unknown[]) {
    if (self.counting) redisCommands++;
    return originalSend.apply(this, args);
  };
  return self;
}

const postgres = DATABASE_URL ? postgresCounter(DATABASE_URL) : undefined;
const sqlite = postgres ? undefined : sqliteCounter();
const counter: Counter = postgres ?? sqlite!;
const sqlitePath =
  process.env.SQLITE_PATH ?? join(mkdtempSync(join(tmpdir(), 'otp-statements-')), 'verify.db');
const t = await createInProcessApp(
  DATABASE_URL ? { databaseUrl: DATABASE_URL, redisUrl: process.env.REDIS_URL } : { sqlitePath },
);

async function measure(label: string, run: () => Promise<number>): Promise<void> {
  await counter.before();
  counter.reset();
  counter.counting = true;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const n = await run();
  const wallUs = (performance.now() - started) * 1000;
  const used = process.cpuUsage(cpu);
  counter.counting = false;
  await counter.report(label, used.user + used.system, wallUs, n);
}

try {
  if (postgres) await postgres.attach(t);
  else sqlite!.attach(t);
  // Warm up: keys, app rows, prepared plans, the JIT.
  for (let i = 0; i < 200; i++)
    await t.call('POST', '/v1/verifications', { body: { to: randomMobile() } });
  const ids: string[] = [];
  await measure('start', async () => {
    for (let i = 0; i < N; i++) {
      const response = await t.call('POST', '/v1/verifications', {
        body: { to: randomMobile(), signals: { ip: `10.${i % 250}.${(i >> 8) % 250}.7` } },
      });
      if (response.status !== 201)
        throw new Error(`start answered ${response.status}: ${await response.text()}`);
      ids.push(((await response.json()) as { id: string }).id);
    }
    return N;
  });
  const codes = t.codes();
  await measure('check', async () => {
    for (const id of ids) {
      const response = await t.call('POST', `/v1/verifications/${id}/check`, {
        body: { code: codes.get(id) },
      });
      if (response.status !== 200)
        throw new Error(`check answered ${response.status}: ${await response.text()}`);
    }
    return ids.length;
  });
  console.log(
    postgres
      ? `PostgreSQL, counters in ${process.env.REDIS_URL ? 'Redis' : 'PostgreSQL'}; N=${N}`
      : `SQLite ${sqlitePath}; N=${N}`,
  );
} finally {
  // The PostgreSQL database is dropped even when a request fails.
  await postgres?.close();
  await t.close();
}
