import { expect, it } from 'vitest';
import type { StoreContext } from './backends.js';
import { T0, MINUTE, times, verification, delivery } from './fixtures.js';

/**
 * Verifications and their deliveries. Exploitable if broken: an extra code guess or a second approval
 * won by a race (brute force past the attempt limit), a send past its cooldown (SMS pumping), a
 * verification written without its delivery or event.
 */
export function verificationContract(ctx: () => StoreContext): void {
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
    expect(
      (await stores.verifications.findNewestPending('shop', '+14155550123', T0 + 5000))?.id,
    ).toBe(newer.id);
    await stores.verifications.takeAttempt(newer.id, T0 + 5000, { channel: 'sms' });
    expect(
      (await stores.verifications.findNewestPending('shop', '+14155550123', T0 + 5000))?.id,
    ).toBe(older.id);
    expect(
      await stores.verifications.findNewestPending('shop', '+14155550123', T0 + 11 * MINUTE),
    ).toBeUndefined();
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
    expect(await stores.verifications.findById('shop', v.id)).toMatchObject({
      attempts: 5,
      status: 'locked',
    });
  });

  it('N concurrent approving attempts: exactly one approves (taking one attempt), the rest take nothing', async () => {
    const { stores } = ctx();
    const v = verification({ attempts: 2 });
    await stores.verifications.create(v, delivery(v.id));
    const results = await times(20, (i) =>
      stores.verifications.takeAttempt(v.id, T0 + 1000, { channel: i % 2 ? 'sms' : 'flashcall' }),
    );
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
    const results = await times(24, (i) =>
      stores.verifications.takeAttempt(
        v.id,
        T0 + 1000,
        i % 3 === 0 ? { channel: 'sms' } : undefined,
      ),
    );
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
    expect(
      await stores.verifications.takeAttempt(v.id, v.expiresAt, { channel: 'sms' }),
    ).toBeUndefined();
    expect(await stores.verifications.cancelPending('shop', v.id, T0 + 1)).toBe(true);
    expect(await stores.verifications.takeAttempt(v.id, T0 + 2)).toBeUndefined();
    expect(
      await stores.verifications.takeAttempt(v.id, T0 + 2, { channel: 'sms' }),
    ).toBeUndefined();
    // Every attempt used (the limit lowered under it, as a fallback to a flash call may): no approval either.
    const used = verification({ attempts: 3, maxAttempts: 3 });
    await stores.verifications.create(used, delivery(used.id));
    expect(
      await stores.verifications.takeAttempt(used.id, T0 + 2, { channel: 'sms' }),
    ).toBeUndefined();
    expect((await stores.verifications.findById('shop', used.id))?.status).toBe('pending');
  });

  it('a wrong attempt locks only when it is the last one', async () => {
    const { stores } = ctx();
    const v = verification({ attempts: 3, maxAttempts: 5 });
    await stores.verifications.create(v, delivery(v.id));
    expect(await stores.verifications.takeAttempt(v.id, T0 + 1)).toEqual({
      attempts: 4,
      status: 'pending',
    });
    expect(await stores.verifications.takeAttempt(v.id, T0 + 2)).toEqual({
      attempts: 5,
      status: 'locked',
    });
    expect(await stores.verifications.findById('shop', v.id)).toMatchObject({
      status: 'locked',
      approvedAt: null,
      approvedChannel: null,
    });
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
    expect(await stores.verifications.findWithDeliveries('shop', v.id)).toEqual({
      verification: v,
      deliveries: [first, second, third],
    });
    expect(await stores.verifications.findWithDeliveries('other-app', v.id)).toBeUndefined();
    expect(await stores.verifications.findWithDeliveries('shop', 'VEnone')).toBeUndefined();
  });

  it('create is all or nothing: a verification, its first delivery and its started event', async () => {
    const { stores, query } = ctx();
    const v = verification();
    const first = delivery(v.id);
    const started = {
      at: T0,
      kind: 'success' as const,
      reason: 'started',
      app: 'shop',
      number: v.to,
      verificationId: v.id,
    };
    await stores.verifications.create(v, first, started);
    expect(await query(`SELECT reason FROM events WHERE verification_id = '${v.id}'`)).toEqual([
      { reason: 'started' },
    ]);
    // The same verification id again: refused, and neither its delivery nor its event is written.
    const again = delivery(v.id);
    await expect(
      stores.verifications.create(v, again, { ...started, reason: 'started-again' }),
    ).rejects.toThrow();
    expect(await stores.verifications.listDeliveries(v.id)).toEqual([first]);
    // A delivery id already taken: the new verification and its event are not written either.
    const w = verification();
    const taken = { ...delivery(w.id), id: first.id };
    await expect(
      stores.verifications.create(w, taken, { ...started, verificationId: w.id }),
    ).rejects.toThrow();
    expect(await stores.verifications.findById('shop', w.id)).toBeUndefined();
    expect(
      await query(
        `SELECT reason FROM events WHERE verification_id = '${w.id}' OR reason = 'started-again'`,
      ),
    ).toEqual([]);
  });

  it('concurrent approving attempts with their event: exactly one approval, exactly one approved event', async () => {
    const { stores, query } = ctx();
    const v = verification();
    await stores.verifications.create(v, delivery(v.id));
    const event = {
      at: T0 + 1000,
      kind: 'success' as const,
      reason: 'approved',
      app: 'shop',
      channel: 'sms',
      number: v.to,
      verificationId: v.id,
    };
    const results = await times(20, () =>
      stores.verifications.takeAttempt(v.id, T0 + 1000, { channel: 'sms', event }),
    );
    expect(results.filter((r) => r !== undefined)).toEqual([{ attempts: 1, status: 'approved' }]);
    const rows = await query<Record<string, unknown>>(
      `SELECT kind, reason, channel, app, number_enc, at FROM events WHERE verification_id = '${v.id}'`,
    );
    expect(rows.map((r) => ({ ...r, at: Number(r.at) }))).toEqual([
      {
        kind: 'success',
        reason: 'approved',
        channel: 'sms',
        app: 'shop',
        number_enc: expect.any(String),
        at: T0 + 1000,
      },
    ]);
    // Refused (expired, or settled already): no event.
    const late = verification();
    await stores.verifications.create(late, delivery(late.id));
    expect(
      await stores.verifications.takeAttempt(late.id, late.expiresAt, {
        channel: 'sms',
        event: { ...event, verificationId: late.id },
      }),
    ).toBeUndefined();
    expect(await query(`SELECT reason FROM events WHERE verification_id = '${late.id}'`)).toEqual(
      [],
    );
  });

  it('cancels only its own app’s pending verification, once', async () => {
    const { stores } = ctx();
    const v = verification();
    await stores.verifications.create(v, delivery(v.id));
    expect(await stores.verifications.cancelPending('other-app', v.id, T0 + 1)).toBe(false);
    const results = await times(5, () => stores.verifications.cancelPending('shop', v.id, T0 + 1));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.verifications.findById('shop', v.id)).toMatchObject({
      status: 'canceled',
      canceledAt: T0 + 1,
    });
  });

  it('reserveSend: one slot per cooldown under concurrency, then says why it refuses', async () => {
    const { stores } = ctx();
    const v = verification({ sends: 1, maxSends: 3, lastSentAt: T0 });
    await stores.verifications.create(v, delivery(v.id));
    expect(await stores.verifications.reserveSend(v.id, T0 + 10_000, 30_000)).toEqual({
      ok: false,
      why: 'cooldown',
      retryAt: T0 + 30_000,
    });
    const concurrent = await times(10, () =>
      stores.verifications.reserveSend(v.id, T0 + 30_000, 30_000),
    );
    expect(concurrent.filter((s) => s.ok)).toEqual([{ ok: true, sends: 2 }]);
    expect(await stores.verifications.reserveSend(v.id, T0 + 60_000, 30_000)).toEqual({
      ok: true,
      sends: 3,
    });
    expect(await stores.verifications.reserveSend(v.id, T0 + 90_000, 30_000)).toEqual({
      ok: false,
      why: 'max_sends',
    });
    expect(await stores.verifications.reserveSend(v.id, v.expiresAt, 0)).toEqual({
      ok: false,
      why: 'expired',
    });
    expect(await stores.verifications.reserveSend('VEnone', T0, 0)).toEqual({
      ok: false,
      why: 'not_pending',
    });
  });

  it('records deliveries and what the provider said about them', async () => {
    const { stores } = ctx();
    const v = verification();
    const first = delivery(v.id, { createdAt: T0 });
    await stores.verifications.create(v, first);
    const second = delivery(v.id, { createdAt: T0 + 1 });
    await stores.verifications.addDelivery(second);
    await stores.verifications.completeDelivery(first.id, {
      status: 'failed',
      providerMessageId: 'SM1',
      errorCode: '30003',
      errorMessage: 'unreachable',
      updatedAt: T0 + 2,
    });
    expect(await stores.verifications.listDeliveries(v.id)).toEqual([
      {
        ...first,
        status: 'failed',
        providerMessageId: 'SM1',
        errorCode: '30003',
        errorMessage: 'unreachable',
        updatedAt: T0 + 2,
      },
      second,
    ]);
  });

  it('completeDelivery with an event writes both', async () => {
    const { stores, query } = ctx();
    const v = verification();
    const d = delivery(v.id);
    await stores.verifications.create(v, d);
    const sent = {
      at: T0 + 3,
      kind: 'success' as const,
      reason: 'sent',
      app: 'shop',
      provider: 'log',
      verificationId: v.id,
    };
    await stores.verifications.completeDelivery(
      d.id,
      {
        status: 'sent',
        providerMessageId: 'SM9',
        errorCode: null,
        errorMessage: null,
        updatedAt: T0 + 3,
      },
      sent,
    );
    expect(await stores.verifications.listDeliveries(v.id)).toEqual([
      { ...d, status: 'sent', providerMessageId: 'SM9', updatedAt: T0 + 3 },
    ]);
    expect(
      await query(`SELECT reason, provider FROM events WHERE verification_id = '${v.id}'`),
    ).toEqual([{ reason: 'sent', provider: 'log' }]);
  });
}
