// Exploitable without this: every per-IP limit and IP signal is bypassed by a client that sends
// its own X-Forwarded-For with a fresh address on each request, when no proxy put it there.
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { parseTrustProxy, resolveClientAddress } from '../../src/http/client-address.js';
import { subnetOf } from '../../src/platform/ip.js';
import { ADMIN_KEY, createTestApp, type TestApp } from '../helpers/test-app.js';
import { failures, setLimits, spreadNumber } from './limits-helpers.js';

describe('resolveClientAddress', () => {
  it('ignores X-Forwarded-For without trusted proxies', () => {
    expect(resolveClientAddress('198.51.100.1', '1.2.3.4', { kind: 'none' })).toBe('198.51.100.1');
  });

  it('takes the entry the trusted hops appended, never one further left', () => {
    const one = parseTrustProxy('1');
    expect(resolveClientAddress('10.0.0.1', 'spoofed, 203.0.113.9', one)).toBe('203.0.113.9');
    expect(resolveClientAddress('10.0.0.1', '203.0.113.9, 10.0.0.2', parseTrustProxy('2'))).toBe(
      '203.0.113.9',
    );
    expect(resolveClientAddress('10.0.0.1', undefined, one)).toBe('10.0.0.1');
    expect(resolveClientAddress('10.0.0.1', 'not-an-ip', one)).toBe('10.0.0.1');
  });

  it('walks trusted CIDRs from the right and stops at the first untrusted address', () => {
    const cidrs = parseTrustProxy('10.0.0.0/8, fd00::/8');
    expect(resolveClientAddress('10.0.0.1', 'spoofed, 203.0.113.9, 10.1.1.1', cidrs)).toBe(
      '203.0.113.9',
    );
    expect(resolveClientAddress('198.51.100.7', '203.0.113.9', cidrs)).toBe('198.51.100.7');
    expect(resolveClientAddress('::ffff:10.0.0.1', '203.0.113.9', cidrs)).toBe('203.0.113.9');
  });

  it('refuses TRUST_PROXY values that would trust every peer', () => {
    expect(() => loadConfig({ TRUST_PROXY: 'true' })).toThrow(
      /TRUST_PROXY must name the trusted hops/,
    );
    expect(() => loadConfig({ TRUST_PROXY: '0.0.0.0/0' })).toThrow(/trusts every peer/);
    expect(() => loadConfig({ TRUST_PROXY: '10.0.0.0/33' })).toThrow(/not a hop count/);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8,192.168.1.1' }).http.trustProxy.kind).toBe(
      'cidrs',
    );
  });

  it('groups IPv4 by /24 and IPv6 by /64', () => {
    expect(subnetOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(subnetOf('2001:db8::1')).toBe('2001:0db8:0000:0000::/64');
    expect(subnetOf('2001:db8:0:0:1::')).toBe('2001:0db8:0000:0000::/64');
  });
});

async function startDirect(
  t: TestApp,
  key: string,
  to: string,
  peer: string,
  forwardedFor: string,
): Promise<number> {
  const response = await t.call('POST', '/v1/verifications', {
    key,
    clientIp: peer,
    headers: { 'x-forwarded-for': forwardedFor },
    body: { to },
  });
  return response.status;
}

describe('X-Forwarded-For spoofing, in-process', () => {
  let t: TestApp;
  afterEach(() => t.close());

  it('an untrusted peer rotating X-Forwarded-For still hits its per-IP limit', async () => {
    t = await createTestApp();
    const key = await t.createKey('acme', ['verify']);
    await setLimits(t, 'acme', { rates: { 'ip:10m': 2 } });
    expect(await startDirect(t, key, spreadNumber(1), '198.51.100.7', '203.0.113.1')).toBe(201);
    expect(await startDirect(t, key, spreadNumber(2), '198.51.100.7', '203.0.113.2')).toBe(201);
    expect(await startDirect(t, key, spreadNumber(3), '198.51.100.7', '203.0.113.3')).toBe(429);
    expect(failures(t).at(-1)).toMatchObject({ rule: 'limit:ip:10m', ip: '198.51.100.7' });
  });

  it('behind trusted CIDRs, the client address is what the proxy appended; a peer outside them is not believed', async () => {
    t = await createTestApp({ env: { TRUST_PROXY: '10.0.0.0/8' } });
    const key = await t.createKey('acme', ['verify']);
    await setLimits(t, 'acme', { rates: { 'ip:10m': 2 } });
    for (let i = 1; i <= 3; i++)
      expect(
        await startDirect(t, key, spreadNumber(i), '10.0.0.5', `6.6.6.6, 203.0.113.${i}`),
      ).toBe(201);
    expect(await startDirect(t, key, spreadNumber(10), '198.51.100.7', '203.0.113.50')).toBe(201);
    expect(await startDirect(t, key, spreadNumber(11), '198.51.100.7', '203.0.113.51')).toBe(201);
    expect(await startDirect(t, key, spreadNumber(12), '198.51.100.7', '203.0.113.52')).toBe(429);
  });
});

describe('X-Forwarded-For spoofing, over a real socket', () => {
  let server: ServerType | undefined;
  let t: TestApp;
  afterEach(() => {
    server?.close();
    t.close();
  });

  async function listen(env: Record<string, string>): Promise<string> {
    t = await createTestApp({ env });
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
    server = s;
    await new Promise<void>((resolve) => s.once('listening', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  async function post(base: string, to: string, forwardedFor: string): Promise<number> {
    const response = await fetch(`${base}/v1/verifications`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN_KEY}`,
        'content-type': 'application/json',
        'x-forwarded-for': forwardedFor,
      },
      body: JSON.stringify({ to }),
    });
    await response.arrayBuffer();
    return response.status;
  }

  it('limits by the socket peer (127.0.0.1) whatever X-Forwarded-For says', async () => {
    const base = await listen({});
    await setLimits(t, 'default', { rates: { 'ip:10m': 2 } });
    expect(await post(base, spreadNumber(1), '203.0.113.1')).toBe(201);
    expect(await post(base, spreadNumber(2), '203.0.113.2')).toBe(201);
    expect(await post(base, spreadNumber(3), '203.0.113.3')).toBe(429);
    expect(failures(t).at(-1)).toMatchObject({ rule: 'limit:ip:10m', ip: '127.0.0.1' });
  });

  it('believes X-Forwarded-For when the socket peer is a trusted proxy', async () => {
    const base = await listen({ TRUST_PROXY: '127.0.0.1' });
    await setLimits(t, 'default', { rates: { 'ip:10m': 2 } });
    for (let i = 1; i <= 4; i++)
      expect(await post(base, spreadNumber(i), `203.0.113.${i}`)).toBe(201);
    expect(await post(base, spreadNumber(10), '203.0.113.1')).toBe(201);
    expect(await post(base, spreadNumber(11), '203.0.113.1')).toBe(429);
    expect(failures(t).at(-1)).toMatchObject({ rule: 'limit:ip:10m', ip: '203.0.113.1' });
  });
});
