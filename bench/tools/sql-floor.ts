/**
 * What is the storage floor of a start and a check on SQLite: the CPU their SQL alone costs, with
 * no HTTP, no service logic and no drizzle? Records every statement (text and parameters) that N starts and
 * N checks run through the in-process app, then replays them with better-sqlite3 on a copy of the
 * database as it was before them, committing every BATCH requests together (as group commit does
 * under load), and prints CPU per request and the req/s one core could reach on the SQL alone.
 *
 *   npx tsx bench/tools/sql-floor.ts               N=5000, batches of 1, 10 and 50
 *   N=20000 FLOOR_BATCHES=50 npx tsx bench/tools/sql-floor.ts
 *   FLOOR_TABLES='verifications|deliveries'        replay only the statements naming these tables
 *   FLOOR_TRACE=1                                  also time each distinct statement (µs per request; COMMIT apart)
 *   FLOOR_DB=/path/to/verify.db                    start from a copy of that database (e.g. one grown by
 *                                                  `npm run bench -- seed`) instead of an empty one
 *
 * Each statement is prepared once for the replay (the server's are prepared once too). The replay
 * runs on a database FILE in WAL mode with the server's pragmas (synchronous NORMAL, 16 MiB cache,
 * no mmap, statement journals in memory) and no checkpoint during the timed part.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createInProcessApp } from '../lib/in-process-app.js';
import { randomMobile } from '../lib/traffic.js';

const N = Number(process.env.N ?? 5000);
const BATCHES = (process.env.FLOOR_BATCHES ?? '1,10,50').split(',').map(Number);
const TRACE = Boolean(process.env.FLOOR_TRACE);
const ONLY = process.env.FLOOR_TABLES ? new RegExp(process.env.FLOOR_TABLES, 'i') : undefined;
const dir = mkdtempSync(join(tmpdir(), 'otp-sql-floor-'));
const path = join(dir, 'verify.db');

type Method = 'run' | 'get' | 'all' | 'iterate';
interface Call {
  source: string;
  method: Method;
  args: unknown[];
}
let recording: Call[] | undefined;
const SKIP = /^\s*(BEGIN|COMMIT|ROLLBACK)\b/i;

const probe = new Database(':memory:');
const statementProto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<
  Method,
  (...args: unknown[]) => unknown
>;
probe.close();
for (const method of ['run', 'get', 'all', 'iterate'] as const) {
  const original = statementProto[method];
  statementProto[method] = function recorded(this: { source: string }, ...args: unknown[]) {
    if (recording && !SKIP.test(this.source)) recording.push({ source: this.source, method, args });
    return original.apply(this, args);
  };
}

if (process.env.FLOOR_DB) copyFileSync(process.env.FLOOR_DB, path);
const t = await createInProcessApp({ sqlitePath: path });
if (t.database.kind !== 'sqlite') throw new Error('sql-floor replays SQLite statements');
const database = t.database;
for (let i = 0; i < 200; i++)
  await t.call('POST', '/v1/verifications', { body: { to: `+3361${String(i).padStart(7, '0')}` } });
await database.settled();
database.raw.pragma('wal_checkpoint(TRUNCATE)');
const before = join(dir, 'before.db');
copyFileSync(path, before);

/** Records each request's statements as one list. */
async function record(
  send: (i: number) => Promise<Response>,
  count: number,
): Promise<{ calls: Call[][]; ok: number }> {
  const calls: Call[][] = [];
  let ok = 0;
  for (let i = 0; i < count; i++) {
    recording = [];
    const response = await send(i);
    await database.settled();
    if (response.ok) ok += 1;
    calls.push(recording);
    recording = undefined;
  }
  return { calls, ok };
}

const ids: string[] = [];
const starts = await record(async (i) => {
  const to = randomMobile();
  const response = await t.call('POST', '/v1/verifications', {
    body: { to, signals: { ip: `10.${i % 250}.${(i >> 8) % 250}.7` } },
  });
  if (response.status === 201) ids.push(((await response.clone().json()) as { id: string }).id);
  return response;
}, N);
const codes = t.codes();
const checks = await record(
  (i) =>
    t.call('POST', `/v1/verifications/${ids[i] ?? ''}/check`, {
      body: { code: codes.get(ids[i] ?? '') },
    }),
  ids.length,
);
await t.close();

function replay(label: string, requests: Call[][], batch: number): void {
  const file = join(dir, `replay-${label}-${batch}.db`);
  copyFileSync(before, file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('mmap_size = 0');
  db.pragma('cache_size = -16384');
  db.pragma('temp_store = MEMORY');
  db.pragma('wal_autocheckpoint = 0');
  const statements = new Map<string, Database.Statement>();
  const prepared = (source: string): Database.Statement => {
    let statement = statements.get(source);
    if (!statement) statements.set(source, (statement = db.prepare(source)));
    return statement;
  };
  const work = requests.map((calls) =>
    calls
      .filter((c) => !ONLY || ONLY.test(c.source))
      .map((c) => ({ ...c, statement: prepared(c.source) })),
  );
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const nanos = new Map<string, number>();
  const timed = (source: string, run: () => void): void => {
    if (!TRACE) return run();
    const started = process.hrtime.bigint();
    run();
    nanos.set(source, (nanos.get(source) ?? 0) + Number(process.hrtime.bigint() - started));
  };
  const cpu = process.cpuUsage();
  for (let i = 0; i < work.length; i += batch) {
    begin.run();
    for (const calls of work.slice(i, i + batch)) {
      for (const { source, statement, method, args } of calls) {
        timed(source, () => {
          if (method === 'iterate') for (const row of statement.iterate(...args)) void row;
          else statement[method](...args);
        });
      }
    }
    timed('COMMIT', () => commit.run());
  }
  const used = process.cpuUsage(cpu);
  const us = (used.user + used.system) / work.length;
  const perRequest = work.reduce((sum, calls) => sum + calls.length, 0) / work.length;
  console.log(
    `${label.padEnd(6)} batch ${String(batch).padStart(3)}: ${perRequest.toFixed(1)} statements, CPU ${us.toFixed(0).padStart(4)} µs/request -> ${Math.round(1e6 / us).toLocaleString('en-US')} req/s on one core from the SQL alone`,
  );
  for (const [source, ns] of [...nanos].sort((a, b) => b[1] - a[1])) {
    console.log(
      `    ${(ns / work.length / 1000).toFixed(1).padStart(6)} µs  ${source.replace(/\s+/g, ' ').slice(0, 110)}`,
    );
  }
  db.close();
}

console.log(
  `recorded ${N} starts (${starts.ok} created) and ${checks.calls.length} checks (${checks.ok} approved)${ONLY ? `; replaying only statements matching ${String(ONLY)}` : ''}`,
);
for (const batch of BATCHES) {
  replay('start', starts.calls, batch);
  replay('check', checks.calls, batch);
}
rmSync(dir, { recursive: true, force: true });
