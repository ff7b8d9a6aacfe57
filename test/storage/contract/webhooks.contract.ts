import { expect, it } from 'vitest';
import { createStores } from '../../../src/storage/index.js';
import type { WebhookEndpointRecord } from '../../../src/webhooks/webhooks.store.js';
import { protector, type StoreContext } from './backends.js';
import { T0 } from './fixtures.js';

const endpoint = (id: string, events: string, app = 'shop'): WebhookEndpointRecord => ({
  id,
  app,
  url: `https://example.com/${id}`,
  events,
  secretEnc: `sealed-${id}`,
  previousSecretEnc: null,
  previousUntil: null,
  createdAt: T0,
  updatedAt: T0,
});

const entry = (id: string, type: string) =>
  JSON.stringify({
    id,
    type,
    body: JSON.stringify({ type, timestamp: 'x', data: { app: 'shop' } }),
  });

/**
 * Webhook endpoints and the outbox. Broken, this loses events (an approval the app never hears of),
 * sends one to an endpoint that did not subscribe, or lets two instances send the same delivery.
 */
export function webhooksContract(ctx: () => StoreContext): void {
  it('keeps endpoints per app; rotation keeps the previous secret; delete removes its deliveries', async () => {
    const { stores } = ctx();
    await stores.webhooks.createEndpoint(endpoint('whe_a', '*'));
    await stores.webhooks.createEndpoint(endpoint('whe_b', 'verification.approved', 'other'));
    expect((await stores.webhooks.listEndpoints('shop')).map((e) => e.id)).toEqual(['whe_a']);
    expect(await stores.webhooks.findEndpoint('other', 'whe_a')).toBeUndefined();
    expect(
      await stores.webhooks.rotateSecret('shop', 'whe_a', 'new', 'sealed-whe_a', T0 + 9, T0 + 1),
    ).toBe(true);
    expect(await stores.webhooks.endpointById('whe_a')).toMatchObject({
      secretEnc: 'new',
      previousSecretEnc: 'sealed-whe_a',
      previousUntil: T0 + 9,
    });
    expect((await stores.webhooks.subscriptions()).length).toBe(2);
    expect(await stores.webhooks.deleteEndpoint('other', 'whe_a')).toBe(false);
    expect(await stores.webhooks.deleteEndpoint('shop', 'whe_a')).toBe(true);
    expect(await stores.webhooks.listEndpoints('shop')).toEqual([]);
  });

  it('an event record with a webhook entry fans out to the subscribed endpoints of its app, in the same write', async () => {
    const { stores, database, clock, query } = ctx();
    await stores.webhooks.createEndpoint(endpoint('whe_all', '*'));
    await stores.webhooks.createEndpoint(
      endpoint('whe_appr', 'verification.approved,delivery.failed'),
    );
    await stores.webhooks.createEndpoint(endpoint('whe_start', 'verification.started'));
    await stores.webhooks.createEndpoint(endpoint('whe_else', '*', 'other'));
    const writing = createStores(database, {
      clock,
      protector,
      webhookFor: (e) =>
        e.reason === 'approved' ? entry('msg_1', 'verification.approved') : undefined,
    });
    await writing.events.record({ at: T0, kind: 'success', reason: 'approved', app: 'shop' });
    await writing.events.record({ at: T0, kind: 'success', reason: 'sent', app: 'shop' });
    const rows = await query<{ endpoint_id: string; event_id: string; status: string }>(
      'SELECT endpoint_id, event_id, status FROM webhook_deliveries ORDER BY endpoint_id',
    );
    expect(rows.map((r) => [r.endpoint_id, r.event_id, r.status])).toEqual([
      ['whe_all', 'msg_1', 'pending'],
      ['whe_appr', 'msg_1', 'pending'],
    ]);
    // The entry is not kept in the record itself.
    expect(await query('SELECT id FROM events WHERE webhook IS NOT NULL')).toEqual([]);
  });

  it('claims are leases: two instances never hold one delivery; an expired lease is claimed again; only the holder completes', async () => {
    const { stores, database, clock, openAnother } = ctx();
    await stores.webhooks.createEndpoint(endpoint('whe_all', '*'));
    const writing = createStores(database, {
      clock,
      protector,
      webhookFor: (e) => entry(`msg_${e.reason}`, 'verification.started'),
    });
    for (let i = 0; i < 20; i++)
      await writing.events.record({ at: T0, kind: 'success', reason: `r${i}`, app: 'shop' });
    const other = await openAnother();
    const [a, b] = await Promise.all([
      stores.webhooks.claimDue('a', T0, T0 + 1000, 15, []),
      other.webhooks.claimDue('b', T0, T0 + 1000, 15, []),
    ]);
    const ids = [...a, ...b].map((d) => d.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(20);
    expect(await stores.webhooks.claimDue('c', T0 + 500, T0 + 1500, 50, [])).toEqual([]);
    const reclaimed = await stores.webhooks.claimDue('c', T0 + 1001, T0 + 2000, 50, []);
    expect(reclaimed).toHaveLength(20);
    const outcome = {
      status: 'delivered' as const,
      attempts: 1,
      nextAttemptAt: T0,
      lastStatus: 204,
      lastError: null,
      lastResponse: null,
      at: T0 + 1002,
    };
    expect(await stores.webhooks.completeAttempt(reclaimed[0]!.id, 'a', outcome)).toBe(false);
    expect(await stores.webhooks.completeAttempt(reclaimed[0]!.id, 'c', outcome)).toBe(true);
    expect(await stores.webhooks.queueStats()).toEqual({ depth: 19, oldestCreatedAt: T0 });
    expect(await stores.webhooks.claimDue('d', T0 + 5000, T0 + 6000, 50, ['whe_all'])).toEqual([]);
  });
}
