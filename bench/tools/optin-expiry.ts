/**
 * How long does the opt-in expiry sweep take? N pending sign-ups (at most 10,000) on in-memory
 * SQLite with the log provider writing to /dev/null, then one `expireDue()` that expires them all,
 * each with its ledger entry (docs/performance.md). Prints one JSON line.
 *
 *   npx tsx bench/tools/optin-expiry.ts [N=10000]
 */
import { performance } from 'node:perf_hooks';
import { createLogSmsProvider } from '../../src/delivery/log.provider.js';
import { createOptinService } from '../../src/optin/optin.service.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createSqliteOptinStore } from '../../src/storage/sqlite/optin.store.js';

// Numbers +14155550000…+14155559999: at most 10,000 distinct sign-ups.
const n = Math.min(10_000, Number(process.argv[2] ?? 10_000));
let now = Date.UTC(2026, 0, 1);
const clock = { now: () => now };
const database = openSqlite(':memory:');
const store = createSqliteOptinStore(database.db);
const service = createOptinService({
  store,
  sms: createLogSmsProvider({ outboxPath: '/dev/null', clock, stdout: false }),
  events: { record: () => Promise.resolve() },
  clock,
  pepper: Buffer.from('bench-pepper-0123456789abcdefghijklmnop'),
  settings: { codeLength: 6, maxConfirmAttempts: 5 },
});
const caller = { app: 'bench', clientIp: '203.0.113.1', userAgent: 'bench' };
const list = await service.createList(caller, {
  name: 'Deals',
  brand: 'ACME',
  sender: '+14155550100',
  confirmationWindowHours: 1,
});
let started = performance.now();
for (let i = 0; i < n; i++)
  await service.subscribe(caller, list.id, {
    to: `+1415555${String(i).padStart(4, '0')}`,
    consentText: 'I agree',
    source: 'bench',
  });
const signupMs = performance.now() - started;
now += 3_600_000;
started = performance.now();
const expired = await service.expireDue();
const sweepMs = performance.now() - started;
const rows = database.raw
  .prepare("SELECT COUNT(*) AS n FROM optin_consent_ledger WHERE type = 'expired'")
  .get() as { n: number };
console.log(
  JSON.stringify({
    signups: n,
    signupMsEach: +(signupMs / n).toFixed(3),
    expired,
    expiredLedgerEntries: rows.n,
    sweepMs: Math.round(sweepMs),
  }),
);
database.close();
