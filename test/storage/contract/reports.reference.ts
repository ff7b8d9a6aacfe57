import {
  DIMENSIONS,
  TIME_BUCKETS,
  type ConversionCounts,
  type CountRow,
  type Dimension,
  type EventFilter,
  type OffenderCounts,
  type OffenderDimension,
  type RecordScope,
  type ReportsStore,
  type RuleCount,
  type StoredEvent,
  type TimeBucket,
} from '../../../src/reports/reports.store.js';
import { compareText, DAY, HOUR } from './fixtures.js';

/**
 * The reference the report contract (reports.contract.ts) checks both dialects against: event
 * records made deterministically from a seed, and what every report query must answer over them,
 * computed in plain TypeScript.
 */

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

export const EVENTS_FROM = Date.UTC(2026, 0, 1);
export const EVENTS_DAYS = 3;
const APPS = ['acme', 'Acme', 'beta', 'Zeta', 'café', 'cafe'];
const SUCCESS_REASONS = ['started', 'sent', 'delivered', 'approved'];
const FAILURE_REASONS = [
  'incorrect_code',
  'rate_limited',
  'delivery_failed',
  'unauthorized',
  'expired',
  'Blocked',
];
const RULES = [
  'limit:prefix:1h',
  'limit_number',
  'limit:ip:1d',
  'invalid_key',
  'Abuse.pumping',
  'abuse_pumping',
];
const CHANNELS = ['sms', 'voice', 'flashcall', 'SMS'];
const PROVIDERS = ['log', 'twilio', 'Twilio', 'http'];
const COUNTRY_CODES = ['FR', 'US', 'GB', 'DE'];
const IPS = [
  '203.0.113.5',
  '198.51.100.7',
  '10.0.0.9',
  '100.0.0.1',
  '2001:db8::1',
  '192.0.2.99',
  '192.0.2.100',
];
export const NUMBERS = Array.from({ length: 30 }, (_, i) => ({
  hash: `h${String(i).padStart(2, '0')}${'abcdef'[i % 6]}`,
  prefix: ['+3361234', '+44770090', '+1415555', '+336123', '+4477009', '+49151'][i % 6]!,
  country: ['FR', 'GB', 'US', 'FR', 'GB', 'DE'][i % 6]!,
  enc: [`enc.${i}.A`, `enc.${i}.b`, `enc.${i}.B`, `ènc.${i}`],
}));

export function makeEvents(count: number, seed: number): StoredEvent[] {
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
    const reason =
      kind === 'failure'
        ? pick(FAILURE_REASONS)
        : kind === 'success'
          ? pick(SUCCESS_REASONS)
          : 'number_revealed';
    const number =
      random() < 0.85 ? NUMBERS[Math.floor(random() * random() * NUMBERS.length)]! : undefined;
    rows.push({
      id: i + 1,
      at,
      app: maybe(pick(APPS), 0.1),
      kind,
      reason,
      rule: kind === 'failure' ? maybe(pick(RULES), 0.4) : null,
      details:
        random() < 0.2 ? JSON.stringify({ count: Math.floor(random() * 50), limit: 30 }) : null,
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
export const SCOPES: RecordScope[] = [
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

const inScope = (e: StoredEvent, scope: RecordScope): boolean =>
  e.at >= scope.from &&
  e.at < scope.to &&
  (scope.app === undefined || e.app === scope.app) &&
  (scope.country === undefined || e.country === scope.country);

const OFFENDER_FIELD: Record<OffenderDimension, 'prefix' | 'ip' | 'numberHash'> = {
  prefix: 'prefix',
  ip: 'ip',
  number: 'numberHash',
};
const BUCKET_MS: Record<TimeBucket, number> = { hour: HOUR, day: DAY };

function tally<T>(
  rows: readonly StoredEvent[],
  keyOf: (e: StoredEvent) => string,
  init: (e: StoredEvent) => T,
  add: (group: T, e: StoredEvent) => void,
): T[] {
  const groups = new Map<string, T>();
  for (const e of rows) {
    const k = keyOf(e);
    let group = groups.get(k);
    if (!group) groups.set(k, (group = init(e)));
    add(group, e);
  }
  return [...groups.values()];
}

function expectedFailures(
  rows: readonly StoredEvent[],
  scope: RecordScope,
  groupBy: Dimension | TimeBucket,
  stackBy: Dimension | undefined,
): CountRow[] {
  const bucket = groupBy === 'hour' || groupBy === 'day';
  const keyOf = (e: StoredEvent): string | null =>
    bucket ? String(Math.trunc(e.at / BUCKET_MS[groupBy]) * BUCKET_MS[groupBy]) : e[groupBy];
  const groups = tally(
    rows.filter((e) => e.kind === 'failure' && inScope(e, scope)),
    (e) => JSON.stringify([keyOf(e), stackBy ? e[stackBy] : null]),
    (e): CountRow =>
      stackBy ? { key: keyOf(e), stack: e[stackBy], count: 0 } : { key: keyOf(e), count: 0 },
    (g) => void (g.count += 1),
  );
  return groups.sort(
    (a, b) =>
      (bucket
        ? compareText(a.key, b.key) || b.count - a.count
        : b.count - a.count || compareText(a.key, b.key)) ||
      compareText(a.stack ?? null, b.stack ?? null),
  );
}

function expectedConversion(
  rows: readonly StoredEvent[],
  scope: RecordScope,
  groupBy: 'country' | 'prefix' | 'channel',
): ConversionCounts[] {
  const counted = ['started', 'sent', 'delivered', 'delivery_failed', 'approved'];
  const groups = tally(
    rows.filter((e) => counted.includes(e.reason) && inScope(e, scope)),
    (e) => JSON.stringify(e[groupBy]),
    (e): ConversionCounts => ({
      key: e[groupBy],
      started: 0,
      sent: 0,
      delivered: 0,
      deliveryFailed: 0,
      approved: 0,
    }),
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

function expectedOffenders(
  rows: readonly StoredEvent[],
  scope: RecordScope,
  dimension: OffenderDimension,
  limit: number,
): OffenderCounts[] {
  const field = OFFENDER_FIELD[dimension];
  const maxText = (a: string | null, b: string | null): string | null =>
    compareText(a, b) >= 0 ? a : b;
  const top = tally(
    rows.filter((e) => e.kind === 'failure' && e[field] !== null && inScope(e, scope)),
    (e) => e[field]!,
    (e): OffenderCounts => ({
      key: e[field]!,
      failures: 0,
      started: 0,
      sent: 0,
      approved: 0,
      firstAt: e.at,
      lastAt: e.at,
      numberEnc: null,
    }),
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

function expectedRules(
  rows: readonly StoredEvent[],
  scope: RecordScope,
  dimension?: OffenderDimension,
  keys?: string[],
): RuleCount[] {
  const per = dimension !== undefined && keys !== undefined;
  const field = dimension ? OFFENDER_FIELD[dimension] : undefined;
  const groups = tally(
    rows.filter(
      (e) =>
        e.kind === 'failure' &&
        e.rule !== null &&
        inScope(e, scope) &&
        (!per || keys.includes(e[field!] as string)),
    ),
    (e) => JSON.stringify([per ? e[field!] : null, e.rule, e.reason]),
    (e): RuleCount => ({ key: per ? e[field!] : null, rule: e.rule!, reason: e.reason, count: 0 }),
    (g) => void (g.count += 1),
  );
  return groups.sort(
    (a, b) =>
      b.count - a.count ||
      compareText(a.key, b.key) ||
      compareText(a.rule, b.rule) ||
      compareText(a.reason, b.reason),
  );
}

export function expectedEvents(
  rows: readonly StoredEvent[],
  filter: EventFilter,
  limit: number,
): StoredEvent[] {
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
export function reportCases(
  rows: readonly StoredEvent[],
): { name: string; run: (store: ReportsStore) => Promise<unknown>; expected: unknown }[] {
  const cases: {
    name: string;
    run: (store: ReportsStore) => Promise<unknown>;
    expected: unknown;
  }[] = [];
  SCOPES.forEach((scope, s) => {
    for (const groupBy of [...DIMENSIONS, ...TIME_BUCKETS]) {
      for (const stackBy of [undefined, ...DIMENSIONS]) {
        cases.push({
          name: `scope ${s}: countFailures(${groupBy}, ${stackBy})`,
          run: (store) => store.countFailures(scope, groupBy, stackBy),
          expected: expectedFailures(rows, scope, groupBy, stackBy),
        });
      }
    }
    for (const groupBy of ['country', 'prefix', 'channel'] as const) {
      cases.push({
        name: `scope ${s}: conversion(${groupBy})`,
        run: (store) => store.conversion(scope, groupBy),
        expected: expectedConversion(rows, scope, groupBy),
      });
    }
    cases.push({
      name: `scope ${s}: rulesFired()`,
      run: (store) => store.rulesFired(scope),
      expected: expectedRules(rows, scope),
    });
    for (const dimension of ['prefix', 'ip', 'number'] as const) {
      for (const limit of [1, 3, 1000]) {
        cases.push({
          name: `scope ${s}: topOffenders(${dimension}, ${limit})`,
          run: (store) => store.topOffenders(scope, dimension, limit),
          expected: expectedOffenders(rows, scope, dimension, limit),
        });
      }
      const keys = [
        ...expectedOffenders(rows, scope, dimension, 5).map((row) => row.key),
        'no-such-key',
      ];
      cases.push({
        name: `scope ${s}: rulesFired(${dimension}, top keys)`,
        run: (store) => store.rulesFired(scope, dimension, keys),
        expected: expectedRules(rows, scope, dimension, keys),
      });
      cases.push({
        name: `scope ${s}: rulesFired(${dimension}, [])`,
        run: (store) => store.rulesFired(scope, dimension, []),
        expected: [],
      });
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
      cases.push({
        name: `scope ${s}: listEvents(filter ${f}, 50)`,
        run: (store) => store.listEvents(filter, 50),
        expected: expectedEvents(rows, filter, 50),
      });
    });
  });
  return cases;
}

/** Walks a window page by page with the (at, id) cursor, as GET /v1/events does. */
export async function walk(
  store: ReportsStore,
  scope: RecordScope,
  pageSize: number,
): Promise<number[]> {
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
