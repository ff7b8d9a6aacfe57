import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { FactorRecord, FactorStore } from '../../../src/factors/factors.store.js';
import type { BlockEntry } from '../../../src/limits/limits.store.js';
import type { LedgerEntry, ListRecord, SignupInput } from '../../../src/optin/optin.store.js';
import { newId } from '../../../src/platform/ids.js';
import type { VerificationRecord } from '../../../src/verification/verification.store.js';
import type { DeliveryRecord } from '../../../src/delivery/delivery.store.js';

/** Records the store contracts start from, and the helpers to race them. */

export const T0 = Date.UTC(2026, 0, 1);
export const NOW = Date.UTC(2026, 0, 8);
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

let sequence = 0;

/** Runs `n` copies of `run` at once and returns their results in call order. */
export const times = <T>(n: number, run: (i: number) => Promise<T>): Promise<T[]> =>
  Promise.all(Array.from({ length: n }, (_, i) => run(i)));

export const defined = <T>(values: (T | undefined)[]): T[] =>
  values.filter((v): v is T => v !== undefined);

/** SQLite: another connection's writes are visible here once its turn's batch commits (group commit, one turn later). */
export const otherConnectionsCommitted = (): Promise<void> =>
  new Promise((resolve) => setImmediate(resolve));

/** Byte order with NULL first: SQLite's ascending text order, which both dialects' stores follow. */
export function compareText(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

// --- Verifications, deliveries, blocklist ----------------------------------------------------

export function verification(overrides: Partial<VerificationRecord> = {}): VerificationRecord {
  sequence += 1;
  return {
    id: `VE${String(sequence).padStart(30, '0')}`,
    app: 'shop',
    to: '+14155550123',
    country: 'US',
    requestedChannel: 'sms',
    channel: 'sms',
    status: 'pending',
    purpose: null,
    locale: 'en',
    codeLength: 6,
    attempts: 0,
    maxAttempts: 5,
    sends: 1,
    maxSends: 5,
    lastSentAt: T0,
    createdAt: T0,
    expiresAt: T0 + 10 * MINUTE,
    approvedAt: null,
    approvedChannel: null,
    canceledAt: null,
    clientIp: '198.51.100.7',
    endUserIp: null,
    endUserAgent: null,
    endUserDeviceId: null,
    transaction: null,
    ...overrides,
  };
}

export function delivery(
  verificationId: string,
  overrides: Partial<DeliveryRecord> = {},
): DeliveryRecord {
  sequence += 1;
  return {
    id: `DL${String(sequence).padStart(30, '0')}`,
    verificationId,
    channel: 'sms',
    provider: 'log',
    status: 'queued',
    codeHash: 'h'.repeat(64),
    providerMessageId: null,
    errorCode: null,
    errorMessage: null,
    callerIdPrefix: null,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

export function blockEntry(overrides: Partial<BlockEntry> = {}): BlockEntry {
  sequence += 1;
  return {
    id: `BL${sequence}`,
    kind: 'number',
    value: '+14155550123',
    action: 'block',
    reason: 'test',
    createdBy: 'admin',
    createdAt: T0,
    expiresAt: null,
    ...overrides,
  };
}

// --- Opt-in ----------------------------------------------------------------------------------

export function aList(app: string, overrides: Partial<ListRecord> = {}): ListRecord {
  return {
    id: newId('lst', Date.now()),
    app,
    name: 'Weekly deals',
    brand: 'ACME',
    sender: `+1415${randomBytes(4).readUInt32BE(0) % 10_000_000}`,
    windowSeconds: 86_400,
    templates: {
      en: { confirmation: 'Reply YES to join {brand}', help: 'Help: {contact}' },
      fr: { stopped: 'Désinscrit' },
    },
    helpContact: 'help@acme.example',
    createdAt: NOW,
    ...overrides,
  };
}

export function aSignup(
  list: ListRecord,
  number: string,
  overrides: Partial<SignupInput> = {},
): SignupInput {
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

export function anEntry(
  list: ListRecord,
  number: string,
  type: LedgerEntry['type'],
  overrides: Partial<LedgerEntry> = {},
): LedgerEntry {
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

// --- Factors ---------------------------------------------------------------------------------

export function aFactor(
  app: string,
  user: string,
  overrides: Partial<FactorRecord> = {},
): FactorRecord {
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

export const hashes = (n: number): string[] =>
  Array.from({ length: n }, () => randomBytes(32).toString('hex'));

export async function verifiedFactor(
  store: FactorStore,
  app: string,
  codes: readonly string[],
  overrides: Partial<FactorRecord> = {},
): Promise<FactorRecord> {
  const factor = aFactor(app, newId('usr', Date.now()), overrides);
  expect(await store.createIfBelowLimit(factor, 5, 0)).toBe(true);
  expect(await store.activate(factor.id, 1000, NOW, codes)).toBe(true);
  return factor;
}
