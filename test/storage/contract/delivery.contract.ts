import { expect, it } from 'vitest';
import type { VerificationRecord } from '../../../src/verification/verification.store.js';
import type { StoreContext } from './backends.js';
import { T0, times, verification, delivery } from './fixtures.js';

/**
 * Fallbacks and delivery statuses. Exploitable if broken: a fallback call placed twice (by two
 * instances, or after a lease), a settled verification called anyway, a replayed provider callback
 * rewriting a final status.
 */
export function deliveryContract(ctx: () => StoreContext): void {
  async function pendingWithFallback(dueAt: number): Promise<VerificationRecord> {
    const { stores } = ctx();
    const v = verification();
    await stores.fallbacks.scheduleFallback(v.id, dueAt);
    await stores.verifications.create(v, delivery(v.id));
    return v;
  }

  it('scheduling twice keeps the first schedule; an immediate trigger claims it exactly once', async () => {
    const { stores } = ctx();
    const v = await pendingWithFallback(T0 + 45_000);
    await stores.fallbacks.scheduleFallback(v.id, T0 + 99_000);
    expect(await stores.fallbacks.findFallback(v.id)).toMatchObject({
      state: 'scheduled',
      dueAt: T0 + 45_000,
      reason: null,
    });
    const results = await times(10, (i) =>
      stores.fallbacks.claimScheduled(v.id, 'delivery_failed', T0 + 1, `owner-${i}`),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.fallbacks.findFallback(v.id)).toMatchObject({
      state: 'claimed',
      reason: 'delivery_failed',
      claimedAt: T0 + 1,
    });
    expect(await stores.fallbacks.claimScheduled('VEnone', 'no_check', T0, 'x')).toBe(false);
  });

  it('claimRequested creates a claimed fallback or claims the scheduled one, for exactly one caller', async () => {
    const { stores } = ctx();
    const unscheduled = verification();
    await stores.verifications.create(unscheduled, delivery(unscheduled.id));
    const first = await times(8, (i) =>
      stores.fallbacks.claimRequested(unscheduled.id, T0 + 1, `owner-${i}`),
    );
    expect(first.filter(Boolean)).toHaveLength(1);
    expect(await stores.fallbacks.findFallback(unscheduled.id)).toMatchObject({
      state: 'claimed',
      reason: 'requested',
      dueAt: T0 + 1,
    });
    const scheduled = await pendingWithFallback(T0 + 45_000);
    const second = await times(8, (i) =>
      stores.fallbacks.claimRequested(scheduled.id, T0 + 2, `owner-${i}`),
    );
    expect(second.filter(Boolean)).toHaveLength(1);
    expect(await stores.fallbacks.findFallback(scheduled.id)).toMatchObject({
      state: 'claimed',
      reason: 'requested',
      dueAt: T0 + 45_000,
    });
  });

  it('claims due fallbacks of pending verifications only, and none before they are due', async () => {
    const { stores } = ctx();
    const due = await pendingWithFallback(T0 + 1000);
    const later = await pendingWithFallback(T0 + 60_000);
    const approved = await pendingWithFallback(T0 + 1000);
    await stores.verifications.takeAttempt(approved.id, T0 + 500, { channel: 'sms' });
    expect(await stores.fallbacks.claimDue(T0 + 500, 'a', 60_000, 10)).toEqual([]);
    expect(await stores.fallbacks.claimDue(T0 + 2000, 'a', 60_000, 10)).toEqual([
      { verificationId: due.id, reason: 'no_check' },
    ]);
    expect(await stores.fallbacks.claimDue(T0 + 2000, 'b', 60_000, 10)).toEqual([]);
    expect((await stores.fallbacks.findFallback(later.id))?.state).toBe('scheduled');
    // The approved verification's fallback is voided once due, never before.
    expect(await stores.fallbacks.voidSettled(T0 + 500)).toBe(0);
    expect(await stores.fallbacks.voidSettled(T0 + 2000)).toBe(1);
    expect(await stores.fallbacks.findFallback(approved.id)).toMatchObject({
      state: 'void',
      completedAt: T0 + 2000,
    });
  });

  it('a claim whose instance died is taken over after the lease; completion counts only for the current owner', async () => {
    const { stores } = ctx();
    const v = await pendingWithFallback(T0);
    expect(await stores.fallbacks.claimDue(T0 + 1, 'dead', 60_000, 10)).toHaveLength(1);
    expect(await stores.fallbacks.claimDue(T0 + 30_000, 'alive', 60_000, 10)).toEqual([]);
    expect(await stores.fallbacks.claimDue(T0 + 60_001, 'alive', 60_000, 10)).toEqual([
      { verificationId: v.id, reason: 'no_check' },
    ]);
    await stores.fallbacks.completeFallback(v.id, 'dead', 'done', 'DLdead', T0 + 60_002);
    expect(await stores.fallbacks.findFallback(v.id)).toMatchObject({
      state: 'claimed',
      claimedBy: 'alive',
      deliveryId: null,
    });
    await stores.fallbacks.completeFallback(v.id, 'alive', 'done', 'DLalive', T0 + 60_003);
    expect(await stores.fallbacks.findFallback(v.id)).toMatchObject({
      state: 'done',
      deliveryId: 'DLalive',
      completedAt: T0 + 60_003,
    });
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
        stores.fallbacks.claimDue(T0 + 1000, 'instance-a', 60_000, 5),
        other.fallbacks.claimDue(T0 + 1000, 'instance-b', 60_000, 5),
        stores.fallbacks.claimDue(T0 + 1000, 'instance-a', 60_000, 5),
        other.fallbacks.claimDue(T0 + 1000, 'instance-b', 60_000, 5),
      ]);
      for (const batch of batches) claimed.push(...batch.map((c) => c.verificationId));
    }
    expect(claimed.sort()).toEqual([...ids].sort());
  });

  it('switches a pending verification to flash call with a capped attempt budget and one more send', async () => {
    const { stores } = ctx();
    const v = await pendingWithFallback(T0);
    const switched = await stores.fallbacks.switchToFlashCall(v.id, T0 + 5, 4, 3);
    expect(switched).toMatchObject({
      channel: 'flashcall',
      codeLength: 4,
      maxAttempts: 3,
      sends: 2,
      lastSentAt: T0 + 5,
    });
    const lower = await stores.fallbacks.switchToFlashCall(v.id, T0 + 6, 4, 10);
    expect(lower?.maxAttempts).toBe(3); // never raised back
    await stores.verifications.takeAttempt(v.id, T0 + 7, { channel: 'flashcall' });
    expect(await stores.fallbacks.switchToFlashCall(v.id, T0 + 8, 4, 3)).toBeUndefined();
  });

  it('applies a delivery status once: replayed or reordered callbacks change nothing', async () => {
    const { stores } = ctx();
    const v = verification({ to: '+447700900123', country: 'GB' });
    const d = delivery(v.id, { provider: 'twilio', providerMessageId: 'SMabc', status: 'sent' });
    await stores.verifications.create(v, d);
    expect(await stores.delivery.findDeliveryByProviderId('twilio', 'SMabc')).toEqual({
      ...d,
      app: 'shop',
      to: '+447700900123',
      country: 'GB',
    });
    expect(await stores.delivery.findDeliveryByProviderId('http', 'SMabc')).toBeUndefined();
    const results = await times(5, () =>
      stores.delivery.updateDeliveryStatus(d.id, 'delivered', null, T0 + 10),
    );
    expect(results.filter((r) => r !== undefined)).toEqual([
      { ...d, status: 'delivered', updatedAt: T0 + 10 },
    ]);
    expect(
      await stores.delivery.updateDeliveryStatus(
        d.id,
        'failed',
        { code: '30003', message: 'late' },
        T0 + 11,
      ),
    ).toBeUndefined();
  });
}
