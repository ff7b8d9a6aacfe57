import type { EventRecorder } from '../events/events.js';
import { maskNumber, type NumberProtector } from '../events/number-protection.js';
import type { Clock } from '../platform/clock.js';
import { DomainError } from '../platform/errors.js';
import {
  NO_BLOCKLIST,
  type BlockStatus,
  type BlockStatusReader,
  type BlockTarget,
} from './block-status.js';
import type {
  ConversionCounts,
  Dimension,
  EventFilter,
  OffenderCounts,
  OffenderDimension,
  RecordScope,
  ReportsStore,
  RuleCount,
  StoredEvent,
  TimeBucket,
} from './reports.store.js';

const DAY_MS = 86_400_000;
const DEFAULT_WINDOW_MS = 7 * DAY_MS;
const MAX_WINDOW_MS = 400 * DAY_MS;
const MAX_HOURLY_WINDOW_MS = 31 * DAY_MS;
const AUDITED_HASHES = 100;

/** Who asks: the key's app, and whether it may read every app's records (keys of ADMIN_APP may). */
export interface Viewer {
  app: string;
  allApps: boolean;
  keyId: string;
  ip: string | undefined;
  userAgent: string | undefined;
}

export interface Window {
  from?: number | undefined;
  to?: number | undefined;
  /** Window length ending at `to`, used when `from` is absent (default 7). */
  days?: number | undefined;
  /** Only records of this country (ISO 3166-1 alpha-2). */
  country?: string | undefined;
}

export interface FailureGroup {
  key: string | null;
  stack?: string | null;
  count: number;
}

export interface FailureReport {
  from: number;
  to: number;
  groupBy: Dimension | TimeBucket;
  stackBy: Dimension | null;
  total: number;
  groups: FailureGroup[];
}

export interface ConversionGroup extends ConversionCounts {
  /** sent / started: the share of starts a provider accepted. */
  sendRate: number | null;
  /** delivered / sent, from delivery receipts; null when no receipt arrived. */
  deliveryRate: number | null;
  /** approved / started. */
  conversionRate: number | null;
}

export interface ConversionReport {
  from: number;
  to: number;
  groupBy: 'country' | 'prefix' | 'channel';
  groups: ConversionGroup[];
}

export interface AbuseRow {
  kind: OffenderDimension;
  /** The prefix or IP; for numbers the masked number. */
  value: string;
  /** For numbers: the keyed hash, the handle to filter its events by. */
  numberHash: string | null;
  failures: number;
  started: number;
  sent: number;
  approved: number;
  conversionRate: number | null;
  /** Sends accepted by a provider that no approval followed: sent − approved, at least 0. */
  wastedSends: number;
  estimatedCost: number | null;
  firstAt: number;
  lastAt: number;
  rules: { rule: string; reason: string; count: number }[];
  block: BlockStatus;
  /** The events behind this row. */
  eventsUrl: string;
}

export interface AbuseReport {
  from: number;
  to: number;
  prefixes: AbuseRow[];
  ips: AbuseRow[];
  numbers: AbuseRow[];
  rules: { rule: string; reason: string; count: number }[];
  totals: {
    started: number;
    sent: number;
    approved: number;
    wastedSends: number;
    estimatedCost: number | null;
  };
}

export interface EventView {
  id: string;
  at: number;
  app: string | null;
  kind: string;
  reason: string;
  rule: string | null;
  details: Record<string, unknown> | null;
  channel: string | null;
  provider: string | null;
  providerError: string | null;
  /** Masked, or the E.164 number when revealed. */
  number: string | null;
  numberHash: string | null;
  prefix: string | null;
  country: string | null;
  numberType: string | null;
  ip: string | null;
  userAgent: string | null;
  verificationId: string | null;
}

export interface EventQuery extends Window {
  kind?: 'failure' | 'success' | 'audit' | undefined;
  reason?: string | undefined;
  /** E.164; looked up by its keyed hash. */
  number?: string | undefined;
  numberHash?: string | undefined;
  prefix?: string | undefined;
  ip?: string | undefined;
  verificationId?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
  /** Full numbers instead of masked ones; recorded as an `audit` event. */
  reveal?: boolean | undefined;
}

export interface EventPage {
  events: EventView[];
  nextCursor: string | null;
}

export interface ReportsServiceDeps {
  store: ReportsStore;
  protector: NumberProtector;
  /** Where reveals of full numbers are recorded. */
  events: EventRecorder;
  clock: Clock;
  blockStatus?: BlockStatusReader;
  /** Price of one SMS, for the estimated cost of wasted sends; unknown when absent. */
  smsUnitCost?: number | undefined;
}

export interface ReportsService {
  /** Failure counts per group. Throws invalid_request for a window that is empty, reversed or too long. */
  failures(
    viewer: Viewer,
    input: Window & { groupBy: Dimension | TimeBucket; stackBy?: Dimension | undefined },
  ): Promise<FailureReport>;
  conversion(
    viewer: Viewer,
    input: Window & { groupBy: 'country' | 'prefix' | 'channel' },
  ): Promise<ConversionReport>;
  /** Top offending prefixes, IPs and numbers; numbers masked, never in clear. */
  abuse(viewer: Viewer, input: Window & { limit?: number | undefined }): Promise<AbuseReport>;
  /** Raw records, newest first. Throws invalid_request for a bad cursor or number. */
  events(viewer: Viewer, input: EventQuery): Promise<EventPage>;
}

const rate = (part: number, whole: number): number | null =>
  whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null;

function encodeCursor(event: StoredEvent): string {
  return Buffer.from(`${event.at}.${event.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { at: number; id: number } {
  const match = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match)
    throw new DomainError('invalid_request', {
      details: { errors: [{ path: 'cursor', message: 'not a cursor from this API' }] },
    });
  return { at: Number(match[1]), id: Number(match[2]) };
}

function parseDetails(details: string | null): Record<string, unknown> | null {
  if (details === null) return null;
  try {
    return JSON.parse(details) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** The dependencies as the functions below use them, with the default block-status reader filled in. */
interface ResolvedReportsDeps extends ReportsServiceDeps {
  blockStatus: BlockStatusReader;
}

export function createReportsService(deps: ReportsServiceDeps): ReportsService {
  const d: ResolvedReportsDeps = { ...deps, blockStatus: deps.blockStatus ?? NO_BLOCKLIST };
  return {
    failures: (viewer, input) => failures(d, viewer, input),
    conversion: (viewer, input) => conversion(d, viewer, input),
    abuse: (viewer, input) => abuse(d, viewer, input),
    events: (viewer, input) => events(d, viewer, input),
  };
}

function scopeOf(
  deps: ResolvedReportsDeps,
  viewer: Viewer,
  input: Window,
  options?: { maxMs: number },
): RecordScope {
  // The window is [from, to): by default it ends just after now, so events of this very millisecond count.
  const to = input.to ?? deps.clock.now() + 1;
  const from =
    input.from ?? to - (input.days !== undefined ? input.days * DAY_MS : DEFAULT_WINDOW_MS);
  const maxMs = options?.maxMs ?? MAX_WINDOW_MS;
  if (from >= to || to - from > maxMs) {
    throw new DomainError('invalid_request', {
      details: {
        errors: [
          {
            path: 'from',
            message: `from must be before to, at most ${Math.round(maxMs / DAY_MS)} days apart`,
          },
        ],
      },
    });
  }
  return { from, to, app: viewer.allApps ? undefined : viewer.app, country: input.country };
}

function reveal(deps: ResolvedReportsDeps, encrypted: string | null): string | undefined {
  return encrypted === null ? undefined : deps.protector.reveal(encrypted);
}

function cost(deps: ResolvedReportsDeps, wasted: number): number | null {
  return deps.smsUnitCost === undefined
    ? null
    : Math.round(wasted * deps.smsUnitCost * 10_000) / 10_000;
}

function eventsUrl(scope: RecordScope, filter: string): string {
  return `/v1/events?${filter}&from=${new Date(scope.from).toISOString()}&to=${new Date(scope.to).toISOString()}`;
}

async function offenders(
  deps: ResolvedReportsDeps,
  scope: RecordScope,
  dimension: OffenderDimension,
  limit: number,
): Promise<AbuseRow[]> {
  const top: OffenderCounts[] = await deps.store.topOffenders(scope, dimension, limit);
  const rules: RuleCount[] = await deps.store.rulesFired(
    scope,
    dimension,
    top.map((row) => row.key),
  );
  const numbers = top.map((row) =>
    dimension === 'number' ? reveal(deps, row.numberEnc) : undefined,
  );
  const targets: BlockTarget[] = top.map((row, i) => ({
    kind: dimension,
    value: dimension === 'number' ? (numbers[i] ?? '') : row.key,
  }));
  const statuses = await deps.blockStatus.statusOf(targets);
  return top.map((row, i) => {
    const wastedSends = Math.max(0, row.sent - row.approved);
    const number = numbers[i];
    const filter =
      dimension === 'number'
        ? `numberHash=${row.key}`
        : `${dimension}=${encodeURIComponent(row.key)}`;
    return {
      kind: dimension,
      value: dimension === 'number' ? (number ? maskNumber(number) : '••••') : row.key,
      numberHash: dimension === 'number' ? row.key : null,
      failures: row.failures,
      started: row.started,
      sent: row.sent,
      approved: row.approved,
      conversionRate: rate(row.approved, row.started),
      wastedSends,
      estimatedCost: cost(deps, wastedSends),
      firstAt: row.firstAt,
      lastAt: row.lastAt,
      rules: rules
        .filter((r) => r.key === row.key)
        .map(({ rule, reason, count }) => ({ rule, reason, count })),
      block: statuses[i] ?? { status: 'unknown', entryId: null, expiresAt: null },
      eventsUrl: eventsUrl(scope, filter),
    };
  });
}

function view(deps: ResolvedReportsDeps, event: StoredEvent, revealNumbers: boolean): EventView {
  const number = reveal(deps, event.numberEnc);
  return {
    id: String(event.id),
    at: event.at,
    app: event.app,
    kind: event.kind,
    reason: event.reason,
    rule: event.rule,
    details: parseDetails(event.details),
    channel: event.channel,
    provider: event.provider,
    providerError: event.providerError,
    number: number === undefined ? null : revealNumbers ? number : maskNumber(number),
    numberHash: event.numberHash,
    prefix: event.prefix,
    country: event.country,
    numberType: event.numberType,
    ip: event.ip,
    userAgent: event.userAgent,
    verificationId: event.verificationId,
  };
}

async function failures(
  deps: ResolvedReportsDeps,
  viewer: Viewer,
  input: Window & { groupBy: Dimension | TimeBucket; stackBy?: Dimension | undefined },
): Promise<FailureReport> {
  const bucket = input.groupBy === 'hour';
  const scope = scopeOf(deps, viewer, input, bucket ? { maxMs: MAX_HOURLY_WINDOW_MS } : undefined);
  const rows = await deps.store.countFailures(scope, input.groupBy, input.stackBy);
  const timed = input.groupBy === 'hour' || input.groupBy === 'day';
  const groups = rows.map((row) => {
    const key = timed && row.key !== null ? new Date(Number(row.key)).toISOString() : row.key;
    return input.stackBy
      ? { key, stack: row.stack ?? null, count: row.count }
      : { key, count: row.count };
  });
  return {
    from: scope.from,
    to: scope.to,
    groupBy: input.groupBy,
    stackBy: input.stackBy ?? null,
    total: rows.reduce((sum, row) => sum + row.count, 0),
    groups,
  };
}

async function conversion(
  deps: ResolvedReportsDeps,
  viewer: Viewer,
  input: Window & { groupBy: 'country' | 'prefix' | 'channel' },
): Promise<ConversionReport> {
  const scope = scopeOf(deps, viewer, input);
  const rows = await deps.store.conversion(scope, input.groupBy);
  return {
    from: scope.from,
    to: scope.to,
    groupBy: input.groupBy,
    groups: rows.map((row) => ({
      ...row,
      sendRate: rate(row.sent, row.started),
      deliveryRate: row.delivered > 0 ? rate(row.delivered, row.sent) : null,
      conversionRate: rate(row.approved, row.started),
    })),
  };
}

async function abuse(
  deps: ResolvedReportsDeps,
  viewer: Viewer,
  input: Window & { limit?: number | undefined },
): Promise<AbuseReport> {
  const scope = scopeOf(deps, viewer, input);
  const limit = input.limit ?? 20;
  const [prefixes, ips, numbers, rules, byChannel] = await Promise.all([
    offenders(deps, scope, 'prefix', limit),
    offenders(deps, scope, 'ip', limit),
    offenders(deps, scope, 'number', limit),
    deps.store.rulesFired(scope),
    deps.store.conversion(scope, 'channel'),
  ]);
  const started = byChannel.reduce((sum, row) => sum + row.started, 0);
  const sent = byChannel.reduce((sum, row) => sum + row.sent, 0);
  const approved = byChannel.reduce((sum, row) => sum + row.approved, 0);
  const wastedSends = Math.max(0, sent - approved);
  return {
    from: scope.from,
    to: scope.to,
    prefixes,
    ips,
    numbers,
    rules: rules.map(({ rule, reason, count }) => ({ rule, reason, count })),
    totals: { started, sent, approved, wastedSends, estimatedCost: cost(deps, wastedSends) },
  };
}

async function events(
  deps: ResolvedReportsDeps,
  viewer: Viewer,
  input: EventQuery,
): Promise<EventPage> {
  const scope = scopeOf(deps, viewer, input);
  const limit = input.limit ?? 50;
  const filter: EventFilter = {
    ...scope,
    kind: input.kind,
    reason: input.reason,
    numberHash: input.number !== undefined ? deps.protector.hash(input.number) : input.numberHash,
    prefix: input.prefix,
    ip: input.ip,
    verificationId: input.verificationId,
    before: input.cursor !== undefined ? decodeCursor(input.cursor) : undefined,
  };
  const rows = await deps.store.listEvents(filter, limit + 1);
  const page = rows.slice(0, limit);
  const revealNumbers = input.reveal === true;
  if (revealNumbers) {
    // Reading full numbers is itself recorded (OWASP ASVS V7.1: log access to sensitive data), without the numbers.
    const hashes = [
      ...new Set(page.map((e) => e.numberHash).filter((h): h is string => h !== null)),
    ];
    await deps.events.record({
      at: deps.clock.now(),
      kind: 'audit',
      reason: 'number_revealed',
      rule: 'reports:reveal',
      app: viewer.app,
      ip: viewer.ip,
      userAgent: viewer.userAgent,
      details: {
        keyId: viewer.keyId,
        numbers: hashes.length,
        numberHashes: hashes.slice(0, AUDITED_HASHES),
        events: page.length,
      },
    });
  }
  const last = page.at(-1);
  return {
    events: page.map((e) => view(deps, e, revealNumbers)),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  };
}
