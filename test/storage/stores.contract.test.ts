import { expect, it } from 'vitest';
import type { BlockEntry } from '../../src/limits/limits.store.js';
import type { DeliveryRecord, VerificationRecord } from '../../src/verification/verification.store.js';
import { describeStoreContract, protector } from './store-harness.js';

/**
 * The documented contracts of the stores (src/**\/*.store.ts), run on SQLite always and on
 * PostgreSQL when DATABASE_URL is set. A store that breaks one of these on either dialect lets
 * through what the contract exists to stop: an extra code guess, a second approval, a fallback
 * call placed twice, a rate limit exceeded under concurrency.
 */

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
let sequence = 0;

function verification(overrides: Partial<VerificationRecord> = {}): VerificationRecord {
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

function delivery(verificationId: string, overrides: Partial<DeliveryRecord> = {}): DeliveryRecord {
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

function blockEntry(overrides: Partial<BlockEntry> = {}): BlockEntry {
  sequence += 1;
  return { id: `BL${sequence}`, kind: 'number', value: '+14155550123', action: 'block', reason: 'test', createdBy: 'admin', createdAt: T0, expiresAt: null, ...overrides };
}

/** SQLite: another connection's writes are visible here once its turn's batch commits (group commit, one turn later). */
const otherConnectionsCommitted = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const times = <T>(n: number, run: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => run(i)));

describeStoreContract('admin stores', (ctx) => {
  it('a key revoked once is revoked for good: revoke answers true exactly once, and the key is no longer active', async () => {
    const { stores } = ctx();
    await stores.apiKeys.insert({ id: 'k1', app: 'shop', scopes: ['verify', 'reports'], secretHash: 'a'.repeat(64), createdAt: T0, revokedAt: null });
    await stores.apiKeys.insert({ id: 'k2', app: 'shop', scopes: ['verify'], secretHash: 'b'.repeat(64), createdAt: T0 + 1, revokedAt: null });
    expect(await stores.apiKeys.findActive('k1')).toMatchObject({ app: 'shop', scopes: ['verify', 'reports'], revokedAt: null });
    const results = await times(5, () => stores.apiKeys.revoke('k1', T0 + 5));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.apiKeys.findActive('k1')).toBeUndefined();
    expect((await stores.apiKeys.list()).map((k) => [k.id, k.revokedAt])).toEqual([
      ['k1', T0 + 5],
      ['k2', null],
    ]);
  });

  it('ensure never overwrites an app’s settings; upsert changes only the fields it is given', async () => {
    const { stores } = ctx();
    await stores.apps.upsert('shop', { brand: 'Shop', codeLength: 8 }, T0);
    await stores.apps.ensure('shop', T0 + 1);
    await stores.apps.ensure('other', T0 + 1);
    expect(await stores.apps.get('shop')).toMatchObject({ brand: 'Shop', codeLength: 8, createdAt: T0 });
    expect(await stores.apps.get('other')).toMatchObject({ brand: null, codeLength: null, createdAt: T0 + 1 });
    const updated = await stores.apps.upsert('shop', { webOtpDomain: 'shop.example' }, T0 + 2);
    expect(updated).toEqual({
      name: 'shop',
      brand: 'Shop',
      codeLength: 8,
      webOtpDomain: 'shop.example',
      customCodes: false,
      twilioServiceSid: expect.stringMatching(/^VA[0-9a-f]{32}$/),
      createdAt: T0,
      updatedAt: T0 + 2,
    });
    expect(await stores.apps.get('nope')).toBeUndefined();
  });

  it('every app gets a Service sid when inserted, kept by updates, found by one lookup, gone with the app', async () => {
    const { stores } = ctx();
    await stores.apps.ensure('shop', T0);
    const first = await stores.apps.upsert('other', { brand: 'Other' }, T0 + 1);
    const shop = await stores.apps.get('shop');
    expect(shop?.twilioServiceSid).toMatch(/^VA[0-9a-f]{32}$/);
    expect(first.twilioServiceSid).toMatch(/^VA[0-9a-f]{32}$/);
    expect(first.twilioServiceSid).not.toBe(shop?.twilioServiceSid);
    // Neither ensure nor upsert of an existing app changes its sid.
    await stores.apps.ensure('shop', T0 + 2);
    expect((await stores.apps.upsert('shop', { customCodes: true }, T0 + 3)).twilioServiceSid).toBe(shop?.twilioServiceSid);
    expect(await stores.apps.findByServiceSid(shop!.twilioServiceSid!)).toMatchObject({ name: 'shop', customCodes: true });
    expect(await stores.apps.findByServiceSid(`VA${'0'.repeat(32)}`)).toBeUndefined();
    expect(await stores.apps.remove('shop')).toBe(true);
    expect(await stores.apps.remove('shop')).toBe(false);
    expect(await stores.apps.findByServiceSid(shop!.twilioServiceSid!)).toBeUndefined();
  });

  it('create inserts only a new app (never touches an existing one); list pages oldest first', async () => {
    const { stores } = ctx();
    expect(await stores.apps.create('shop', { brand: 'Shop', customCodes: true }, T0)).toMatchObject({ name: 'shop', brand: 'Shop', customCodes: true, createdAt: T0 });
    expect(await stores.apps.create('shop', { brand: 'Other' }, T0 + 1)).toBeUndefined();
    expect(await stores.apps.get('shop')).toMatchObject({ brand: 'Shop', createdAt: T0 });
    await stores.apps.create('b', {}, T0 + 2);
    await stores.apps.create('a', {}, T0 + 2);
    expect((await stores.apps.list({ offset: 0, limit: 2 })).map((a) => a.name)).toEqual(['shop', 'a']);
    expect((await stores.apps.list({ offset: 2, limit: 2 })).map((a) => a.name)).toEqual(['b']);
  });

  it('signing keys: retired keys stay published until their tokens expire, newest first', async () => {
    const { stores } = ctx();
    const key = (kid: string, createdAt: number) => ({ kid, alg: 'EdDSA', privateJwk: '{}', publicJwk: '{}', createdAt, retiredAt: null });
    await stores.signingKeys.insert(key('old', T0));
    await stores.signingKeys.insert(key('new', T0 + 10));
    await stores.signingKeys.insert(key('new', T0 + 99)); // a duplicate kid is ignored
    await stores.signingKeys.retireAllExcept('new', T0 + 20);
    expect((await stores.signingKeys.listPublishable(T0 + 19)).map((k) => [k.kid, k.createdAt, k.retiredAt])).toEqual([
      ['new', T0 + 10, null],
      ['old', T0, T0 + 20],
    ]);
    expect((await stores.signingKeys.listPublishable(T0 + 20)).map((k) => k.kid)).toEqual(['new']);
  });
});

describeStoreContract('verification store', (ctx) => {
  it('stores a verification with its first delivery, visible only to its own app', async () => {
    const { stores } = ctx();
    const v = verification({ transaction: '{"amount":"10.00"}' });
    const d = delivery(v.id);
    await stores.verifications.create(v, d);
    expect(await stores.verifications.findById('shop', v.id)).toEqual(v);
    expect(await stores.verifications.findById('other-app', v.id)).toBeUndefined();
    expect(await stores.verifications.listDeliveries(v.id)).toEqual([d]);
  });

  it('finds the newest pending, unexpired verification of a number', async () => {
    const { stores } = ctx();
    const older = verification({ createdAt: T0 });
    const newer = verification({ createdAt: T0 + 1000 });
    const expired = verification({ createdAt: T0 + 2000, expiresAt: T0 + 2001 });
    for (const v of [older, newer, expired]) await stores.verifications.create(v, delivery(v.id));
    expect((await stores.verifications.findNewestPending('shop', '+14155550123', T0 + 5000))?.id).toBe(newer.id);
    await stores.verifications.takeAttempt(newer.id, T0 + 5000, { channel: 'sms' });
    expect((await stores.verifications.findNewestPending('shop', '+14155550123', T0 + 5000))?.id).toBe(older.id);
    expect(await stores.verifications.findNewestPending('shop', '+14155550123', T0 + 11 * MINUTE)).toBeUndefined();
  });

  it('N concurrent wrong attempts take exactly the remaining budget, each a distinct count; the last one locks', async () => {
    const { stores } = ctx();
    const v = verification({ attempts: 1, maxAttempts: 5 });
    await stores.verifications.create(v, delivery(v.id));
    const results = await times(30, () => stores.verifications.takeAttempt(v.id, T0 + 1000));
    const granted = results.filter((r) => r !== undefined).sort((a, b) => a.attempts - b.attempts);
    expect(granted).toEqual([
      { attempts: 2, status: 'pending' },
      { attempts: 3, status: 'pending' },
      { attempts: 4, status: 'pending' },
      { attempts: 5, status: 'locked' },
    ]);
    expect(await stores.verifications.findById('shop', v.id)).toMatchObject({ attempts: 5, status: 'locked' });
  });

  it('N concurrent approving attempts: exactly one approves (taking one attempt), the rest take nothing', async () => {
    const { stores } = ctx();
    const v = verification({ attempts: 2 });
    await stores.verifications.create(v, delivery(v.id));
    const results = await times(20, (i) => stores.verifications.takeAttempt(v.id, T0 + 1000, { channel: i % 2 ? 'sms' : 'flashcall' }));
    const granted = results.filter((r) => r !== undefined);
    expect(granted).toEqual([{ attempts: 3, status: 'approved' }]);
    const stored = await stores.verifications.findById('shop', v.id);
    expect(stored).toMatchObject({ status: 'approved', approvedAt: T0 + 1000, attempts: 3 });
    expect(['sms', 'flashcall']).toContain(stored?.approvedChannel);
    expect(await stores.verifications.takeAttempt(v.id, T0 + 1001)).toBeUndefined();
    expect(await stores.verifications.cancelPending('shop', v.id, T0 + 2000)).toBe(false);
  });

  it('approving and wrong attempts racing: never more attempts than the budget, at most one approval', async () => {
    const { stores } = ctx();
    const v = verification({ attempts: 0, maxAttempts: 3 });
    await stores.verifications.create(v, delivery(v.id));
    const results = await times(24, (i) => stores.verifications.takeAttempt(v.id, T0 + 1000, i % 3 === 0 ? { channel: 'sms' } : undefined));
    const granted = results.filter((r) => r !== undefined);
    expect(granted.filter((r) => r.status === 'approved').length).toBeLessThanOrEqual(1);
    expect(granted.length).toBeLessThanOrEqual(3);
    const stored = await stores.verifications.findById('shop', v.id);
    expect(stored?.attempts).toBe(granted.length);
    expect(['approved', 'locked', 'pending']).toContain(stored?.status);
  });

  it('takeAttempt refuses an expired, canceled or exhausted verification, approving or not', async () => {
    const { stores } = ctx();
    const v = verification();
    await stores.verifications.create(v, delivery(v.id));
    expect(await stores.verifications.takeAttempt(v.id, v.expiresAt)).toBeUndefined();
    expect(await stores.verifications.takeAttempt(v.id, v.expiresAt, { channel: 'sms' })).toBeUndefined();
    expect(await stores.verifications.cancelPending('shop', v.id, T0 + 1)).toBe(true);
    expect(await stores.verifications.takeAttempt(v.id, T0 + 2)).toBeUndefined();
    expect(await stores.verifications.takeAttempt(v.id, T0 + 2, { channel: 'sms' })).toBeUndefined();
    // Every attempt used (the limit lowered under it, as a fallback to a flash call may): no approval either.
    const used = verification({ attempts: 3, maxAttempts: 3 });
    await stores.verifications.create(used, delivery(used.id));
    expect(await stores.verifications.takeAttempt(used.id, T0 + 2, { channel: 'sms' })).toBeUndefined();
    expect((await stores.verifications.findById('shop', used.id))?.status).toBe('pending');
  });

  it('a wrong attempt locks only when it is the last one', async () => {
    const { stores } = ctx();
    const v = verification({ attempts: 3, maxAttempts: 5 });
    await stores.verifications.create(v, delivery(v.id));
    expect(await stores.verifications.takeAttempt(v.id, T0 + 1)).toEqual({ attempts: 4, status: 'pending' });
    expect(await stores.verifications.takeAttempt(v.id, T0 + 2)).toEqual({ attempts: 5, status: 'locked' });
    expect(await stores.verifications.findById('shop', v.id)).toMatchObject({ status: 'locked', approvedAt: null, approvedChannel: null });
  });

  it('findWithDeliveries: the verification and every delivery of it, oldest first, for its own app only', async () => {
    const { stores } = ctx();
    const v = verification();
    const first = delivery(v.id, { createdAt: T0 });
    const second = delivery(v.id, { createdAt: T0, channel: 'flashcall', callerIdPrefix: '+4420' }); // same millisecond: insertion order
    const third = delivery(v.id, { createdAt: T0 + 1 });
    await stores.verifications.create(v, first);
    await stores.verifications.addDelivery(second);
    await stores.verifications.addDelivery(third);
    const other = verification();
    await stores.verifications.create(other, delivery(other.id));
    expect(await stores.verifications.findWithDeliveries('shop', v.id)).toEqual({ verification: v, deliveries: [first, second, third] });
    expect(await stores.verifications.findWithDeliveries('other-app', v.id)).toBeUndefined();
    expect(await stores.verifications.findWithDeliveries('shop', 'VEnone')).toBeUndefined();
  });

  it('create is all or nothing: a verification, its first delivery and its started event', async () => {
    const { stores, query } = ctx();
    const v = verification();
    const first = delivery(v.id);
    const started = { at: T0, kind: 'success' as const, reason: 'started', app: 'shop', number: v.to, verificationId: v.id };
    await stores.verifications.create(v, first, started);
    expect(await query(`SELECT reason FROM events WHERE verification_id = '${v.id}'`)).toEqual([{ reason: 'started' }]);
    // The same verification id again: refused, and neither its delivery nor its event is written.
    const again = delivery(v.id);
    await expect(stores.verifications.create(v, again, { ...started, reason: 'started-again' })).rejects.toThrow();
    expect(await stores.verifications.listDeliveries(v.id)).toEqual([first]);
    // A delivery id already taken: the new verification and its event are not written either.
    const w = verification();
    const taken = { ...delivery(w.id), id: first.id };
    await expect(stores.verifications.create(w, taken, { ...started, verificationId: w.id })).rejects.toThrow();
    expect(await stores.verifications.findById('shop', w.id)).toBeUndefined();
    expect(await query(`SELECT reason FROM events WHERE verification_id = '${w.id}' OR reason = 'started-again'`)).toEqual([]);
  });

  it('concurrent approving attempts with their event: exactly one approval, exactly one approved event', async () => {
    const { stores, query } = ctx();
    const v = verification();
    await stores.verifications.create(v, delivery(v.id));
    const event = { at: T0 + 1000, kind: 'success' as const, reason: 'approved', app: 'shop', channel: 'sms', number: v.to, verificationId: v.id };
    const results = await times(20, () => stores.verifications.takeAttempt(v.id, T0 + 1000, { channel: 'sms', event }));
    expect(results.filter((r) => r !== undefined)).toEqual([{ attempts: 1, status: 'approved' }]);
    const rows = await query<Record<string, unknown>>(`SELECT kind, reason, channel, app, number_enc, at FROM events WHERE verification_id = '${v.id}'`);
    expect(rows.map((r) => ({ ...r, at: Number(r.at) }))).toEqual([
      { kind: 'success', reason: 'approved', channel: 'sms', app: 'shop', number_enc: expect.any(String), at: T0 + 1000 },
    ]);
    // Refused (expired, or settled already): no event.
    const late = verification();
    await stores.verifications.create(late, delivery(late.id));
    expect(await stores.verifications.takeAttempt(late.id, late.expiresAt, { channel: 'sms', event: { ...event, verificationId: late.id } })).toBeUndefined();
    expect(await query(`SELECT reason FROM events WHERE verification_id = '${late.id}'`)).toEqual([]);
  });

  it('cancels only its own app’s pending verification, once', async () => {
    const { stores } = ctx();
    const v = verification();
    await stores.verifications.create(v, delivery(v.id));
    expect(await stores.verifications.cancelPending('other-app', v.id, T0 + 1)).toBe(false);
    const results = await times(5, () => stores.verifications.cancelPending('shop', v.id, T0 + 1));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.verifications.findById('shop', v.id)).toMatchObject({ status: 'canceled', canceledAt: T0 + 1 });
  });

  it('reserveSend: one slot per cooldown under concurrency, then says why it refuses', async () => {
    const { stores } = ctx();
    const v = verification({ sends: 1, maxSends: 3, lastSentAt: T0 });
    await stores.verifications.create(v, delivery(v.id));
    expect(await stores.verifications.reserveSend(v.id, T0 + 10_000, 30_000)).toEqual({ ok: false, why: 'cooldown', retryAt: T0 + 30_000 });
    const concurrent = await times(10, () => stores.verifications.reserveSend(v.id, T0 + 30_000, 30_000));
    expect(concurrent.filter((s) => s.ok)).toEqual([{ ok: true, sends: 2 }]);
    expect(await stores.verifications.reserveSend(v.id, T0 + 60_000, 30_000)).toEqual({ ok: true, sends: 3 });
    expect(await stores.verifications.reserveSend(v.id, T0 + 90_000, 30_000)).toEqual({ ok: false, why: 'max_sends' });
    expect(await stores.verifications.reserveSend(v.id, v.expiresAt, 0)).toEqual({ ok: false, why: 'expired' });
    expect(await stores.verifications.reserveSend('VEnone', T0, 0)).toEqual({ ok: false, why: 'not_pending' });
  });

  it('records deliveries and what the provider said about them', async () => {
    const { stores } = ctx();
    const v = verification();
    const first = delivery(v.id, { createdAt: T0 });
    await stores.verifications.create(v, first);
    const second = delivery(v.id, { createdAt: T0 + 1 });
    await stores.verifications.addDelivery(second);
    await stores.verifications.completeDelivery(first.id, { status: 'failed', providerMessageId: 'SM1', errorCode: '30003', errorMessage: 'unreachable', updatedAt: T0 + 2 });
    expect(await stores.verifications.listDeliveries(v.id)).toEqual([
      { ...first, status: 'failed', providerMessageId: 'SM1', errorCode: '30003', errorMessage: 'unreachable', updatedAt: T0 + 2 },
      second,
    ]);
  });

  it('completeDelivery with an event writes both', async () => {
    const { stores, query } = ctx();
    const v = verification();
    const d = delivery(v.id);
    await stores.verifications.create(v, d);
    const sent = { at: T0 + 3, kind: 'success' as const, reason: 'sent', app: 'shop', provider: 'log', verificationId: v.id };
    await stores.verifications.completeDelivery(d.id, { status: 'sent', providerMessageId: 'SM9', errorCode: null, errorMessage: null, updatedAt: T0 + 3 }, sent);
    expect(await stores.verifications.listDeliveries(v.id)).toEqual([{ ...d, status: 'sent', providerMessageId: 'SM9', updatedAt: T0 + 3 }]);
    expect(await query(`SELECT reason, provider FROM events WHERE verification_id = '${v.id}'`)).toEqual([{ reason: 'sent', provider: 'log' }]);
  });
});

describeStoreContract('delivery store (fallbacks, statuses)', (ctx) => {
  async function pendingWithFallback(dueAt: number): Promise<VerificationRecord> {
    const { stores } = ctx();
    const v = verification();
    await stores.delivery.scheduleFallback(v.id, dueAt);
    await stores.verifications.create(v, delivery(v.id));
    return v;
  }

  it('scheduling twice keeps the first schedule; an immediate trigger claims it exactly once', async () => {
    const { stores } = ctx();
    const v = await pendingWithFallback(T0 + 45_000);
    await stores.delivery.scheduleFallback(v.id, T0 + 99_000);
    expect(await stores.delivery.findFallback(v.id)).toMatchObject({ state: 'scheduled', dueAt: T0 + 45_000, reason: null });
    const results = await times(10, (i) => stores.delivery.claimScheduled(v.id, 'delivery_failed', T0 + 1, `owner-${i}`));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.delivery.findFallback(v.id)).toMatchObject({ state: 'claimed', reason: 'delivery_failed', claimedAt: T0 + 1 });
    expect(await stores.delivery.claimScheduled('VEnone', 'no_check', T0, 'x')).toBe(false);
  });

  it('claimRequested creates a claimed fallback or claims the scheduled one, for exactly one caller', async () => {
    const { stores } = ctx();
    const unscheduled = verification();
    await stores.verifications.create(unscheduled, delivery(unscheduled.id));
    const first = await times(8, (i) => stores.delivery.claimRequested(unscheduled.id, T0 + 1, `owner-${i}`));
    expect(first.filter(Boolean)).toHaveLength(1);
    expect(await stores.delivery.findFallback(unscheduled.id)).toMatchObject({ state: 'claimed', reason: 'requested', dueAt: T0 + 1 });
    const scheduled = await pendingWithFallback(T0 + 45_000);
    const second = await times(8, (i) => stores.delivery.claimRequested(scheduled.id, T0 + 2, `owner-${i}`));
    expect(second.filter(Boolean)).toHaveLength(1);
    expect(await stores.delivery.findFallback(scheduled.id)).toMatchObject({ state: 'claimed', reason: 'requested', dueAt: T0 + 45_000 });
  });

  it('claims due fallbacks of pending verifications only, and none before they are due', async () => {
    const { stores } = ctx();
    const due = await pendingWithFallback(T0 + 1000);
    const later = await pendingWithFallback(T0 + 60_000);
    const approved = await pendingWithFallback(T0 + 1000);
    await stores.verifications.takeAttempt(approved.id, T0 + 500, { channel: 'sms' });
    expect(await stores.delivery.claimDue(T0 + 500, 'a', 60_000, 10)).toEqual([]);
    expect(await stores.delivery.claimDue(T0 + 2000, 'a', 60_000, 10)).toEqual([{ verificationId: due.id, reason: 'no_check' }]);
    expect(await stores.delivery.claimDue(T0 + 2000, 'b', 60_000, 10)).toEqual([]);
    expect((await stores.delivery.findFallback(later.id))?.state).toBe('scheduled');
    // The approved verification's fallback is voided once due, never before.
    expect(await stores.delivery.voidSettled(T0 + 500)).toBe(0);
    expect(await stores.delivery.voidSettled(T0 + 2000)).toBe(1);
    expect(await stores.delivery.findFallback(approved.id)).toMatchObject({ state: 'void', completedAt: T0 + 2000 });
  });

  it('a claim whose instance died is taken over after the lease; completion counts only for the current owner', async () => {
    const { stores } = ctx();
    const v = await pendingWithFallback(T0);
    expect(await stores.delivery.claimDue(T0 + 1, 'dead', 60_000, 10)).toHaveLength(1);
    expect(await stores.delivery.claimDue(T0 + 30_000, 'alive', 60_000, 10)).toEqual([]);
    expect(await stores.delivery.claimDue(T0 + 60_001, 'alive', 60_000, 10)).toEqual([{ verificationId: v.id, reason: 'no_check' }]);
    await stores.delivery.completeFallback(v.id, 'dead', 'done', 'DLdead', T0 + 60_002);
    expect(await stores.delivery.findFallback(v.id)).toMatchObject({ state: 'claimed', claimedBy: 'alive', deliveryId: null });
    await stores.delivery.completeFallback(v.id, 'alive', 'done', 'DLalive', T0 + 60_003);
    expect(await stores.delivery.findFallback(v.id)).toMatchObject({ state: 'done', deliveryId: 'DLalive', completedAt: T0 + 60_003 });
  });

  it('two instances claiming at once (separate connections) each claim a fallback exactly once', async () => {
    const { stores, openAnother } = ctx();
    const other = await openAnother();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await pendingWithFallback(T0 + i)).id);
    const claimed: string[] = [];
    // Several rounds of small batches from both instances at once, as their schedulers would poll.
    for (let round = 0; round < 12 && claimed.length < ids.length; round++) {
      const batches = await Promise.all([
        stores.delivery.claimDue(T0 + 1000, 'instance-a', 60_000, 5),
        other.delivery.claimDue(T0 + 1000, 'instance-b', 60_000, 5),
        stores.delivery.claimDue(T0 + 1000, 'instance-a', 60_000, 5),
        other.delivery.claimDue(T0 + 1000, 'instance-b', 60_000, 5),
      ]);
      for (const batch of batches) claimed.push(...batch.map((c) => c.verificationId));
    }
    expect(claimed.sort()).toEqual([...ids].sort());
  });

  it('switches a pending verification to flash call with a capped attempt budget and one more send', async () => {
    const { stores } = ctx();
    const v = await pendingWithFallback(T0);
    const switched = await stores.delivery.switchToFlashCall(v.id, T0 + 5, 4, 3);
    expect(switched).toMatchObject({ channel: 'flashcall', codeLength: 4, maxAttempts: 3, sends: 2, lastSentAt: T0 + 5 });
    const lower = await stores.delivery.switchToFlashCall(v.id, T0 + 6, 4, 10);
    expect(lower?.maxAttempts).toBe(3); // never raised back
    await stores.verifications.takeAttempt(v.id, T0 + 7, { channel: 'flashcall' });
    expect(await stores.delivery.switchToFlashCall(v.id, T0 + 8, 4, 3)).toBeUndefined();
  });

  it('applies a delivery status once: replayed or reordered callbacks change nothing', async () => {
    const { stores } = ctx();
    const v = verification({ to: '+447700900123', country: 'GB' });
    const d = delivery(v.id, { provider: 'twilio', providerMessageId: 'SMabc', status: 'sent' });
    await stores.verifications.create(v, d);
    expect(await stores.delivery.findDeliveryByProviderId('twilio', 'SMabc')).toEqual({ ...d, app: 'shop', to: '+447700900123', country: 'GB' });
    expect(await stores.delivery.findDeliveryByProviderId('http', 'SMabc')).toBeUndefined();
    const results = await times(5, () => stores.delivery.updateDeliveryStatus(d.id, 'delivered', null, T0 + 10));
    expect(results.filter((r) => r !== undefined)).toEqual([{ ...d, status: 'delivered', updatedAt: T0 + 10 }]);
    expect(await stores.delivery.updateDeliveryStatus(d.id, 'failed', { code: '30003', message: 'late' }, T0 + 11)).toBeUndefined();
  });
});

describeStoreContract('event recorder and retention', (ctx) => {
  it('never stores a number in clear: a keyed hash, a ciphertext and the prefix', async () => {
    const { stores, query } = ctx();
    await stores.events.record({ at: T0, kind: 'failure', reason: 'incorrect_code', app: 'shop', number: '+14155550123', rule: 'r', details: { attempts: 2 }, ip: '198.51.100.7' });
    await stores.events.record({ at: T0 + 1, kind: 'success', reason: 'approved', details: {} });
    const rows = await query<Record<string, unknown>>('SELECT * FROM events ORDER BY id');
    expect(rows).toHaveLength(2);
    expect(JSON.stringify(rows)).not.toContain('4155550123');
    const [first, second] = rows;
    const expected = protector.protect('+14155550123');
    expect(first).toMatchObject({ app: 'shop', kind: 'failure', reason: 'incorrect_code', rule: 'r', details: '{"attempts":2}', number_hash: expected.hash, prefix: expected.prefix, ip: '198.51.100.7' });
    expect(protector.reveal(first!.number_enc as string)).toBe('+14155550123');
    expect(Number(first!.at)).toBe(T0);
    expect(second).toMatchObject({ details: null, number_hash: null, number_enc: null });
  });

  it('deletes only records older than the cutoff, at most `limit` per call, never one twice under concurrency', async () => {
    const { stores, query } = ctx();
    for (let i = 0; i < 30; i++) await stores.events.record({ at: T0 + i, kind: 'failure', reason: 'incorrect_code' });
    expect(await stores.eventRetention.deleteOlderThan(T0 + 5, 3)).toBe(3);
    const concurrent = await times(4, () => stores.eventRetention.deleteOlderThan(T0 + 25, 10));
    expect(concurrent.reduce((a, b) => a + b, 0)).toBe(22);
    const left = await query<{ at: number | string }>('SELECT at FROM events ORDER BY at');
    expect(left.map((r) => Number(r.at))).toEqual([25, 26, 27, 28, 29].map((i) => T0 + i));
  });
});

describeStoreContract('limits stores', (ctx) => {
  it('N concurrent hits of a counter receive N distinct totals (none lost, none duplicated)', async () => {
    const { stores } = ctx();
    const totals = await times(40, () => stores.counters.hit('contract:ip:198.51.100.7', MINUTE));
    expect(totals.map((t) => t.points).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await stores.counters.peek('contract:ip:198.51.100.7')).toEqual({ points: 40, resetInMs: MINUTE });
  });

  it('a window ends on time and the next hit starts a new one; costs add up', async () => {
    const { stores, clock } = ctx();
    expect(await stores.counters.hit('k', MINUTE, 3)).toEqual({ points: 3, resetInMs: MINUTE });
    clock.advance(MINUTE - 1);
    expect(await stores.counters.hit('k', MINUTE, 2)).toEqual({ points: 5, resetInMs: 1 });
    clock.advance(1);
    expect(await stores.counters.peek('k')).toEqual({ points: 0, resetInMs: 0 });
    expect(await stores.counters.hit('k', MINUTE)).toEqual({ points: 1, resetInMs: MINUTE });
  });

  it('hold keeps a key non-zero and never shortens an existing hold', async () => {
    const { stores, clock } = ctx();
    await stores.counters.hold('lock', 10 * MINUTE);
    await stores.counters.hold('lock', MINUTE);
    clock.advance(5 * MINUTE);
    expect(await stores.counters.peek('lock')).toEqual({ points: 1, resetInMs: 5 * MINUTE });
    clock.advance(5 * MINUTE);
    expect((await stores.counters.peek('lock')).points).toBe(0);
  });

  it('a batch of hits counts each key as hit alone, results in the order given; a batch of peeks reads without counting', async () => {
    const { stores, clock } = ctx();
    await stores.counters.hit('b', MINUTE, 4);
    const batch = await stores.counters.hitMany([
      { key: 'c', windowMs: 2 * MINUTE },
      { key: 'b', windowMs: MINUTE, cost: 2 },
      { key: 'a', windowMs: MINUTE, cost: 0 },
    ]);
    expect(batch).toEqual([
      { points: 1, resetInMs: 2 * MINUTE },
      { points: 6, resetInMs: MINUTE },
      { points: 0, resetInMs: MINUTE },
    ]);
    clock.advance(MINUTE);
    expect(await stores.counters.peekMany(['a', 'missing', 'c', 'b'])).toEqual([
      { points: 0, resetInMs: 0 },
      { points: 0, resetInMs: 0 },
      { points: 1, resetInMs: MINUTE },
      { points: 0, resetInMs: 0 },
    ]);
    expect(await stores.counters.hitMany([{ key: 'b', windowMs: MINUTE }])).toEqual([{ points: 1, resetInMs: MINUTE }]);
    expect(await stores.counters.hitMany([])).toEqual([]);
    expect(await stores.counters.peekMany([])).toEqual([]);
    await expect(stores.counters.hitMany([{ key: 'x', windowMs: MINUTE }, { key: 'x', windowMs: MINUTE }])).rejects.toThrow(/duplicate/);
  });

  it('concurrent batches sharing keys in different orders lose no hit and never deadlock', async () => {
    const { stores, openAnother } = ctx();
    const other = await openAnother();
    const keys = ['p', 'q', 'r', 's'];
    await times(20, (i) => (i % 2 === 0 ? stores : other).counters.hitMany((i % 4 < 2 ? keys : [...keys].reverse()).map((key) => ({ key, windowMs: MINUTE }))));
    await otherConnectionsCommitted();
    expect((await stores.counters.peekMany(keys)).map((c) => c.points)).toEqual([20, 20, 20, 20]);
  });

  it('hits in order stop after the first total over its limit: the later keys are not counted', async () => {
    const { stores } = ctx();
    const rules = [
      { key: 'narrow', windowMs: MINUTE, limit: 2 },
      { key: 'wide', windowMs: 2 * MINUTE, limit: 100 },
    ];
    expect(await stores.counters.hitUntil(rules)).toEqual([
      { points: 1, resetInMs: MINUTE },
      { points: 1, resetInMs: 2 * MINUTE },
    ]);
    await stores.counters.hitUntil(rules);
    // The narrow limit refuses from now on: it still counts, the wide one no longer does.
    expect(await stores.counters.hitUntil(rules)).toEqual([{ points: 3, resetInMs: MINUTE }]);
    expect(await stores.counters.hitUntil(rules)).toEqual([{ points: 4, resetInMs: MINUTE }]);
    expect((await stores.counters.peek('wide')).points).toBe(2);
    expect(await stores.counters.hitUntil([])).toEqual([]);
  });

  it('a refused hit in the middle of a batch leaves every later counter as it was, with its costs', async () => {
    const { stores } = ctx();
    await stores.counters.hitMany([{ key: 'later-seen', windowMs: MINUTE, cost: 3 }]);
    const rules = [
      { key: 'first', windowMs: MINUTE, limit: 100, cost: 2 },
      { key: 'middle', windowMs: MINUTE, limit: 4, cost: 5 },
      { key: 'later-seen', windowMs: MINUTE, limit: 100, cost: 7 },
      { key: 'later-new', windowMs: MINUTE, limit: 100, cost: 7 },
    ];
    expect((await stores.counters.hitUntil(rules)).map((c) => c.points)).toEqual([2, 5]);
    expect((await stores.counters.hitUntil(rules)).map((c) => c.points)).toEqual([4, 10]);
    expect((await stores.counters.peekMany(['first', 'middle', 'later-seen', 'later-new'])).map((c) => c.points)).toEqual([4, 10, 3, 0]);
    // The later counters still count normally afterwards.
    expect((await stores.counters.hitMany([{ key: 'later-new', windowMs: MINUTE }])).map((c) => c.points)).toEqual([1]);
  });

  it('concurrent hits in order never let more through than the limit', async () => {
    const { stores, openAnother } = ctx();
    const other = await openAnother();
    const rules = [
      { key: 'number', windowMs: MINUTE, limit: 5 },
      { key: 'app', windowMs: MINUTE, limit: 1000 },
    ];
    const results = await times(30, (i) => (i % 2 === 0 ? stores : other).counters.hitUntil(rules));
    await otherConnectionsCommitted();
    expect(results.filter((r) => r.length === 2 && r.every((c, j) => c.points <= rules[j]!.limit))).toHaveLength(5);
    expect((await stores.counters.peek('number')).points).toBe(30);
    expect((await stores.counters.peek('app')).points).toBe(5);
  });

  it('the blocklist matches numbers, prefixes, countries, addresses and every CIDR, unexpired only', async () => {
    const { stores } = ctx();
    const entries = [
      blockEntry({ kind: 'number', value: '+14155550123' }),
      blockEntry({ kind: 'prefix', value: '+1415' }),
      blockEntry({ kind: 'prefix', value: '+1416' }),
      blockEntry({ kind: 'country', value: 'US' }),
      blockEntry({ kind: 'ip', value: '198.51.100.7', action: 'allow' }),
      blockEntry({ kind: 'cidr', value: '203.0.113.0/24' }),
      blockEntry({ kind: 'number', value: '+14155550123', expiresAt: T0 + 10 }),
    ];
    for (const entry of entries) await stores.blocklist.insert(entry);
    const ids = (list: BlockEntry[]) => list.map((e) => e.id).sort();
    expect(ids(await stores.blocklist.candidates({ number: '+14155550123', country: 'US', ip: '198.51.100.7' }, T0 + 5))).toEqual(
      ids([entries[0]!, entries[1]!, entries[3]!, entries[4]!, entries[5]!, entries[6]!]),
    );
    expect(ids(await stores.blocklist.candidates({ number: '+14155550123', country: undefined, ip: undefined }, T0 + 10))).toEqual(ids([entries[0]!, entries[1]!, entries[5]!]));
    expect((await stores.blocklist.list(T0 + 10, { kind: 'prefix' })).map((e) => e.value)).toEqual(['+1415', '+1416']);
    expect((await stores.blocklist.list(T0 + 10, { action: 'allow' })).map((e) => e.id)).toEqual([entries[4]!.id]);
    expect(await times(3, () => stores.blocklist.remove(entries[0]!.id))).toEqual(expect.arrayContaining([true, false, false]));
  });

  it('concurrent automatic prefix blocks from two instances create exactly one entry per prefix', async () => {
    const { stores, openAnother } = ctx();
    const other = await openAnother();
    // Several rounds on warm connections: the first round alone is staggered by connection set-up.
    for (let round = 0; round < 5; round++) {
      const value = `+44770090${round}`;
      const results = await times(16, (i) =>
        (i % 2 === 0 ? stores : other).blocklist.insertAutoPrefixBlock(blockEntry({ kind: 'prefix', value, reason: 'prefix_velocity', createdBy: 'auto', expiresAt: T0 + MINUTE }), T0),
      );
      expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    }
    expect(await stores.blocklist.list(T0, { kind: 'prefix' })).toHaveLength(5);
    // Once it expired, a new automatic block may be created.
    expect(await stores.blocklist.insertAutoPrefixBlock(blockEntry({ kind: 'prefix', value: '+447700900', createdBy: 'auto', expiresAt: T0 + 2 * MINUTE }), T0 + MINUTE)).toBeDefined();
  });

  it('per-app overrides are replaced as a whole', async () => {
    const { stores } = ctx();
    expect(await stores.appLimits.get('shop')).toBeUndefined();
    await stores.appLimits.put('shop', { rates: { 'number:10m': 2 }, blockVoip: true }, T0);
    await stores.appLimits.put('shop', { allowCountries: ['FR'] }, T0 + 1);
    expect(await stores.appLimits.get('shop')).toEqual({ app: 'shop', overrides: { allowCountries: ['FR'] }, updatedAt: T0 + 1 });
  });
});

describeStoreContract('database health', (ctx) => {
  it('answers a ping, and does not call an ordinary error an outage', async () => {
    const { stores } = ctx();
    await expect(stores.ping()).resolves.toBeUndefined();
    expect(stores.isUnavailable(new Error('boom'))).toBe(false);
  });
});
