/**
 * Seeds a database file with a large history, to check that the request path does not slow down
 * as tables grow (indexes used, nothing scanned):
 *
 *   npx tsx bench/seed-large.ts <dir> [verifications=1000000] [failures=1000000]
 *
 * Writes <dir>/verify.db (migrated as the server would): N verifications with one delivery each
 * and a 'started' event, F failure records, and N live rate counters, spread over the 30 days
 * before SEED_NOW (default now) for app SEED_APP (default bench). bench/load-server.ts runs on a
 * copy with LOAD_DATA_DIR=<dir>; bench/prof-sql.ts with PROF_SQL_PATH=<dir>/verify.db.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createNumberProtector } from '../src/events/number-protection.js';
import { newId } from '../src/platform/ids.js';
import { openSqlite } from '../src/storage/sqlite/db.js';

const [dir, verificationsArg, failuresArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: seed-large.ts <dir> [verifications] [failures]');
const VERIFICATIONS = Number(verificationsArg ?? 1_000_000);
const FAILURES = Number(failuresArg ?? 1_000_000);
const NOW = Number(process.env.SEED_NOW ?? Date.now());
const APP = process.env.SEED_APP ?? 'bench';
const DAY = 86_400_000;
const BATCH = 20_000;

mkdirSync(dir, { recursive: true });
const handle = openSqlite(join(dir, 'verify.db'));
const raw = handle.raw;
// The events' numbers are protected as the server would (the key only matters for reading them back).
const protector = createNumberProtector(Buffer.alloc(32, 7));

const insertVerification = raw.prepare(
  `INSERT INTO verifications (id, app, "to", country, requested_channel, channel, status, locale, code_length, attempts, max_attempts, sends, max_sends, last_sent_at, created_at, expires_at, approved_at)
   VALUES (?, ?, ?, 'FR', 'sms', 'sms', ?, 'en', 6, ?, 5, 1, 5, ?, ?, ?, ?)`,
);
const insertDelivery = raw.prepare(
  `INSERT INTO deliveries (id, verification_id, channel, provider, status, code_hash, provider_message_id, created_at, updated_at) VALUES (?, ?, 'sms', 'log', 'sent', ?, ?, ?, ?)`,
);
const insertEvent = raw.prepare(
  `INSERT INTO events (at, app, kind, reason, rule, channel, provider, number_hash, number_enc, prefix, country, number_type, ip, verification_id)
   VALUES (?, ?, ?, ?, ?, 'sms', 'log', ?, ?, ?, 'FR', 'MOBILE', ?, ?)`,
);
const insertCounter = raw.prepare('INSERT OR IGNORE INTO rate_counters (key, points, expires_at) VALUES (?, ?, ?)');

const randomNumber = (): string => `+3361${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
const randomIp = (): string => `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
const REASONS = ['incorrect_code', 'incorrect_code', 'rate_limited', 'invalid_phone', 'expired', 'not_found', 'abuse_suspected'];

function inBatches(total: number, label: string, row: (i: number) => void): void {
  const started = performance.now();
  for (let i = 0; i < total; i += BATCH) {
    raw.transaction(() => {
      for (let j = i; j < Math.min(total, i + BATCH); j++) row(j);
    })();
  }
  console.log(`${label}: ${total} rows in ${Math.round(performance.now() - started)} ms`);
}

inBatches(VERIFICATIONS, 'verifications + deliveries + started events', (i) => {
  const to = randomNumber();
  const at = NOW - Math.floor(Math.random() * 30 * DAY);
  const id = newId('ver', at);
  const approved = i % 3 === 0;
  insertVerification.run(id, APP, to, approved ? 'approved' : 'pending', approved ? 1 : i % 5, at, at, at + 600_000, approved ? at + 30_000 : null);
  insertDelivery.run(newId('dlv', at), id, 'x'.repeat(64), `log-${i}`, at, at);
  const p = protector.protect(to);
  insertEvent.run(at, APP, 'success', 'started', null, p.hash, p.encrypted, p.prefix, randomIp(), id);
});

inBatches(FAILURES, 'failure records', (i) => {
  const to = randomNumber();
  const p = protector.protect(to);
  const reason = REASONS[i % REASONS.length] ?? 'incorrect_code';
  insertEvent.run(NOW - Math.floor(Math.random() * 30 * DAY), APP, 'failure', reason, reason === 'rate_limited' ? 'limit:number-starts:10m' : null, p.hash, p.encrypted, p.prefix, randomIp(), null);
});

inBatches(VERIFICATIONS, 'live rate counters', (i) => {
  insertCounter.run(`rate:number-starts:day:${APP}:${randomNumber()}#${i}`, 1 + (i % 3), NOW + Math.floor(Math.random() * DAY));
});

raw.pragma('wal_checkpoint(TRUNCATE)');
handle.close();
console.log(`seeded ${join(dir, 'verify.db')}`);
