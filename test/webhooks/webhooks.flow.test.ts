import { afterEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createFakeClock } from '../helpers/fake-clock.js';
import { createTestApp, startVerification, type TestApp } from '../helpers/test-app.js';
import { startReceiver, type Receiver } from './receiver.js';

let t: TestApp | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  t?.close();
  t = undefined;
  await receiver?.close();
  receiver = undefined;
});

async function setup(): Promise<{ t: TestApp; receiver: Receiver; key: string }> {
  // Real time: standardwebhooks checks the timestamp against the wall clock.
  t = await createTestApp({
    env: { WEBHOOKS_ALLOW_PRIVATE: 'true' },
    clock: createFakeClock(Date.now()),
  });
  receiver = await startReceiver();
  const key = await t.createKey('acme', ['verify']);
  return { t, receiver, key };
}

async function addEndpoint(t: TestApp, url: string, events: string[] = ['*']) {
  const response = await t.call('POST', '/v1/admin/apps/acme/webhooks', { body: { url, events } });
  const text = await response.text();
  expect(response.status, text).toBe(201);
  return JSON.parse(text) as { id: string; secret: string; events: string[]; url: string };
}

describe('webhooks: endpoints and signed deliveries', () => {
  it('delivers verification.started and verification.approved, signed, verified by standardwebhooks', async () => {
    const { t, receiver, key } = await setup();
    const endpoint = await addEndpoint(t, receiver.url);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    receiver.secrets = [endpoint.secret];

    const started = await startVerification(t, { to: '+14155550123' }, key);
    const code = t.codeFor(started.id);
    const check = await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code },
      key,
    });
    expect(check.status).toBe(200);
    await t.deps.jobs.webhooks.runOnce();

    expect(receiver.rejected).toEqual([]);
    // Deliveries run concurrently: no order between events (docs/webhooks.md).
    expect(receiver.received.map((r) => r.event.type).sort()).toEqual([
      'verification.approved',
      'verification.started',
    ]);
    const first = receiver.received.find((r) => r.event.type === 'verification.started');
    expect(first!.event.data).toMatchObject({
      app: 'acme',
      verificationId: started.id,
      channel: 'sms',
    });
    // Never a code or a full number.
    for (const r of receiver.received) {
      expect(r.body).not.toContain(code);
      expect(r.body).not.toContain('4155550123');
      expect(r.event.data.to).toMatch(/•/);
    }
    // A tampered body and a stale timestamp fail in the reference library.
    const headers = first!.headers as Record<string, string>;
    const wh = new Webhook(endpoint.secret);
    expect(() => wh.verify(first!.body.replace('acme', 'acmf'), headers)).toThrow();
    expect(() =>
      wh.verify(first!.body, {
        ...headers,
        'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 600),
      }),
    ).toThrow();
    // Delivered once: nothing more is due.
    expect(await t.deps.jobs.webhooks.runOnce()).toBe(0);
  });

  it('lists, filters by event type, never shows a secret again, deletes', async () => {
    const { t, receiver, key } = await setup();
    const endpoint = await addEndpoint(t, receiver.url, ['verification.approved']);
    receiver.secrets = [endpoint.secret];
    const list = (await (await t.call('GET', '/v1/admin/apps/acme/webhooks')).json()) as {
      endpoints: Record<string, unknown>[];
    };
    expect(list.endpoints).toEqual([
      expect.objectContaining({ id: endpoint.id, events: ['verification.approved'] }),
    ]);
    expect(JSON.stringify(list)).not.toContain('whsec_');
    const started = await startVerification(t, { to: '+14155550124' }, key);
    await t.call('POST', `/v1/verifications/${started.id}/check`, {
      body: { code: t.codeFor(started.id) },
      key,
    });
    await t.deps.jobs.webhooks.runOnce();
    expect(receiver.received.map((r) => r.event.type)).toEqual(['verification.approved']);

    expect((await t.call('DELETE', `/v1/admin/apps/acme/webhooks/${endpoint.id}`)).status).toBe(
      204,
    );
    expect((await t.call('DELETE', `/v1/admin/apps/acme/webhooks/${endpoint.id}`)).status).toBe(
      404,
    );
    const again = await startVerification(t, { to: '+14155550125' }, key);
    await t.call('POST', `/v1/verifications/${again.id}/check`, {
      body: { code: t.codeFor(again.id) },
      key,
    });
    await t.deps.jobs.webhooks.runOnce();
    expect(receiver.received).toHaveLength(1);
  });

  it('refuses unknown event types, unknown apps and endpoints', async () => {
    const { t, receiver } = await setup();
    const bad = await t.call('POST', '/v1/admin/apps/acme/webhooks', {
      body: { url: receiver.url, events: ['verification.exploded'] },
    });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ reason: 'unknown_event_type' });
    const noApp = await t.call('POST', '/v1/admin/apps/nobody/webhooks', {
      body: { url: receiver.url, events: ['*'] },
    });
    expect(noApp.status).toBe(404);
    expect((await t.call('GET', '/v1/admin/apps/acme/webhooks/whe_x/deliveries')).status).toBe(404);
  });

  it('rotate-secret: both secrets sign for 24 h, each verifies alone', async () => {
    const { t, receiver, key } = await setup();
    const endpoint = await addEndpoint(t, receiver.url);
    const rotated = await t.call(
      'POST',
      `/v1/admin/apps/acme/webhooks/${endpoint.id}/rotate-secret`,
    );
    expect(rotated.status).toBe(200);
    const { secret, previousSecretExpiresAt } = (await rotated.json()) as {
      secret: string;
      previousSecretExpiresAt: string;
    };
    expect(secret).not.toBe(endpoint.secret);
    expect(Date.parse(previousSecretExpiresAt) - t.clock.now()).toBe(24 * 3600 * 1000);
    receiver.secrets = [endpoint.secret, secret];
    await startVerification(t, { to: '+14155550126' }, key);
    await t.deps.jobs.webhooks.runOnce();
    expect(receiver.rejected).toEqual([]);
    expect(receiver.received).toHaveLength(1);
    expect(String(receiver.received[0]!.headers['webhook-signature']).split(' ')).toHaveLength(2);
  });
});
