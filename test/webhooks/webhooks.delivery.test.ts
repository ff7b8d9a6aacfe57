import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../helpers/fake-clock.js';
import {
  createTestApp,
  RELAXED_LIMITS,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
import { scriptedSms } from '../delivery/helpers.js';
import { createSender } from '../../src/webhooks/send.js';
import { checkUrl, deniedRange } from '../../src/webhooks/ssrf.js';
import { startReceiver, type Receiver } from './receiver.js';

let t: TestApp | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  t?.close();
  t = undefined;
  await receiver?.close();
  receiver = undefined;
});

interface Delivery {
  id: string;
  eventId: string;
  type: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}

async function setup(env: Record<string, string> = {}, sms?: Parameters<typeof createTestApp>[0]) {
  t = await createTestApp({
    env: { WEBHOOKS_ALLOW_PRIVATE: 'true', ...RELAXED_LIMITS, ...env },
    clock: createFakeClock(Date.now()),
    ...sms,
  });
  receiver = await startReceiver();
  const key = await t.createKey('acme', ['verify']);
  const response = await t.call('POST', '/v1/admin/apps/acme/webhooks', {
    body: { url: receiver.url, events: ['*'] },
  });
  expect(response.status).toBe(201);
  const endpoint = (await response.json()) as { id: string; secret: string };
  receiver.secrets = [endpoint.secret];
  return { t, receiver, key, endpoint };
}

async function deliveries(t: TestApp, endpointId: string, query = ''): Promise<Delivery[]> {
  const response = await t.call(
    'GET',
    `/v1/admin/apps/acme/webhooks/${endpointId}/deliveries${query}`,
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { deliveries: Delivery[] }).deliveries;
}

describe('webhooks: the events of each change', () => {
  it('verification.failed: canceled, and max_attempts_exceeded after the last wrong code', async () => {
    const { t, receiver, key } = await setup();
    const canceled = await startVerification(t, { to: '+14155550130' }, key);
    expect((await t.call('POST', `/v1/verifications/${canceled.id}/cancel`, { key })).status).toBe(
      200,
    );
    const locked = await startVerification(t, { to: '+14155550131' }, key);
    const code = t.codeFor(locked.id);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++)
      await t.call('POST', `/v1/verifications/${locked.id}/check`, { body: { code: wrong }, key });
    await t.deps.jobs.webhooks.runOnce();
    expect(receiver.rejected).toEqual([]);
    const failed = receiver.received.filter((r) => r.event.type === 'verification.failed');
    expect(
      failed
        .map((r) => r.event.data)
        .sort((a, b) => String(a.reason).localeCompare(String(b.reason))),
    ).toEqual([
      expect.objectContaining({ verificationId: canceled.id, reason: 'canceled' }),
      expect.objectContaining({ verificationId: locked.id, reason: 'max_attempts_exceeded' }),
    ]);
  });

  it('delivery.failed when the provider refuses; abuse.refused when a limit refuses', async () => {
    const sms = scriptedSms('http', () => ({
      status: 'failed',
      errorCode: 'http_400',
      errorMessage: 'unknown destination',
      transient: false,
    }));
    const { t, receiver, key } = await setup({ LIMIT_NUMBER_STARTS_10M: '1' }, { sms });
    await t.call('POST', '/v1/verifications', { body: { to: '+14155550132' }, key });
    const refused = await t.call('POST', '/v1/verifications', {
      body: { to: '+14155550132' },
      key,
    });
    expect(refused.status).toBe(429);
    await t.deps.jobs.webhooks.runOnce();
    const types = receiver.received.map((r) => r.event.type);
    expect(types).toContain('delivery.failed');
    expect(types).toContain('abuse.refused');
    const abuse = receiver.received.find((r) => r.event.type === 'abuse.refused')!;
    expect(abuse.event.data).toMatchObject({ app: 'acme', reason: 'rate_limited' });
    expect(abuse.event.data.rule).toEqual(expect.any(String));
    const failed = receiver.received.find((r) => r.event.type === 'delivery.failed')!;
    expect(failed.event.data).toMatchObject({ provider: 'http', errorCode: 'http_400' });
    expect(failed.body).not.toContain('unknown destination');
  });
});

describe('webhooks: retries, deliveries list and replay', () => {
  it('retries with backoff (5 s, 30 s, …) on the fake clock, the same webhook-id each time, then fails; a retry replays it', async () => {
    const { t, receiver, key, endpoint } = await setup({ WEBHOOKS_RETRY_DELAYS: '5,30,120' });
    receiver.secrets = []; // the clock runs ahead of the wall clock: no timestamp check here
    receiver.status = 500;
    await startVerification(t, { to: '+14155550140' }, key);
    const worker = t.deps.jobs.webhooks;
    expect(await worker.runOnce()).toBe(1);
    let [d] = await deliveries(t, endpoint.id);
    expect(d).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastStatus: 500,
      lastError: 'http_500',
    });
    const due = Date.parse(d!.nextAttemptAt!) - t.clock.now();
    expect(due).toBeGreaterThanOrEqual(4500);
    expect(due).toBeLessThanOrEqual(5500);

    t.clock.advance(4000);
    expect(await worker.runOnce()).toBe(0); // not due yet
    t.clock.advance(2000);
    expect(await worker.runOnce()).toBe(1);
    t.clock.advance(33_000);
    expect(await worker.runOnce()).toBe(1);
    t.clock.advance(132_000);
    expect(await worker.runOnce()).toBe(1);
    [d] = await deliveries(t, endpoint.id);
    expect(d).toMatchObject({ status: 'failed', attempts: 4, nextAttemptAt: null });
    t.clock.advance(10 * 24 * 3600_000);
    expect(await worker.runOnce()).toBe(0);
    // Four attempts, each answered 500, all with the same webhook-id.
    expect(receiver.received).toHaveLength(4);
    const ids = new Set(receiver.received.map((r) => r.headers['webhook-id']));
    expect(ids).toEqual(new Set([d!.eventId]));
    receiver.received.length = 0;

    expect(await deliveries(t, endpoint.id, '?status=failed')).toHaveLength(1);
    expect(await deliveries(t, endpoint.id, '?status=delivered')).toHaveLength(0);
    const failing = (await (await t.call('GET', '/v1/admin/webhooks/failing')).json()) as {
      endpoints: { endpointId: string; failed: number }[];
    };
    expect(failing.endpoints).toEqual([
      expect.objectContaining({ endpointId: endpoint.id, failed: 1, lastStatus: 500 }),
    ]);

    receiver.status = 204;
    const retried = await t.call(
      'POST',
      `/v1/admin/apps/acme/webhooks/${endpoint.id}/deliveries/${d!.id}/retry`,
    );
    expect(retried.status).toBe(202);
    expect(await worker.runOnce()).toBe(1);
    expect(receiver.received.map((r) => r.headers['webhook-id'])).toEqual([d!.eventId]);
    [d] = await deliveries(t, endpoint.id);
    expect(d).toMatchObject({ status: 'delivered', lastStatus: 204 });
    expect(
      (await t.call('POST', `/v1/admin/apps/acme/webhooks/${endpoint.id}/deliveries/nope/retry`))
        .status,
    ).toBe(404);
  });
});

describe('webhooks: SSRF', () => {
  it('refuses at registration what the URL shows: not https, loopback, private, link-local, metadata, CGNAT', async () => {
    t = await createTestApp();
    await t.createKey('acme', ['verify']);
    const cases: [string, string, string][] = [
      ['http://example.com/hook', 'webhook_url_not_https', 'https_only'],
      ['https://127.0.0.1/hook', 'webhook_url_private_address', 'loopback'],
      ['https://[::1]/hook', 'webhook_url_private_address', 'loopback'],
      ['https://localhost/hook', 'webhook_url_private_address', 'loopback'],
      ['https://10.1.2.3/hook', 'webhook_url_private_address', 'private'],
      ['https://192.168.1.1/hook', 'webhook_url_private_address', 'private'],
      ['https://169.254.169.254/latest', 'webhook_url_private_address', 'metadata'],
      ['https://[fd00:ec2::254]/', 'webhook_url_private_address', 'metadata'],
      ['https://169.254.10.1/', 'webhook_url_private_address', 'link_local'],
      ['https://100.64.0.1/', 'webhook_url_private_address', 'cgnat'],
      ['https://0.0.0.0/', 'webhook_url_private_address', 'unspecified'],
      ['https://224.0.0.1/', 'webhook_url_private_address', 'multicast'],
      ['https://[::ffff:127.0.0.1]/', 'webhook_url_private_address', 'loopback'],
      ['https://user:pw@example.com/', 'webhook_url_invalid', 'credentials'],
      ['not a url', 'webhook_url_invalid', 'syntax'],
    ];
    for (const [url, reason, rule] of cases) {
      const response = await t.call('POST', '/v1/admin/apps/acme/webhooks', {
        body: { url, events: ['*'] },
      });
      expect(response.status, url).toBe(422);
      expect(await response.json(), url).toMatchObject({ reason, rule });
    }
    const ok = await t.call('POST', '/v1/admin/apps/acme/webhooks', {
      body: { url: 'https://example.com/hook', events: ['*'] },
    });
    expect(ok.status).toBe(201);
    expect(checkUrl('http://127.0.0.1:8080/', true)).toBeUndefined();
    expect(deniedRange('8.8.8.8')).toBeUndefined();
  });

  it('refuses at delivery time a name that resolves to loopback, recording the rule', async () => {
    const send = createSender({ timeoutMs: 2000, allowPrivate: false });
    const outcome = await send('https://localhost:1/hook', {}, '{}');
    expect(outcome).toMatchObject({ ok: false, status: null });
    expect((outcome as { error: string }).error).toMatch(/^refused_loopback/);

    // Through the worker: an endpoint whose name passed registration but resolves to 127.0.0.1.
    t = await createTestApp({ clock: createFakeClock(Date.now()) });
    const key = await t.createKey('acme', ['verify']);
    const created = await t.call('POST', '/v1/admin/apps/acme/webhooks', {
      body: { url: 'https://example.com/hook', events: ['*'] },
    });
    const { id } = (await created.json()) as { id: string };
    // As if example.com's DNS now answered 127.0.0.1 (rebinding): point the endpoint at a loopback name.
    const update = 'UPDATE webhook_endpoints SET url = ? WHERE id = ?';
    if (t.storage.kind === 'postgres') await t.rows(update, 'https://localhost:1/hook', id);
    else t.database.raw.prepare(update).run('https://localhost:1/hook', id);
    await startVerification(t, { to: '+14155550150' }, key);
    expect(await t.deps.jobs.webhooks.runOnce()).toBe(1);
    const [d] = await deliveries(t, id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null });
    expect(d!.lastError).toMatch(/^refused_loopback/);
  });
});
