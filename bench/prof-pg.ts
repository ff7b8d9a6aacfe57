/**
 * In-process measurement of the round trips behind one start and one check on PostgreSQL (the
 * counterpart of prof-sql.ts): statements sent per request (each is a round trip), transactions
 * committed per request, of which how many wrote (a WAL flush each), Redis commands per request, and
 * CPU per request. Requests run one after another, so each one's statements are its own.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/prof-pg.ts
 *   REDIS_URL=redis://127.0.0.1:6379     counters in Redis (as scaled-out deployments run)
 *   N=500                                requests of each kind
 *   PROF_PG_TRACE=1                      every distinct statement: runs per request
 *
 * Commits are counted from the statements (BEGIN … COMMIT is one transaction, any other statement
 * one of its own) and cross-checked against `xact_commit` of pg_stat_database for the bench's
 * fresh database (the server publishes it up to 10 s late, hence the pauses).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Redis } from 'ioredis';
import { createTestApp, settleTestApps } from '../test/helpers/test-app.js';
import { RAISED_LIMITS } from './lib/raised-limits.js';

if (!process.env.DATABASE_URL) throw new Error('set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test)');
const N = Number(process.env.N ?? 500);

// Every query a pg.Client sends (the pool's clients, drizzle's and raw ones alike), by its SQL text.
const counts = new Map<string, number>();
let transactions = 0;
let writeTransactions = 0;
const open = new WeakMap<object, { writes: boolean }>();
let counting = false;
const WRITE = /^\s*(insert|update|delete|with\b[\s\S]*\b(insert|update|delete)\b)/i;
const clientProto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const originalQuery = clientProto.query;
clientProto.query = function counted(this: object, ...args: unknown[]) {
  if (counting) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
    counts.set(text, (counts.get(text) ?? 0) + 1);
    const verb = text.trim().toLowerCase();
    const tx = open.get(this);
    if (verb === 'begin' || verb.startsWith('begin ') || verb.startsWith('start transaction')) open.set(this, { writes: false });
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

// Redis commands (ioredis: every command goes through sendCommand; a pipeline or multi is one round trip per exec).
let redisCommands = 0;
const redisProto = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
const originalSend = redisProto.sendCommand;
redisProto.sendCommand = function counted(this: unknown, ...args: unknown[]) {
  if (counting) redisCommands++;
  return originalSend.apply(this, args);
};

const t = await createTestApp({ storage: 'postgres', env: { ...RAISED_LIMITS } });
const stats = new pg.Client({ connectionString: process.env.DATABASE_URL });
await stats.connect();
const database = (await t.rows<{ name: string }>('SELECT current_database() AS name'))[0]!.name;
async function xactCommit(): Promise<number> {
  await sleep(11_000); // an idle backend publishes its counts within 10 s (PGSTAT_IDLE_INTERVAL)
  const { rows } = await stats.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [database]);
  return Number(rows[0]?.n ?? 0);
}

function reset(): void {
  counts.clear();
  transactions = 0;
  writeTransactions = 0;
  redisCommands = 0;
}

function report(label: string, cpu: NodeJS.CpuUsage, wallMs: number, n: number, serverCommits: number): void {
  const statements = [...counts.values()].reduce((a, b) => a + b, 0);
  console.log(
    `${label}: statements/op ${(statements / n).toFixed(2)}, commits/op ${(transactions / n).toFixed(2)} (writing ${(writeTransactions / n).toFixed(2)}; server xact_commit/op ${(serverCommits / n).toFixed(2)}), redis commands/op ${(redisCommands / n).toFixed(2)}, CPU µs/op ${Math.round((cpu.user + cpu.system) / n)}, wall µs/op ${Math.round((wallMs * 1000) / n)}`,
  );
  if (process.env.PROF_PG_TRACE) {
    for (const [sql, k] of [...counts].sort((x, y) => y[1] - x[1])) console.log(`  ${(k / n).toFixed(2)}×  ${sql.replace(/\s+/g, ' ').slice(0, 160)}`);
  }
}

try {
  const random = (): string => `+3361${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  // Warm up: keys, app rows, prepared plans, the JIT.
  for (let i = 0; i < 100; i++) await t.call('POST', '/v1/verifications', { body: { to: random() } });

  async function measure(label: string, run: () => Promise<number>): Promise<void> {
    const before = await xactCommit();
    reset();
    counting = true;
    const cpu = process.cpuUsage();
    const started = performance.now();
    const n = await run();
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    counting = false;
    report(label, used, wallMs, n, (await xactCommit()) - before);
  }

  const ids: string[] = [];
  await measure('start', async () => {
    for (let i = 0; i < N; i++) {
      const response = await t.call('POST', '/v1/verifications', { body: { to: random(), signals: { ip: `10.${i % 250}.${(i >> 8) % 250}.7` } } });
      if (response.status !== 201) throw new Error(`start answered ${response.status}: ${await response.text()}`);
      ids.push(((await response.json()) as { id: string }).id);
    }
    return N;
  });
  const codes = new Map(t.outbox().map((line) => [line.verificationId, /(\d{6})/.exec(line.body)?.[1] ?? '']));
  await measure('check', async () => {
    for (const id of ids) {
      const response = await t.call('POST', `/v1/verifications/${id}/check`, { body: { code: codes.get(id) } });
      if (response.status !== 200) throw new Error(`check answered ${response.status}: ${await response.text()}`);
    }
    return ids.length;
  });
  console.log(`counters: ${process.env.REDIS_URL ? 'Redis' : 'PostgreSQL'}; database ${database}; N=${N}`);
} finally {
  // The bench database is dropped even when a request fails.
  await stats.end();
  t.close();
  await settleTestApps();
}
