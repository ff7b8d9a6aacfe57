import { newId } from '../../src/platform/ids.js';
import { randomFillSync } from 'node:crypto';
import type { NumberProtector } from '../../src/events/number-protection.js';
import { hashCode } from '../../src/verification/codes.js';
import {
  DESTINATIONS,
  FAILURE_KINDS,
  PROVIDER_ERRORS,
  PROVIDERS,
  PUMPED_COUNTRIES,
  USER_AGENTS,
  type Destination,
  type FailureKind,
  type Picker,
} from './catalogue.js';

/** One row, keyed by SQL column name (the same in every dialect). */
export type Row = Record<string, string | number | null>;

const DAY_MS = 86_400_000;

/** mulberry32: a small seeded generator, so a seed gives the same spread of rows every time. */
export function createRandom(seed: number): Picker & {
  next(): number;
  chance(p: number): boolean;
  weighted<T extends { weight: number }>(items: readonly T[]): T;
} {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const one = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const weightedCache = new WeakMap<readonly { weight: number }[], number[]>();
  return {
    next,
    int,
    one,
    chance: (p) => next() < p,
    weighted<T extends { weight: number }>(items: readonly T[]): T {
      let cumulative = weightedCache.get(items);
      if (!cumulative) {
        let sum = 0;
        cumulative = items.map((item) => (sum += item.weight));
        weightedCache.set(items, cumulative);
      }
      const x = next() * cumulative[cumulative.length - 1]!;
      let i = 0;
      while (cumulative[i]! <= x) i++;
      return items[i]!;
    },
  };
}

type Random = ReturnType<typeof createRandom>;

const ID_POOL = Buffer.alloc(16 * 4096);
let idOffset = ID_POOL.length;

/**
 * A stand-in for the HMAC of a settled delivery's code (64 hex digits, as random as the real one):
 * nobody checks a code of last month, and an HMAC per row would cost a fifth of the seeding.
 */
function settledCodeHash(): string {
  if (idOffset + 32 > ID_POOL.length) {
    randomFillSync(ID_POOL);
    idOffset = 0;
  }
  const hex = ID_POOL.toString('hex', idOffset, idOffset + 32);
  idOffset += 32;
  return hex;
}

export interface RowContext {
  random: Random;
  /** App names, busiest first; shares fall off as 1/rank (Zipf). */
  apps: readonly string[];
  /** Rows spread over [now - days, now). */
  now: number;
  days: number;
  protector: NumberProtector;
}

/** Draws numbers, addresses and apps the way traffic repeats them: a hot set plus a long tail. */
export function createTraffic(context: RowContext) {
  const { random, apps } = context;
  const appWeights = apps.map((name, i) => ({ name, weight: 1 / (i + 1) }));
  const hotNumbers: { number: string; destination: Destination }[] = [];
  const hotIps: string[] = [];
  const digits = (n: number): string => {
    let out = '';
    for (let i = 0; i < n; i++) out += String(Math.floor(random.next() * 10));
    return out;
  };
  const freshNumber = (destination: Destination): string =>
    random.one(destination.prefixes) + digits(destination.digits);
  const freshIp = (): string =>
    random.chance(0.1)
      ? `2a01:${random.int(0x100, 0xfff).toString(16)}:${random.int(0, 0xffff).toString(16)}:${random.int(0, 0xffff).toString(16)}::${random.int(1, 0xffff).toString(16)}`
      : `${random.int(1, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
  return {
    app: (): string => random.weighted(appWeights).name,
    /** A number: 30% of draws repeat one of 20,000 frequent numbers. */
    number(destination?: Destination): { number: string; destination: Destination } {
      if (!destination && hotNumbers.length > 0 && random.chance(0.3))
        return random.one(hotNumbers);
      const d = destination ?? random.weighted(DESTINATIONS);
      const drawn = { number: freshNumber(d), destination: d };
      if (!destination && hotNumbers.length < 20_000) hotNumbers.push(drawn);
      return drawn;
    },
    /** An end-user address: 15% of draws repeat one of 2,000 busy addresses (carrier NAT, abusers). */
    ip(): string {
      if (hotIps.length > 0 && random.chance(0.15)) return random.one(hotIps);
      const ip = freshIp();
      if (hotIps.length < 2000) hotIps.push(ip);
      return ip;
    },
    userAgent: (): string | null => random.one(USER_AGENTS),
  };
}

export type Traffic = ReturnType<typeof createTraffic>;

/** The time of row `i` of `total`, in ascending order across the window (ids grow with time, as appends do). */
export function timeOf(context: RowContext, i: number, total: number): number {
  const span = context.days * DAY_MS;
  return Math.floor(context.now - span + ((i + context.random.next()) * span) / total);
}

const STATUSES = [
  { status: 'approved', weight: 75 },
  { status: 'pending', weight: 19 },
  { status: 'canceled', weight: 3 },
  { status: 'locked', weight: 3 },
] as const;

const PURPOSES = [
  { value: 'login', weight: 6 },
  { value: 'signup', weight: 3 },
  { value: null, weight: 1 },
] as const;

const DELIVERY_STATUSES = [
  { status: 'delivered', weight: 85 },
  { status: 'sent', weight: 10 },
  { status: 'failed', weight: 3 },
  { status: 'undelivered', weight: 2 },
] as const;

/** A verification of the past as the service leaves it: settled, with one delivery (8%: two, after a resend). */
export function verificationRows(
  context: RowContext,
  traffic: Traffic,
  at: number,
): { verification: Row; deliveries: Row[]; number: string; country: string } {
  const { random } = context;
  const id = newId('ver', at);
  const app = traffic.app();
  const { number, destination } = traffic.number();
  const { status } = random.weighted(STATUSES);
  const sends = random.chance(0.08) ? 2 : 1;
  const lastSentAt = sends === 1 ? at : at + random.int(30_000, 120_000);
  const attempts =
    status === 'locked'
      ? 5
      : status === 'approved'
        ? random.chance(0.9)
          ? 1
          : 2
        : status === 'pending'
          ? random.int(0, 1)
          : 0;
  const verification: Row = {
    id,
    app,
    to: number,
    country: destination.country,
    requested_channel: random.chance(0.7) ? 'auto' : 'sms',
    channel: 'sms',
    status,
    purpose: random.weighted(PURPOSES).value,
    locale: destination.locale,
    code_length: 6,
    attempts,
    max_attempts: 5,
    sends,
    max_sends: 5,
    last_sent_at: lastSentAt,
    created_at: at,
    expires_at: at + 600_000,
    approved_at: status === 'approved' ? lastSentAt + random.int(8_000, 180_000) : null,
    approved_channel: status === 'approved' ? 'sms' : null,
    canceled_at: status === 'canceled' ? at + random.int(5_000, 300_000) : null,
    client_ip: `10.20.${random.int(0, 3)}.${random.int(2, 40)}`,
    end_user_ip: random.chance(0.85) ? traffic.ip() : null,
    end_user_agent: traffic.userAgent(),
    end_user_device_id: random.chance(0.4) ? `dev-${random.int(1, 2 ** 30).toString(36)}` : null,
    transaction: null,
  };
  const provider = random.one(PROVIDERS);
  const deliveries: Row[] = [];
  for (let s = 0; s < sends; s++) {
    const sentAt = s === 0 ? at : lastSentAt;
    const deliveryStatus = s < sends - 1 ? 'delivered' : random.weighted(DELIVERY_STATUSES).status;
    const failed = deliveryStatus === 'failed' || deliveryStatus === 'undelivered';
    const error = failed ? random.one(PROVIDER_ERRORS) : undefined;
    deliveries.push({
      id: newId('dlv', sentAt),
      verification_id: id,
      channel: 'sms',
      provider,
      status: deliveryStatus,
      code_hash: settledCodeHash(),
      provider_message_id:
        provider === 'twilio'
          ? `SM${random
              .int(0, 2 ** 31)
              .toString(16)
              .padStart(8, '0')}${random
              .int(0, 2 ** 31)
              .toString(16)
              .padStart(24, '0')}`
          : `msg-${random.int(0, 2 ** 31).toString(36)}`,
      error_code: error ? error.slice(0, error.indexOf(':')) : null,
      error_message: error ? error.slice(error.indexOf(':') + 2) : null,
      caller_id_prefix: null,
      created_at: sentAt,
      updated_at: sentAt + random.int(1_000, 20_000),
    });
  }
  return { verification, deliveries, number, country: destination.country };
}

/**
 * The success events the service appends over a verification's life, as it records them: `started`
 * with the verification, `sent` for each message the provider accepted, `delivered` for each
 * delivery receipt, `approved` with the approval, each under the address that started it (the
 * lifecycle facts of verification.service.ts). A refused send is a `delivery_failed` failure, which
 * the failure records already stand for. No random draw: the other rows of a seed stay the same
 * whether these are written or not.
 */
export function successEventRows(
  context: RowContext,
  made: { verification: Row; deliveries: readonly Row[]; number: string; country: string },
): Row[] {
  const v = made.verification;
  const protectedNumber = context.protector.protect(made.number);
  const event = (
    at: number,
    reason: string,
    provider: string | null,
    numberType: string | null,
  ): Row => ({
    at,
    app: v.app ?? null,
    kind: 'success',
    reason,
    rule: null,
    details: null,
    channel: 'sms',
    provider,
    provider_error: null,
    number_hash: protectedNumber.hash,
    number_enc: protectedNumber.encrypted,
    prefix: protectedNumber.prefix,
    country: made.country,
    number_type: numberType,
    ip: v.end_user_ip ?? v.client_ip ?? null,
    user_agent: v.end_user_agent ?? null,
    verification_id: v.id ?? null,
  });
  const providerOf = (d: Row | undefined): string | null =>
    d?.provider === undefined || d.provider === null ? null : String(d.provider);
  const rows = [event(Number(v.created_at), 'started', providerOf(made.deliveries[0]), 'MOBILE')];
  for (const d of made.deliveries) {
    if (d.status !== 'failed') rows.push(event(Number(d.created_at), 'sent', providerOf(d), null));
    if (d.status === 'delivered')
      rows.push(event(Number(d.updated_at), 'delivered', providerOf(d), null));
  }
  if (v.approved_at !== null && v.approved_at !== undefined)
    rows.push(event(Number(v.approved_at), 'approved', null, null));
  return rows;
}

/** A verification someone failed on: a recent one when there is one, else a made-up id. */
export interface KnownVerification {
  id: string;
  app: string;
  number: string;
  country: string;
}

/**
 * One failure of the event record, with the columns the service fills for its reason: the rule and
 * its figures, the number protected as the recorder protects it (keyed hash, AES-GCM, prefix).
 */
export function failureRow(
  context: RowContext,
  traffic: Traffic,
  at: number,
  known: readonly KnownVerification[],
): Row {
  const { random } = context;
  const kind: FailureKind = random.weighted(FAILURE_KINDS);
  let app: string | null = kind.anonymous ? null : traffic.app();
  let number: string | null = null;
  let country: string | null = null;
  let numberType: string | null = null;
  let verificationId: string | null = null;
  if (kind.phase === 'start') {
    const pumped = kind.reason === 'blocked' || kind.reason === 'abuse_suspected';
    const destination =
      pumped && random.chance(0.7)
        ? DESTINATIONS.find((d) => d.country === random.one(PUMPED_COUNTRIES))
        : undefined;
    const drawn = traffic.number(destination);
    number = drawn.number;
    country = drawn.destination.country;
    numberType = 'MOBILE';
  } else if (kind.phase === 'verification') {
    const v = known.length > 0 && random.chance(0.8) ? random.one(known) : undefined;
    if (v) {
      ({ app, number, country } = v);
      verificationId = v.id;
    } else {
      const drawn = traffic.number();
      number = drawn.number;
      country = drawn.destination.country;
      verificationId = newId('ver', at);
    }
  }
  const { rule, details } = kind.rule ? kind.rule(random, country) : { rule: null, details: null };
  if (kind.reason === 'unsupported_number_type' && details) numberType = String(details.numberType);
  const delivery = kind.reason === 'delivery_failed';
  const protectedNumber = number === null ? undefined : context.protector.protect(number);
  return {
    at,
    app,
    kind: 'failure',
    reason: kind.reason,
    rule,
    details: details === null ? null : JSON.stringify(details),
    channel: kind.channel ?? (kind.phase === 'request' ? null : 'sms'),
    provider: delivery ? random.one(PROVIDERS) : null,
    provider_error: delivery ? random.one(PROVIDER_ERRORS) : null,
    number_hash: protectedNumber?.hash ?? null,
    number_enc: protectedNumber?.encrypted ?? null,
    prefix: protectedNumber?.prefix ?? null,
    country,
    number_type: numberType,
    ip: traffic.ip(),
    user_agent: traffic.userAgent(),
    verification_id: verificationId,
  };
}

/**
 * A pending verification the bench can check: expires `ttlMs` after `now`, one SMS delivery whose
 * hash is of `code` under the server's pepper, exactly as a start leaves it.
 */
export function pendingVerificationRows(options: {
  app: string;
  number: string;
  now: number;
  ttlMs: number;
  pepper: Buffer;
  code: string;
}): { verification: Row; delivery: Row } {
  const id = newId('ver', options.now);
  const { now } = options;
  return {
    verification: {
      id,
      app: options.app,
      to: options.number,
      country: 'FR',
      requested_channel: 'auto',
      channel: 'sms',
      status: 'pending',
      purpose: null,
      locale: 'en',
      code_length: options.code.length,
      attempts: 0,
      max_attempts: 5,
      sends: 1,
      max_sends: 5,
      last_sent_at: now,
      created_at: now,
      expires_at: now + options.ttlMs,
      approved_at: null,
      approved_channel: null,
      canceled_at: null,
      client_ip: '127.0.0.1',
      end_user_ip: null,
      end_user_agent: null,
      end_user_device_id: null,
      transaction: null,
    },
    delivery: {
      id: newId('dlv', options.now),
      verification_id: id,
      channel: 'sms',
      provider: 'log',
      status: 'sent',
      code_hash: hashCode(options.pepper, id, options.code),
      provider_message_id: null,
      error_code: null,
      error_message: null,
      caller_id_prefix: null,
      created_at: now,
      updated_at: now,
    },
  };
}
