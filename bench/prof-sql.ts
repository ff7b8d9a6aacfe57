/**
 * In-process measurement of the SQL behind one start and one check, on a database FILE (WAL), as
 * the server runs it: statements executed per request (by SQL text), write transactions (commits)
 * per request, and CPU per request. Requests run one after another, so each one's statements are
 * its own; the turn's commit (group commit) is counted as COMMIT.
 *
 *   npx tsx bench/prof-sql.ts            N=2000 requests of each kind
 *   PROF_SQL_PATH=/tmp/big/verify.db     reuse a (seeded) database file
 *   PROF_SQL_TRACE=1                     every distinct statement: runs and µs per request
 *   PROF_SQL_PLAN=1                      with TRACE, each statement's EXPLAIN QUERY PLAN
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTestApp, RELAXED_LIMITS } from '../test/helpers/test-app.js';

const N = Number(process.env.N ?? 2000);
const path = process.env.PROF_SQL_PATH ?? join(mkdtempSync(join(tmpdir(), 'otp-prof-sql-')), 'verify.db');

// Count and time every statement run, by its SQL, through better-sqlite3's prototype (drizzle's
// prepared queries and raw statements alike), patched before the app prepares anything.
const counts = new Map<string, number>();
const nanos = new Map<string, number>();
const probe = new Database(':memory:');
const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, unknown>;
probe.close();
for (const method of ['run', 'get', 'all', 'iterate'] as const) {
  const original = statementProto[method] as (...args: unknown[]) => unknown;
  statementProto[method] = function counted(this: { source: string }, ...args: unknown[]) {
    const started = process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      counts.set(this.source, (counts.get(this.source) ?? 0) + 1);
      nanos.set(this.source, (nanos.get(this.source) ?? 0) + Number(process.hrtime.bigint() - started));
    }
  };
}

const t = await createTestApp({ sqlitePath: path, env: { ...RELAXED_LIMITS, LIMIT_APP_STARTS_HOUR: '100000000', LIMIT_COUNTRY_STARTS_HOUR: '100000000' } });
const raw = t.database.raw;
// PROF_SQL_PRAGMA='wal_autocheckpoint = 10000; synchronous = OFF': try settings without editing db.ts.
for (const pragma of (process.env.PROF_SQL_PRAGMA ?? '').split(';').filter((p) => p.trim())) raw.pragma(pragma.trim());
const totalChanges = (): number => (raw.prepare('SELECT total_changes() AS n').pluck().get() as number);

/** EXPLAIN QUERY PLAN of a statement, its parameters bound to NULL (the plan does not depend on them). */
function plan(sql: string): string[] {
  if (!/^\s*(select|insert|update|delete)/i.test(sql)) return [];
  const parameters = (sql.match(/\?/g) ?? []).length;
  const rows = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array<null>(parameters).fill(null)) as { detail: string }[];
  return rows.map((row) => row.detail);
}

let wallStarted = performance.now();
function report(label: string, cpu: NodeJS.CpuUsage, changesBefore: number, n: number): void {
  const wallUs = Math.round(((performance.now() - wallStarted) * 1000) / n);
  const statements = [...counts.values()].reduce((a, b) => a + b, 0) / n;
  const writes = [...counts].filter(([sql]) => /^\s*(insert|update|delete)/i.test(sql)).reduce((a, [, k]) => a + k, 0) / n;
  const sqlUs = [...nanos.values()].reduce((a, b) => a + b, 0) / n / 1000;
  console.log(
    `${label}: wall µs/op ${wallUs}, CPU µs/op ${Math.round((cpu.user + cpu.system) / n)}, SQL µs/op ${Math.round(sqlUs)}, statements/op ${statements.toFixed(1)}, write statements/op ${writes.toFixed(1)}, rows changed/op ${((totalChanges() - changesBefore) / n).toFixed(1)}`,
  );
  if (process.env.PROF_SQL_TRACE) {
    for (const [sql, k] of [...counts].sort((x, y) => (nanos.get(y[0]) ?? 0) - (nanos.get(x[0]) ?? 0))) {
      console.log(`  ${(k / n).toFixed(2)}×  ${((nanos.get(sql) ?? 0) / n / 1000).toFixed(1).padStart(6)} µs  ${sql.replace(/\s+/g, ' ').slice(0, 140)}`);
      if (process.env.PROF_SQL_PLAN) for (const step of plan(sql)) console.log(`             plan: ${step}`);
    }
  }
  counts.clear();
  nanos.clear();
}
const call: typeof t.call = (...args) => t.call(...args);

for (let i = 0; i < 200; i++) await t.call('POST', '/v1/verifications', { body: { to: `+3361${String(i).padStart(7, '0')}` } });
counts.clear();
nanos.clear();
const ids: string[] = [];
let changes = totalChanges();
let cpu = process.cpuUsage();
wallStarted = performance.now();
for (let i = 0; i < N; i++) {
  const to = `+336${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const response = await call('POST', '/v1/verifications', { body: { to, signals: { ip: `10.${i % 250}.${(i >> 8) % 250}.7` } } });
  if (response.status === 201) ids.push(((await response.json()) as { id: string }).id);
}
report('start', process.cpuUsage(cpu), changes, N);
const codes = new Map(t.outbox().map((line) => [line.verificationId, /(\d{6})/.exec(line.body)?.[1] ?? '']));
changes = totalChanges();
cpu = process.cpuUsage();
wallStarted = performance.now();
for (const id of ids) await call('POST', `/v1/verifications/${id}/check`, { body: { code: codes.get(id) } });
report('check', process.cpuUsage(cpu), changes, ids.length);
console.log(`database: ${path}`);
t.close();
