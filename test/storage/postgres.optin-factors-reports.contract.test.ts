import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FactorRecord, FactorStore } from '../../src/factors/factors.store.js';
import type { LedgerEntry, ListRecord, OptinStore, SignupInput, SubscriberRecord } from '../../src/optin/optin.store.js';
import { newId } from '../../src/platform/ids.js';
import {
  DIMENSIONS,
  TIME_BUCKETS,
  type CountRow,
  type ConversionCounts,
  type Dimension,
  type EventFilter,
  type OffenderCounts,
  type OffenderDimension,
  type RecordScope,
  type ReportsStore,
  type RuleCount,
  type StoredEvent,
  type TimeBucket,
} from '../../src/reports/reports.store.js';
import { openPostgres } from '../../src/storage/postgres/db.js';
import { createPostgresFactorStore } from '../../src/storage/postgres/factors.store.js';
import { createPostgresOptinStore } from '../../src/storage/postgres/optin.store.js';
import { createPostgresReportsStore } from '../../src/storage/postgres/reports.store.js';
import { events as pgEvents } from '../../src/storage/postgres/schema.js';
import { openSqlite } from '../../src/storage/sqlite/db.js';
import { createSqliteFactorStore } from '../../src/storage/sqlite/factors.store.js';
import { createSqliteOptinStore } from '../../src/storage/sqlite/optin.store.js';
import { createSqliteReportsStore } from '../../src/storage/sqlite/reports.store.js';
import { events as sqliteEvents } from '../../src/storage/sqlite/schema.js';
import { createTestDatabase, POSTGRES_SKIP_REASON, POSTGRES_URL, type TestDatabase } from '../helpers/postgres.js';

/**
 * One contract, two dialects: every case below runs on the SQLite stores and on the PostgreSQL
 * stores (when DATABASE_URL is set), with the same inputs and the same expected answers. What would
 * be exploitable if a dialect drifted: an extra confirmation attempt or factor code accepted by a
 * race (brute force), a second winner of a one-winner transition (a double confirmation, a reused
 * recovery code), consent evidence rewritten or lost, and reports that rank or count differently
 * depending on the database (an abuse triage that blocks the wrong prefix).
 */

if (POSTGRES_SKIP_REASON) console.warn(POSTGRES_SKIP_REASON);

const NOW = Date.UTC(2026, 0, 8);
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Concurrent callers of each guarded transition; at most the PostgreSQL pool's size, so all truly run at once. */
const RACERS = 10;

interface Harness {
  optin: OptinStore;
  factors: FactorStore;
  reports: ReportsStore;
  /** Inserts event rows as they are (ids included), in the given order. */
  insertEvents(rows: readonly StoredEvent[]): Promise<void>;
  /** Runs one raw SQL statement, as an operator or an attacker with database access would. */
  exec(statement: string): Promise<void>;
  /** The number in the first column of the first row of a raw query. */
  queryNumber(query: string): Promise<number>;
  close(): Promise<void>;
}

const INSERT_CHUNK = 500;

function openSqliteHarness(): Harness {
  const handle = openSqlite(':memory:');
  return {
    optin: createSqliteOptinStore(handle.db),
    factors: createSqliteFactorStore(handle.db),
    reports: createSqliteReportsStore(handle.db),
    insertEvents(rows) {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) handle.db.insert(sqliteEvents).values(rows.slice(i, i + INSERT_CHUNK)).run();
      return Promise.resolve();
    },
    exec(statement) {
      return new Promise((resolve) => resolve(void handle.raw.exec(statement)));
    },
    queryNumber(query) {
      return Promise.resolve(Number(handle.raw.prepare(query).pluck().get()));
    },
    close() {
      handle.close();
      return Promise.resolve();
    },
  };
}

async function openPostgresHarness(url: string, onClose: () => Promise<void>): Promise<Harness> {
  const handle = await openPostgres(url, { poolSize: RACERS });
  return {
    optin: createPostgresOptinStore(handle.db),
    factors: createPostgresFactorStore(handle.db),
    reports: createPostgresReportsStore(handle.db),
    async insertEvents(rows) {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) await handle.db.insert(pgEvents).values(rows.slice(i, i + INSERT_CHUNK));
    },
    async exec(statement) {
      await handle.pool.query(statement);
    },
    async queryNumber(query) {
      const { rows } = await handle.pool.query<Record<string, unknown>>(query);
      return Number(Object.values(rows[0]!)[0]);
    },
    async close() {
      await handle.close();
      await onClose();
    },
  };
}

async function openPostgresTestHarness(): Promise<Harness> {
  const database: TestDatabase = await createTestDatabase();
  try {
    return await openPostgresHarness(database.url, () => database.drop());
  } catch (error) {
    await database.drop();
    throw error;
  }
}

const DIALECTS: { name: string; skip: string | undefined; open: () => Promise<Harness> }[] = [
  { name: 'SQLite', skip: undefined, open: () => Promise.resolve(openSqliteHarness()) },
  { name: 'PostgreSQL', skip: POSTGRES_SKIP_REASON, open: openPostgresTestHarness },
];

/** Runs `count` copies of `run` at once and returns their results in call order. */
function race<T>(count: number, run: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => run(i)));
}

const defined = <T>(values: (T | undefined)[]): T[] => values.filter((v): v is T => v !== undefined);

// ---------------------------------------------------------------------------------------------
// Opt-in fixtures

function aList(app: string, overrides: Partial<ListRecord> = {}): ListRecord {
  return {
    id: newId('lst', Date.now()),
    app,
    name: 'Weekly deals',
    brand: 'ACME',
    sender: `+1415${randomBytes(4).readUInt32BE(0) % 10_000_000}`,
    windowSeconds: 86_400,
    templates: { en: { confirmation: 'Reply YES to join {brand}', help: 'Help: {contact}' }, fr: { stopped: 'Désinscrit' } },
    helpContact: 'help@acme.example',
    createdAt: NOW,
    ...overrides,
  };
}

function aSignup(list: ListRecord, number: string, overrides: Partial<SignupInput> = {}): SignupInput {
  return {
    id: newId('sub', Date.now()),
    app: list.app,
    listId: list.id,
    number,
    signupId: newId('sgn', Date.now()),
    codeHash: randomBytes(32).toString('hex'),
    maxAttempts: 3,
    locale: 'en',
    now: NOW,
    expiresAt: NOW + HOUR,
    ...overrides,
  };
}

function anEntry(list: ListRecord, number: string, type: LedgerEntry['type'], overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    at: NOW,
    app: list.app,
    listId: list.id,
    number,
    signupId: null,
    type,
    channel: 'api',
    ip: '203.0.113.9',
    userAgent: 'acme-backend/1.0',
    source: 'https://acme.example/deals#form',
    consentText: 'I agree to receive weekly deals by SMS from ACME.',
    consentTextVersion: 'v1',
    text: null,
    textSha256: null,
    details: null,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Factor fixtures

function aFactor(app: string, user: string, overrides: Partial<FactorRecord> = {}): FactorRecord {
  const id = newId('fac', Date.now());
  return {
    id,
    app,
    user,
    type: 'totp',
    status: 'unverified',
    label: 'Phone',
    issuer: 'ACME',
    secretSealed: `v1.k1.${randomBytes(12).toString('base64url')}`,
    lastStep: null,
    attempts: 0,
    maxAttempts: 5,
    lockedUntil: null,
    createdAt: NOW,
    verifiedAt: null,
    lastUsedAt: null,
    ...overrides,
  };
}

const hashes = (n: number): string[] => Array.from({ length: n }, () => randomBytes(32).toString('hex'));

async function verifiedFactor(store: FactorStore, app: string, codes: readonly string[], overrides: Partial<FactorRecord> = {}): Promise<FactorRecord> {
  const factor = aFactor(app, newId('usr', Date.now()), overrides);
  expect(await store.createIfBelowLimit(factor, 5, 0)).toBe(true);
  expect(await store.activate(factor.id, 1000, NOW, codes)).toBe(true);
  return factor;
}

// ---------------------------------------------------------------------------------------------
// Events for the reports: deterministic, with ties, NULLs, bucket edges and keys that a
// locale-aware collation orders differently from bytes (case, `_` against `:`, accents).

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS_FROM = Date.UTC(2026, 0, 1);
const EVENTS_DAYS = 3;
const APPS = ['acme', 'Acme', 'beta', 'Zeta', 'café', 'cafe'];
const SUCCESS_REASONS = ['started', 'sent', 'delivered', 'approved'];
const FAILURE_REASONS = ['incorrect_code', 'rate_limited', 'delivery_failed', 'unauthorized', 'expired', 'Blocked'];
const RULES = ['limit:prefix:1h', 'limit_number', 'limit:ip:1d', 'invalid_key', 'Abuse.pumping', 'abuse_pumping'];
const CHANNELS = ['sms', 'voice', 'flashcall', 'SMS'];
const PROVIDERS = ['log', 'twilio', 'Twilio', 'http'];
const COUNTRY_CODES = ['FR', 'US', 'GB', 'DE'];
const IPS = ['203.0.113.5', '198.51.100.7', '10.0.0.9', '100.0.0.1', '2001:db8::1', '192.0.2.99', '192.0.2.100'];
const NUMBERS = Array.from({ length: 30 }, (_, i) => ({
  hash: `h${String(i).padStart(2, '0')}${'abcdef'[i % 6]}`,
  prefix: ['+3361234', '+44770090', '+1415555', '+336123', '+4477009', '+49151'][i % 6]!,
  country: ['FR', 'GB', 'US', 'FR', 'GB', 'DE'][i % 6]!,
  enc: [`enc.${i}.A`, `enc.${i}.b`, `enc.${i}.B`, `ènc.${i}`],
}));

function makeEvents(count: number, seed: number): StoredEvent[] {
  const random = prng(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const maybe = <T>(value: T, nullShare: number): T | null => (random() < nullShare ? null : value);
  const rows: StoredEvent[] = [];
  let at = EVENTS_FROM;
  for (let i = 0; i < count; i += 1) {
    // Some on an hour (or day) boundary, some on the last ms before one, some at the same instant as the previous record.
    const shape = random();
    if (shape < 0.08) at = EVENTS_FROM + Math.floor(random() * EVENTS_DAYS * 24) * HOUR;
    else if (shape < 0.12) at = EVENTS_FROM + Math.floor(random() * EVENTS_DAYS * 24) * HOUR - 1;
    else if (shape < 0.9) at = EVENTS_FROM + Math.floor(random() * EVENTS_DAYS * DAY);
    const kindDraw = random();
    const kind = kindDraw < 0.5 ? 'failure' : kindDraw < 0.95 ? 'success' : 'audit';
    const reason = kind === 'failure' ? pick(FAILURE_REASONS) : kind === 'success' ? pick(SUCCESS_REASONS) : 'number_revealed';
    const number = random() < 0.85 ? NUMBERS[Math.floor(random() * random() * NUMBERS.length)]! : undefined;
    rows.push({
      id: i + 1,
      at,
      app: maybe(pick(APPS), 0.1),
      kind,
      reason,
      rule: kind === 'failure' ? maybe(pick(RULES), 0.4) : null,
      details: random() < 0.2 ? JSON.stringify({ count: Math.floor(random() * 50), limit: 30 }) : null,
      channel: maybe(pick(CHANNELS), 0.15),
      provider: maybe(pick(PROVIDERS), 0.15),
      providerError: reason === 'delivery_failed' ? 'E30: unreachable' : null,
      numberHash: number?.hash ?? null,
      numberEnc: number ? pick(number.enc) : null,
      prefix: number?.prefix ?? null,
      country: number ? number.country : maybe(pick(COUNTRY_CODES), 0.5),
      numberType: number ? 'MOBILE' : null,
      ip: maybe(pick(IPS), 0.1),
      userAgent: maybe('curl/8.5', 0.5),
      verificationId: random() < 0.8 ? `ver_${Math.floor(i / 4)}` : null,
    });
  }
  return rows;
}

/** Windows to read the records in: all, per app and country, exact hour and day edges, one quiet hour. */
const SCOPES: RecordScope[] = [
  { from: EVENTS_FROM - DAY, to: EVENTS_FROM + 5 * DAY, app: undefined },
  { from: EVENTS_FROM, to: EVENTS_FROM + EVENTS_DAYS * DAY, app: 'acme' },
  { from: EVENTS_FROM, to: EVENTS_FROM + EVENTS_DAYS * DAY, app: undefined, country: 'FR' },
  { from: EVENTS_FROM + DAY, to: EVENTS_FROM + 2 * DAY, app: undefined },
  { from: EVENTS_FROM + DAY - 1, to: EVENTS_FROM + 2 * DAY - 1, app: 'Acme' },
  { from: EVENTS_FROM + 30 * HOUR, to: EVENTS_FROM + 31 * HOUR, app: undefined },
  { from: EVENTS_FROM + 40 * HOUR + 1, to: EVENTS_FROM + 47 * HOUR, app: 'beta', country: 'GB' },
  { from: EVENTS_FROM + 10 * DAY, to: EVENTS_FROM + 11 * DAY, app: undefined },
];

// ---------------------------------------------------------------------------------------------
// The reference: what each report must answer, computed in plain TypeScript from the rows.

/** Byte order with NULL first: SQLite's ascending text order, which both stores follow. */
function compareText(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const inScope = (e: StoredEvent, scope: RecordScope): boolean =>
  e.at >= scope.from && e.at < scope.to && (scope.app === undefined || e.app === scope.app) && (scope.country === undefined || e.country === scope.country);

const OFFENDER_FIELD: Record<OffenderDimension, 'prefix' | 'ip' | 'numberHash'> = { prefix: 'prefix', ip: 'ip', number: 'numberHash' };
const BUCKET_MS: Record<TimeBucket, number> = { hour: HOUR, day: DAY };

function tally<T>(rows: readonly StoredEvent[], keyOf: (e: StoredEvent) => string, init: (e: StoredEvent) => T, add: (group: T, e: StoredEvent) => void): T[] {
  const groups = new Map<string, T>();
  for (const e of rows) {
    const k = keyOf(e);
    let group = groups.get(k);
    if (!group) groups.set(k, (group = init(e)));
    add(group, e);
  }
  return [...groups.values()];
}

function expectedFailures(rows: readonly StoredEvent[], scope: RecordScope, groupBy: Dimension | TimeBucket, stackBy: Dimension | undefined): CountRow[] {
  const bucket = groupBy === 'hour' || groupBy === 'day';
  const keyOf = (e: StoredEvent): string | null => (bucket ? String(Math.trunc(e.at / BUCKET_MS[groupBy]) * BUCKET_MS[groupBy]) : e[groupBy]);
  const groups = tally(
    rows.filter((e) => e.kind === 'failure' && inScope(e, scope)),
    (e) => JSON.stringify([keyOf(e), stackBy ? e[stackBy] : null]),
    (e): CountRow => (stackBy ? { key: keyOf(e), stack: e[stackBy], count: 0 } : { key: keyOf(e), count: 0 }),
    (g) => void (g.count += 1),
  );
  return groups.sort(
    (a, b) =>
      (bucket ? compareText(a.key, b.key) || b.count - a.count : b.count - a.count || compareText(a.key, b.key)) || compareText(a.stack ?? null, b.stack ?? null),
  );
}

function expectedConversion(rows: readonly StoredEvent[], scope: RecordScope, groupBy: 'country' | 'prefix' | 'channel'): ConversionCounts[] {
  const counted = ['started', 'sent', 'delivered', 'delivery_failed', 'approved'];
  const groups = tally(
    rows.filter((e) => counted.includes(e.reason) && inScope(e, scope)),
    (e) => JSON.stringify(e[groupBy]),
    (e): ConversionCounts => ({ key: e[groupBy], started: 0, sent: 0, delivered: 0, deliveryFailed: 0, approved: 0 }),
    (g, e) => {
      const success = e.kind === 'success';
      if (e.reason === 'started' && success) g.started += 1;
      if (e.reason === 'sent' && success) g.sent += 1;
      if (e.reason === 'delivered' && success) g.delivered += 1;
      if (e.reason === 'delivery_failed') g.deliveryFailed += 1;
      if (e.reason === 'approved' && success) g.approved += 1;
    },
  );
  return groups.sort((a, b) => b.started - a.started || compareText(a.key, b.key));
}

function expectedOffenders(rows: readonly StoredEvent[], scope: RecordScope, dimension: OffenderDimension, limit: number): OffenderCounts[] {
  const field = OFFENDER_FIELD[dimension];
  const maxText = (a: string | null, b: string | null): string | null => (compareText(a, b) >= 0 ? a : b);
  const top = tally(
    rows.filter((e) => e.kind === 'failure' && e[field] !== null && inScope(e, scope)),
    (e) => e[field]!,
    (e): OffenderCounts => ({ key: e[field]!, failures: 0, started: 0, sent: 0, approved: 0, firstAt: e.at, lastAt: e.at, numberEnc: null }),
    (g, e) => {
      g.failures += 1;
      g.firstAt = Math.min(g.firstAt, e.at);
      g.lastAt = Math.max(g.lastAt, e.at);
      if (dimension === 'number') g.numberEnc = maxText(g.numberEnc, e.numberEnc);
    },
  )
    .sort((a, b) => b.failures - a.failures || compareText(a.key, b.key))
    .slice(0, limit);
  for (const g of top) {
    for (const e of rows) {
      if (e.kind !== 'success' || e[field] !== g.key || !inScope(e, scope)) continue;
      if (e.reason === 'started') g.started += 1;
      if (e.reason === 'sent') g.sent += 1;
      if (e.reason === 'approved') g.approved += 1;
      g.firstAt = Math.min(g.firstAt, e.at);
      g.lastAt = Math.max(g.lastAt, e.at);
    }
  }
  return top;
}

function expectedRules(rows: readonly StoredEvent[], scope: RecordScope, dimension?: OffenderDimension, keys?: string[]): RuleCount[] {
  const per = dimension !== undefined && keys !== undefined;
  const field = dimension ? OFFENDER_FIELD[dimension] : undefined;
  const groups = tally(
    rows.filter((e) => e.kind === 'failure' && e.rule !== null && inScope(e, scope) && (!per || keys.includes(e[field!] as string))),
    (e) => JSON.stringify([per ? e[field!] : null, e.rule, e.reason]),
    (e): RuleCount => ({ key: per ? e[field!] : null, rule: e.rule!, reason: e.reason, count: 0 }),
    (g) => void (g.count += 1),
  );
  return groups.sort((a, b) => b.count - a.count || compareText(a.key, b.key) || compareText(a.rule, b.rule) || compareText(a.reason, b.reason));
}

function expectedEvents(rows: readonly StoredEvent[], filter: EventFilter, limit: number): StoredEvent[] {
  const { before } = filter;
  return rows
    .filter(
      (e) =>
        inScope(e, filter) &&
        (filter.kind === undefined || e.kind === filter.kind) &&
        (filter.reason === undefined || e.reason === filter.reason) &&
        (filter.numberHash === undefined || e.numberHash === filter.numberHash) &&
        (filter.prefix === undefined || e.prefix === filter.prefix) &&
        (filter.ip === undefined || e.ip === filter.ip) &&
        (filter.verificationId === undefined || e.verificationId === filter.verificationId) &&
        (before === undefined || e.at < before.at || (e.at === before.at && e.id < before.id)),
    )
    .sort((a, b) => b.at - a.at || b.id - a.id)
    .slice(0, limit);
}

/** Every report query the service can make, with its expected answer, over the given rows. */
function reportCases(rows: readonly StoredEvent[]): { name: string; run: (store: ReportsStore) => Promise<unknown>; expected: unknown }[] {
  const cases: { name: string; run: (store: ReportsStore) => Promise<unknown>; expected: unknown }[] = [];
  SCOPES.forEach((scope, s) => {
    for (const groupBy of [...DIMENSIONS, ...TIME_BUCKETS]) {
      for (const stackBy of [undefined, ...DIMENSIONS]) {
        cases.push({ name: `scope ${s}: countFailures(${groupBy}, ${stackBy})`, run: (store) => store.countFailures(scope, groupBy, stackBy), expected: expectedFailures(rows, scope, groupBy, stackBy) });
      }
    }
    for (const groupBy of ['country', 'prefix', 'channel'] as const) {
      cases.push({ name: `scope ${s}: conversion(${groupBy})`, run: (store) => store.conversion(scope, groupBy), expected: expectedConversion(rows, scope, groupBy) });
    }
    cases.push({ name: `scope ${s}: rulesFired()`, run: (store) => store.rulesFired(scope), expected: expectedRules(rows, scope) });
    for (const dimension of ['prefix', 'ip', 'number'] as const) {
      for (const limit of [1, 3, 1000]) {
        cases.push({ name: `scope ${s}: topOffenders(${dimension}, ${limit})`, run: (store) => store.topOffenders(scope, dimension, limit), expected: expectedOffenders(rows, scope, dimension, limit) });
      }
      const keys = [...expectedOffenders(rows, scope, dimension, 5).map((row) => row.key), 'no-such-key'];
      cases.push({ name: `scope ${s}: rulesFired(${dimension}, top keys)`, run: (store) => store.rulesFired(scope, dimension, keys), expected: expectedRules(rows, scope, dimension, keys) });
      cases.push({ name: `scope ${s}: rulesFired(${dimension}, [])`, run: (store) => store.rulesFired(scope, dimension, []), expected: [] });
    }
    const filters: EventFilter[] = [
      scope,
      { ...scope, kind: 'failure' },
      { ...scope, reason: 'rate_limited' },
      { ...scope, numberHash: NUMBERS[1]!.hash },
      { ...scope, prefix: '+3361234' },
      { ...scope, ip: '10.0.0.9' },
      { ...scope, verificationId: 'ver_7' },
      { ...scope, before: { at: EVENTS_FROM + DAY, id: 1500 } },
    ];
    filters.forEach((filter, f) => {
      cases.push({ name: `scope ${s}: listEvents(filter ${f}, 50)`, run: (store) => store.listEvents(filter, 50), expected: expectedEvents(rows, filter, 50) });
    });
  });
  return cases;
}

/** Walks a window page by page with the (at, id) cursor, as GET /v1/events does. */
async function walk(store: ReportsStore, scope: RecordScope, pageSize: number): Promise<number[]> {
  const ids: number[] = [];
  let before: EventFilter['before'];
  for (;;) {
    const page = await store.listEvents({ ...scope, before }, pageSize);
    ids.push(...page.map((e) => e.id));
    if (page.length < pageSize) return ids;
    const last = page.at(-1)!;
    before = { at: last.at, id: last.id };
  }
}

// =============================================================================================

for (const dialect of DIALECTS) {
  describe.skipIf(dialect.skip !== undefined)(`${dialect.name}: opt-in, factor and report stores keep their contracts`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await dialect.open();
    });
    afterAll(async () => {
      await h?.close();
    });

    describe('OptinStore', () => {
      it('keeps lists per app, oldest first (then by id), and finds them by sender across apps', async () => {
        const app = newId('app', Date.now());
        const { sender } = aList(app);
        const late = aList(app, { createdAt: NOW + 10, sender });
        const [tieA, tieB] = [aList(app, { createdAt: NOW }), aList(app, { createdAt: NOW })].sort((a, b) => compareText(a.id, b.id));
        const elsewhere = aList(newId('app', Date.now()), { createdAt: NOW - 5, sender, templates: {}, helpContact: null });
        for (const list of [late, tieB!, tieA!, elsewhere]) await h.optin.createList(list);

        expect(await h.optin.findList(app, late.id)).toEqual(late);
        expect(await h.optin.findList(app, elsewhere.id)).toBeUndefined();
        expect(await h.optin.findList(elsewhere.app, elsewhere.id)).toEqual(elsewhere);
        expect((await h.optin.listLists(app)).map((l) => l.id)).toEqual([tieA!.id, tieB!.id, late.id]);
        expect(await h.optin.listsBySender(sender)).toEqual([elsewhere, late]);
        expect(await h.optin.listLists(newId('app', Date.now()))).toEqual([]);
      });

      it('opens a sign-up, restarts it with a new generation unless confirmed, and writes evidence only when the row changed', async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.createList(list);
        const number = '+14155550123';
        const first = aSignup(list, number);
        const opened = await h.optin.openSignup(first, [anEntry(list, number, 'requested', { signupId: first.signupId, details: { form: 'deals' } })]);
        expect(opened).toEqual<SubscriberRecord>({
          id: first.id,
          app: list.app,
          listId: list.id,
          number,
          status: 'pending',
          signupId: first.signupId,
          codeHash: first.codeHash,
          attempts: 0,
          maxAttempts: 3,
          locale: 'en',
          requestedAt: NOW,
          expiresAt: NOW + HOUR,
          confirmedAt: null,
          unsubscribedAt: null,
          updatedAt: NOW,
        });
        expect(await h.optin.reserveAttempt(list.id, number, first.signupId, NOW + 1)).toBe(1);

        const second = aSignup(list, number, { now: NOW + 10, expiresAt: NOW + 2 * HOUR, locale: 'fr' });
        const restarted = await h.optin.openSignup(second, [anEntry(list, number, 'requested', { at: NOW + 10, signupId: second.signupId })]);
        expect(restarted).toMatchObject({ id: first.id, signupId: second.signupId, codeHash: second.codeHash, attempts: 0, locale: 'fr', requestedAt: NOW + 10, expiresAt: NOW + 2 * HOUR });
        // The first generation's code no longer counts.
        expect(await h.optin.reserveAttempt(list.id, number, first.signupId, NOW + 11)).toBeUndefined();

        expect(await h.optin.confirmPending(list.id, number, second.signupId, NOW + 20, [anEntry(list, number, 'confirmed', { at: NOW + 20 })])).toMatchObject({ status: 'confirmed' });
        const third = aSignup(list, number, { now: NOW + 30 });
        expect(await h.optin.openSignup(third, [anEntry(list, number, 'requested', { at: NOW + 30 })])).toBeUndefined();
        expect(await h.optin.findSubscriber(list.id, number)).toMatchObject({ status: 'confirmed', signupId: second.signupId, confirmedAt: NOW + 20, codeHash: null });

        const trail = await h.optin.ledgerFor(list.id, number);
        expect(trail.map((e) => [e.type, e.at])).toEqual([
          ['requested', NOW],
          ['requested', NOW + 10],
          ['confirmed', NOW + 20],
        ]);
        expect(trail[0]).toMatchObject({ details: { form: 'deals' }, signupId: first.signupId, channel: 'api', consentTextVersion: 'v1' });
        expect(trail[0]!.id).toBeLessThan(trail[1]!.id);

        // An unsubscribed number may sign up again.
        expect(await h.optin.unsubscribe(list.id, number, NOW + 40, () => [])).toMatchObject({ status: 'unsubscribed' });
        const fourth = aSignup(list, number, { now: NOW + 50 });
        expect(await h.optin.openSignup(fourth, [])).toMatchObject({ status: 'pending', signupId: fourth.signupId, unsubscribedAt: null, confirmedAt: null });
      });

      it(`${RACERS} concurrent sign-ups of one number all succeed in turn and leave one generation`, async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.createList(list);
        const number = '+33612345678';
        const inputs = Array.from({ length: RACERS }, () => aSignup(list, number));
        const results = await race(RACERS, (i) => h.optin.openSignup(inputs[i]!, [anEntry(list, number, 'requested', { signupId: inputs[i]!.signupId })]));
        expect(defined(results)).toHaveLength(RACERS);
        const final = await h.optin.findSubscriber(list.id, number);
        expect(inputs.map((i) => i.signupId)).toContain(final!.signupId);
        expect(new Set(results.map((r) => r!.id)).size).toBe(1);
        expect(await h.optin.ledgerFor(list.id, number)).toHaveLength(RACERS);
      });

      it(`reserves no more attempts than are left, whatever ${RACERS} concurrent callers do`, async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.createList(list);
        const number = '+447700900123';
        const signup = aSignup(list, number, { maxAttempts: 3 });
        await h.optin.openSignup(signup, []);
        expect(await h.optin.reserveAttempt(list.id, number, signup.signupId, NOW + 1)).toBe(1);
        const reserved = defined(await race(RACERS, () => h.optin.reserveAttempt(list.id, number, signup.signupId, NOW + 2)));
        expect(reserved.sort()).toEqual([2, 3]);
        expect(await h.optin.findSubscriber(list.id, number)).toMatchObject({ attempts: 3, updatedAt: NOW + 2 });

        const other = aSignup(list, '+447700900124', { expiresAt: NOW + 100 });
        await h.optin.openSignup(other, []);
        expect(await h.optin.reserveAttempt(list.id, other.number, newId('sgn', Date.now()), NOW + 1)).toBeUndefined();
        expect(await h.optin.reserveAttempt(list.id, other.number, other.signupId, NOW + 100)).toBeUndefined(); // expired
        expect(await h.optin.reserveAttempt(list.id, other.number, other.signupId, NOW + 99)).toBe(1);
      });

      it(`confirms a pending generation for exactly one of ${RACERS} concurrent callers, with its evidence once`, async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.createList(list);
        const number = '+14155550199';
        const signup = aSignup(list, number);
        await h.optin.openSignup(signup, []);
        expect(await h.optin.confirmPending(list.id, number, newId('sgn', Date.now()), NOW + 1, [anEntry(list, number, 'confirmed')])).toBeUndefined();
        expect(await h.optin.confirmPending(list.id, number, signup.signupId, NOW + HOUR, [anEntry(list, number, 'confirmed')])).toBeUndefined(); // window ended

        const results = await race(RACERS, (i) => h.optin.confirmPending(list.id, number, signup.signupId, NOW + 5, [anEntry(list, number, 'confirmed', { details: { racer: i } })]));
        const winners = defined(results);
        expect(winners).toHaveLength(1);
        expect(winners[0]).toMatchObject({ status: 'confirmed', confirmedAt: NOW + 5, codeHash: null, updatedAt: NOW + 5 });
        expect((await h.optin.ledgerFor(list.id, number)).map((e) => e.type)).toEqual(['confirmed']);
      });

      it(`unsubscribes for exactly one of ${RACERS} concurrent callers, passing it the changed row`, async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.createList(list);
        const number = '+14155550177';
        expect(await h.optin.unsubscribe(list.id, number, NOW, () => [anEntry(list, number, 'unsubscribed')])).toBeUndefined(); // never signed up
        const signup = aSignup(list, number);
        await h.optin.openSignup(signup, []);
        const seen: SubscriberRecord[] = [];
        const results = await race(RACERS, () =>
          h.optin.unsubscribe(list.id, number, NOW + 7, (row) => {
            seen.push(row);
            return [anEntry(list, number, 'unsubscribed', { at: NOW + 7, signupId: row.signupId })];
          }),
        );
        expect(defined(results)).toHaveLength(1);
        expect(seen).toHaveLength(1);
        expect(seen[0]).toMatchObject({ status: 'unsubscribed', unsubscribedAt: NOW + 7, codeHash: null, signupId: signup.signupId });
        expect(await h.optin.ledgerFor(list.id, number)).toMatchObject([{ type: 'unsubscribed', signupId: signup.signupId }]);
      });

      it('expires each due sign-up exactly once across concurrent sweeps, with one ledger entry each, and nothing else', async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.createList(list);
        const due = Array.from({ length: 25 }, (_, i) => aSignup(list, `+1202555${String(1000 + i)}`, { expiresAt: NOW - 1000 + i }));
        const notDue = Array.from({ length: 3 }, (_, i) => aSignup(list, `+1202556${String(1000 + i)}`, { expiresAt: NOW + 1 }));
        const confirmed = aSignup(list, '+12025570000', { expiresAt: NOW + 10 });
        for (const signup of [...due, ...notDue, confirmed]) await h.optin.openSignup(signup, []);
        await h.optin.confirmPending(list.id, confirmed.number, confirmed.signupId, NOW - 5000, []);

        const entry = (row: SubscriberRecord): LedgerEntry => anEntry(list, row.number, 'expired', { channel: 'system', signupId: row.signupId });
        const sweeps = await race(4, () => h.optin.expireDue(NOW, 10, entry));
        const swept = sweeps.flat().filter((row) => row.listId === list.id);
        const rest = (await h.optin.expireDue(NOW, 1000, entry)).filter((row) => row.listId === list.id);
        const all = [...swept, ...rest].map((row) => row.number);
        expect(all.sort()).toEqual(due.map((s) => s.number).sort());
        for (const sweep of sweeps) expect(sweep.length).toBeLessThanOrEqual(10);
        for (const row of [...swept, ...rest]) expect(row).toMatchObject({ status: 'expired', codeHash: null, updatedAt: NOW });
        for (const signup of due) expect((await h.optin.ledgerFor(list.id, signup.number)).map((e) => e.type)).toEqual(['expired']);
        for (const signup of notDue) expect(await h.optin.findSubscriber(list.id, signup.number)).toMatchObject({ status: 'pending' });
        expect(await h.optin.findSubscriber(list.id, confirmed.number)).toMatchObject({ status: 'confirmed' });
      });

      it('pages through a list by id after a cursor, optionally in one status', async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.createList(list);
        const signups = Array.from({ length: 12 }, (_, i) => aSignup(list, `+3361234${String(1000 + i)}`));
        for (const signup of signups) await h.optin.openSignup(signup, []);
        for (const signup of signups.slice(0, 5)) await h.optin.confirmPending(list.id, signup.number, signup.signupId, NOW + 1, []);
        const byId = [...signups].sort((a, b) => compareText(a.id, b.id));

        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await h.optin.page(list.id, undefined, after, 5);
          seen.push(...page.map((row) => row.id));
          if (page.length < 5) break;
          after = page.at(-1)!.id;
        }
        expect(seen).toEqual(byId.map((s) => s.id));
        const confirmedIds = byId.filter((s) => signups.indexOf(s) < 5).map((s) => s.id);
        expect((await h.optin.page(list.id, 'confirmed', undefined, 100)).map((row) => row.id)).toEqual(confirmedIds);
        expect((await h.optin.page(list.id, 'confirmed', confirmedIds[1], 2)).map((row) => row.id)).toEqual(confirmedIds.slice(2, 4));
        expect(await h.optin.page(list.id, 'expired', undefined, 100)).toEqual([]);
      });

      it('appends ledger entries as given and returns a trail oldest first', async () => {
        const list = aList(newId('app', Date.now()));
        const number = '+4915112345678';
        const entries = [
          anEntry(list, number, 'reply_received', { at: NOW + 5, channel: 'sms', text: 'YES', textSha256: 'ab'.repeat(32), ip: null, userAgent: null, details: { keyword: 'YES', nested: { a: [1, 2] } } }),
          anEntry(list, number, 'message_sent', { at: NOW + 1, channel: 'system', consentText: null, consentTextVersion: null, source: null }),
        ];
        await h.optin.appendLedger(entries);
        await h.optin.appendLedger([]);
        await h.optin.appendLedger([anEntry(list, '+4915100000000', 'help_sent')]);
        const trail = await h.optin.ledgerFor(list.id, number);
        expect(trail.map(({ id: _id, ...rest }) => rest)).toEqual(entries);
      });

      it('refuses to rewrite or delete consent evidence, even through raw SQL', async () => {
        const list = aList(newId('app', Date.now()));
        const number = '+14155550111';
        await h.optin.appendLedger([anEntry(list, number, 'confirmed', { at: NOW })]);
        await expect(h.exec(`UPDATE optin_consent_ledger SET type = 'unsubscribed' WHERE list_id = '${list.id}'`)).rejects.toThrow(/append-only/);
        await expect(h.exec(`DELETE FROM optin_consent_ledger WHERE list_id = '${list.id}'`)).rejects.toThrow(/append-only/);
        expect(await h.optin.ledgerFor(list.id, number)).toMatchObject([{ type: 'confirmed', at: NOW }]);
      });

      it('purges only entries older than the cutoff, and the ledger is append-only again right after', async () => {
        const list = aList(newId('app', Date.now()));
        const number = '+14155550222';
        await h.optin.appendLedger([1000, 2000, 3000].map((at) => anEntry(list, number, 'requested', { at })));
        const older = await h.queryNumber('SELECT count(*) FROM optin_consent_ledger WHERE at < 2500');
        expect(await h.optin.purgeLedgerBefore(2500)).toBe(older);
        expect((await h.optin.ledgerFor(list.id, number)).map((e) => e.at)).toEqual([3000]);
        expect(await h.queryNumber('SELECT purge_before FROM optin_ledger_retention WHERE id = 1')).toBe(0);
        await expect(h.exec(`DELETE FROM optin_consent_ledger WHERE list_id = '${list.id}'`)).rejects.toThrow(/append-only/);
        expect(await h.optin.ledgerFor(list.id, number)).toHaveLength(1);
      });

      it('concurrent purges delete each old entry once and fail none', async () => {
        const list = aList(newId('app', Date.now()));
        await h.optin.appendLedger(Array.from({ length: 30 }, (_, i) => anEntry(list, `+1415555${String(3000 + i)}`, 'requested', { at: 10_000 + i })));
        const older = await h.queryNumber('SELECT count(*) FROM optin_consent_ledger WHERE at < 20000');
        const deleted = await race(4, () => h.optin.purgeLedgerBefore(20_000));
        expect(deleted.reduce((sum, n) => sum + n, 0)).toBe(older);
        expect(await h.queryNumber('SELECT count(*) FROM optin_consent_ledger WHERE at < 20000')).toBe(0);
      });
    });

    describe('FactorStore', () => {
      it(`creates at most the per-user limit under ${RACERS} concurrent enrolments, after removing stale unverified factors`, async () => {
        const app = newId('app', Date.now());
        const user = 'user_1';
        const stale = aFactor(app, user, { createdAt: NOW - DAY });
        const keep = aFactor(app, user, { createdAt: NOW - DAY, status: 'verified' });
        expect(await h.factors.createIfBelowLimit(stale, 5, 0)).toBe(true);
        expect(await h.factors.createIfBelowLimit(keep, 5, 0)).toBe(true);

        const created = await race(RACERS, (i) => h.factors.createIfBelowLimit(aFactor(app, user, { createdAt: NOW + i }), 4, NOW - HOUR));
        expect(created.filter(Boolean)).toHaveLength(3);
        const listed = await h.factors.listByUser(app, user);
        expect(listed).toHaveLength(4);
        expect(listed.map((f) => f.id)).not.toContain(stale.id);
        expect(listed[0]).toEqual(keep);
        expect(listed.map((f) => f.createdAt)).toEqual([...listed.map((f) => f.createdAt)].sort((a, b) => a - b));
        // Another user and another app have their own limit.
        expect(await h.factors.createIfBelowLimit(aFactor(app, 'user_2'), 4, 0)).toBe(true);
        expect(await h.factors.createIfBelowLimit(aFactor(newId('app', Date.now()), user), 4, 0)).toBe(true);
      });

      it("finds a factor only in its own app and lists a user's factors oldest first", async () => {
        const app = newId('app', Date.now());
        const factors = [aFactor(app, 'u', { createdAt: NOW + 2 }), aFactor(app, 'u', { createdAt: NOW }), aFactor(app, 'v', { createdAt: NOW + 1 })];
        for (const factor of factors) await h.factors.createIfBelowLimit(factor, 5, 0);
        expect(await h.factors.findById(app, factors[0]!.id)).toEqual(factors[0]);
        expect(await h.factors.findById(newId('app', Date.now()), factors[0]!.id)).toBeUndefined();
        expect(await h.factors.findById(app, newId('fac', Date.now()))).toBeUndefined();
        expect(await h.factors.listByUser(app, 'u')).toEqual([factors[1], factors[0]]);
        expect(await h.factors.listByUser(app, 'nobody')).toEqual([]);
      });

      it(`gives out no more attempts than are left to ${RACERS + 2} concurrent callers, then locks until the lock ends`, async () => {
        const app = newId('app', Date.now());
        const factor = aFactor(app, 'u', { maxAttempts: 5 });
        await h.factors.createIfBelowLimit(factor, 5, 0);
        const taken = defined(await race(RACERS + 2, () => h.factors.reserveAttempt(factor.id, NOW)));
        expect(taken.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5]);
        expect(await h.factors.reserveAttempt(factor.id, NOW)).toBeUndefined();

        await h.factors.lockIfExhausted(factor.id, NOW + 60_000);
        expect(await h.factors.findById(app, factor.id)).toMatchObject({ attempts: 0, lockedUntil: NOW + 60_000 });
        expect(await h.factors.reserveAttempt(factor.id, NOW + 59_999)).toBeUndefined();
        expect(await h.factors.reserveAttempt(factor.id, NOW + 60_000)).toBe(1);
        // Not exhausted: no lock.
        await h.factors.lockIfExhausted(factor.id, NOW + 120_000);
        expect(await h.factors.findById(app, factor.id)).toMatchObject({ attempts: 1, lockedUntil: NOW + 60_000 });
      });

      it(`activates for exactly one of ${RACERS} concurrent callers, storing its recovery codes once`, async () => {
        const app = newId('app', Date.now());
        const factor = aFactor(app, 'u', { lastStep: 500 });
        await h.factors.createIfBelowLimit(factor, 5, 0);
        expect(await h.factors.activate(factor.id, 500, NOW, hashes(10))).toBe(false); // not later than the last step
        const results = await race(RACERS, () => h.factors.activate(factor.id, 501, NOW, hashes(10)));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await h.factors.countUnusedRecoveryCodes(factor.id)).toBe(10);
        expect(await h.factors.findById(app, factor.id)).toMatchObject({ status: 'verified', lastStep: 501, attempts: 0, verifiedAt: NOW, lastUsedAt: NOW });
        expect(await h.factors.activate(factor.id, 600, NOW, hashes(10))).toBe(false); // already verified
      });

      it(`accepts a time step once among ${RACERS} concurrent callers, and never an earlier one`, async () => {
        const app = newId('app', Date.now());
        const factor = await verifiedFactor(h.factors, app, hashes(2));
        expect(await h.factors.acceptStep(factor.id, 1000, NOW)).toBe(false); // the step that activated it
        await h.factors.reserveAttempt(factor.id, NOW);
        const results = await race(RACERS, () => h.factors.acceptStep(factor.id, 1001, NOW + 30_000));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await h.factors.findById(app, factor.id)).toMatchObject({ lastStep: 1001, attempts: 0, lastUsedAt: NOW + 30_000 });
        expect(await h.factors.acceptStep(factor.id, 999, NOW + 60_000)).toBe(false);
        const unverified = aFactor(app, 'other');
        await h.factors.createIfBelowLimit(unverified, 5, 0);
        expect(await h.factors.acceptStep(unverified.id, 5, NOW)).toBe(false);
      });

      it(`lets one of ${RACERS} concurrent callers use a recovery code, once`, async () => {
        const app = newId('app', Date.now());
        const codes = hashes(3);
        const factor = await verifiedFactor(h.factors, app, codes);
        await h.factors.reserveAttempt(factor.id, NOW);
        const results = await race(RACERS, () => h.factors.useRecoveryCode(factor.id, codes[1]!, NOW + 5));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await h.factors.countUnusedRecoveryCodes(factor.id)).toBe(2);
        expect(await h.factors.findById(app, factor.id)).toMatchObject({ attempts: 0, lastUsedAt: NOW + 5 });
        expect(await h.factors.useRecoveryCode(factor.id, codes[1]!, NOW + 6)).toBe(false);
        expect(await h.factors.useRecoveryCode(factor.id, 'not-a-code', NOW + 6)).toBe(false);
        const other = await verifiedFactor(h.factors, app, hashes(1));
        expect(await h.factors.useRecoveryCode(other.id, codes[0]!, NOW + 6)).toBe(false); // another factor's code
      });

      it('replaces every recovery code atomically, even under concurrent replacements, and only on a verified factor', async () => {
        const app = newId('app', Date.now());
        const factor = await verifiedFactor(h.factors, app, hashes(10));
        const unverified = aFactor(app, 'other');
        await h.factors.createIfBelowLimit(unverified, 5, 0);
        expect(await h.factors.replaceRecoveryCodes(unverified.id, hashes(10), NOW)).toBe(false);
        expect(await h.factors.replaceRecoveryCodes(newId('fac', Date.now()), hashes(10), NOW)).toBe(false);
        expect(await h.factors.countUnusedRecoveryCodes(unverified.id)).toBe(0);

        const sets = Array.from({ length: 5 }, () => hashes(8));
        expect(await race(5, (i) => h.factors.replaceRecoveryCodes(factor.id, sets[i]!, NOW + 1))).toEqual([true, true, true, true, true]);
        expect(await h.factors.countUnusedRecoveryCodes(factor.id)).toBe(8);
        // Exactly one whole set survived.
        const usable = await Promise.all(sets.map(async (set) => (await h.factors.useRecoveryCode(factor.id, set[0]!, NOW + 2)) && (await h.factors.useRecoveryCode(factor.id, set[7]!, NOW + 2))));
        expect(usable.filter(Boolean)).toHaveLength(1);
      });

      it(`deletes a factor and its codes for exactly one of ${RACERS} concurrent callers, and only in its own app`, async () => {
        const app = newId('app', Date.now());
        const factor = await verifiedFactor(h.factors, app, hashes(4));
        expect(await h.factors.delete(newId('app', Date.now()), factor.id)).toBe(false);
        const results = await race(RACERS, () => h.factors.delete(app, factor.id));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await h.factors.findById(app, factor.id)).toBeUndefined();
        expect(await h.factors.countUnusedRecoveryCodes(factor.id)).toBe(0);
        expect(await h.queryNumber(`SELECT count(*) FROM factor_recovery_codes WHERE factor_id = '${factor.id}'`)).toBe(0);
      });

      it('lists secrets not sealed under a key by exact prefix (a `_` in the key id is no wildcard), and replaces one only if unchanged', async () => {
        const app = newId('app', Date.now());
        const kid = `k_${randomBytes(3).toString('hex')}`;
        const under = aFactor(app, 'a', { secretSealed: `v1.${kid}.secret-a` });
        const lookalike = aFactor(app, 'b', { secretSealed: `v1.${kid.replace('_', 'x')}.secret-b` });
        const older = aFactor(app, 'c', { secretSealed: 'v1.k0.secret-c' });
        for (const factor of [under, lookalike, older]) await h.factors.createIfBelowLimit(factor, 5, 0);
        const mine = new Set([under.id, lookalike.id, older.id]);
        const listed = (await h.factors.listSealedNotUnder(kid, 100_000)).filter((row) => mine.has(row.id));
        expect(listed.sort((a, b) => compareText(a.id, b.id))).toEqual(
          [lookalike, older].map((f) => ({ id: f.id, secretSealed: f.secretSealed })).sort((a, b) => compareText(a.id, b.id)),
        );
        expect(await h.factors.listSealedNotUnder(kid, 1)).toHaveLength(1);

        const results = await race(RACERS, (i) => h.factors.replaceSealed(older.id, older.secretSealed, `v1.${kid}.resealed-${i}`));
        expect(results.filter(Boolean)).toHaveLength(1);
        expect((await h.factors.findById(app, older.id))!.secretSealed).toBe(`v1.${kid}.resealed-${results.indexOf(true)}`);
        expect(await h.factors.replaceSealed(older.id, older.secretSealed, 'v1.k9.again')).toBe(false);
      });
    });

    describe('ReportsStore', () => {
      const rows = makeEvents(3000, 7);

      beforeAll(async () => {
        await h.insertEvents(rows);
      });

      it('answers every report query exactly as the reference computation does (groups, counts, buckets, order, ties)', async () => {
        const cases = reportCases(rows);
        expect(cases.length).toBeGreaterThan(800);
        let nonEmpty = 0;
        for (const c of cases) {
          const actual = await c.run(h.reports);
          expect(actual, c.name).toStrictEqual(c.expected);
          if (Array.isArray(actual) && actual.length > 0) nonEmpty += 1;
        }
        // The data exercise the queries: most answers have rows.
        expect(nonEmpty).toBeGreaterThan(cases.length / 2);
      });

      it('pages through every record of a window with the (at, id) cursor, newest first, none twice', async () => {
        const scope: RecordScope = { from: EVENTS_FROM, to: EVENTS_FROM + EVENTS_DAYS * DAY, app: undefined };
        const expected = expectedEvents(rows, scope, Infinity).map((e) => e.id);
        expect(expected.length).toBeGreaterThan(2500);
        expect(await walk(h.reports, scope, 97)).toEqual(expected);
      });

      it('returns numbers, not strings, for ids, times and counts', async () => {
        const scope = SCOPES[0]!;
        const [event] = await h.reports.listEvents(scope, 1);
        expect(typeof event!.id).toBe('number');
        expect(typeof event!.at).toBe('number');
        const [offender] = await h.reports.topOffenders(scope, 'number', 1);
        for (const value of [offender!.failures, offender!.started, offender!.firstAt, offender!.lastAt]) expect(typeof value).toBe('number');
        const [conversion] = await h.reports.conversion(scope, 'country');
        for (const value of [conversion!.started, conversion!.sent, conversion!.delivered, conversion!.deliveryFailed, conversion!.approved]) expect(typeof value).toBe('number');
      });
    });
  });
}

// =============================================================================================

/**
 * The same records in SQLite and PostgreSQL give deep-equal reports. Run twice on PostgreSQL: on
 * the default database and on one whose default collation is ICU en-US, where 'a' < 'B' and `_`
 * sorts before `:` (as on many production servers), so a tie broken by locale order would show.
 */
describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('ReportsStore: PostgreSQL answers exactly as SQLite on the same records', () => {
  const rows = makeEvents(4000, 20260108);
  let sqlite: Harness;
  const postgres: { name: string; harness: Harness | undefined; skip?: string }[] = [];

  async function createIcuDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
    const name = `otp_test_${Math.floor(Date.now() / 1000)}_${randomBytes(6).toString('hex')}`;
    const admin = async (statement: string): Promise<void> => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await admin(`CREATE DATABASE "${name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`);
    const url = new URL(POSTGRES_URL!);
    url.pathname = `/${name}`;
    return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
  }

  beforeAll(async () => {
    sqlite = openSqliteHarness();
    await sqlite.insertEvents(rows);
    const standard = await openPostgresTestHarness();
    await standard.insertEvents(rows);
    postgres.push({ name: 'default collation', harness: standard });
    try {
      const icu = await createIcuDatabase();
      const harness = await openPostgresHarness(icu.url, icu.drop);
      await harness.insertEvents(rows);
      postgres.push({ name: 'ICU en-US collation', harness });
    } catch (error) {
      postgres.push({ name: 'ICU en-US collation', harness: undefined, skip: `cannot create an ICU database on this server: ${(error as Error).message}` });
    }
  });

  afterAll(async () => {
    await sqlite?.close();
    for (const { harness } of postgres) await harness?.close();
  });

  it('every report query returns deep-equal results on both dialects, on both collations', async () => {
    const cases = reportCases(rows);
    for (const target of postgres) {
      if (!target.harness) {
        console.warn(`ReportsStore on ${target.name} skipped: ${target.skip}`);
        continue;
      }
      if (target.name.startsWith('ICU')) {
        // The database really orders text by locale: without COLLATE "C" ties would come out differently.
        expect(await target.harness.queryNumber(`SELECT CASE WHEN 'a' < 'B' AND 'limit_number' < 'limit:ip' THEN 1 ELSE 0 END`)).toBe(1);
      }
      let differences = 0;
      for (const c of cases) {
        const [left, right] = await Promise.all([c.run(sqlite.reports), c.run(target.harness.reports)]);
        expect(right, `${target.name}: ${c.name}`).toStrictEqual(left);
        if (JSON.stringify(left) !== JSON.stringify(right)) differences += 1;
      }
      expect(differences).toBe(0);
      expect(await walk(target.harness.reports, SCOPES[0]!, 250)).toEqual(await walk(sqlite.reports, SCOPES[0]!, 250));
    }
    expect(postgres[0]!.harness).toBeDefined();
  });
});
