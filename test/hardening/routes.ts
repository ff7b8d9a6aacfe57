import type { App } from '../../src/app.js';

export interface MountedRoute {
  method: string;
  /** Hono's pattern, e.g. `/v1/verifications/:id/check`. */
  path: string;
  params: string[];
}

/**
 * Every concrete route the app mounts (middleware entries, registered as `ALL`, left out). Tests
 * iterate over this list, so a route added by a later capability is covered without editing them.
 */
export function mountedRoutes(app: App): MountedRoute[] {
  const seen = new Map<string, MountedRoute>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    if (!seen.has(key))
      seen.set(key, {
        method: route.method,
        path: route.path,
        params: [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!),
      });
  }
  return [...seen.values()];
}

/** The route's path with each parameter replaced by `values[name]` (already encoded as the caller wants). */
export function fillPath(route: MountedRoute, values: Record<string, string>): string {
  return route.path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => values[name] ?? 'x');
}

/** Routes that need no API key: their own checks (signatures, or nothing to protect). */
export function isPublic(route: MountedRoute): boolean {
  return (
    !(route.path.startsWith('/v1/') || isTwilioVerify(route)) ||
    route.path.startsWith('/v1/webhooks/')
  );
}

/**
 * The Twilio Verify v2 routes: form-encoded bodies, HTTP Basic (the Account sid or the key's sid,
 * and the key) and Twilio's error bodies `{ code, message, more_info, status }` instead of problems.
 */
export function isTwilioVerify(route: MountedRoute | string): boolean {
  return (typeof route === 'string' ? route : route.path).startsWith('/v2/');
}

/** A /v2 body as Twilio's SDKs send it: form fields, non-strings as JSON (as the SDKs send `Tags`). */
export function formOf(body: unknown): string {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return JSON.stringify(body) ?? '';
  const fields = Object.entries(body).map(([k, v]): [string, string] => [
    k,
    typeof v === 'string' ? v : (JSON.stringify(v) ?? ''),
  ]);
  return new URLSearchParams(fields).toString();
}

/** Basic credentials for /v2: a user name (`AC…` or `SK…`) and a key. */
export const basicAuth = (user: string, key: string): string =>
  `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;

/** Bodies a client would plausibly send, per route; a route missing here gets `{}` and arbitrary JSON. */
export const PLAUSIBLE: Record<string, Record<string, unknown>> = {
  'POST /v1/verifications': {
    to: '+14155550123',
    channel: 'sms',
    locale: 'en',
    purpose: 'login',
    ttlSeconds: 300,
    signals: { ip: '203.0.113.7', userAgent: 'ua', deviceId: 'd1' },
  },
  'POST /v1/verifications/check': { to: '+14155550123', code: '123456' },
  'POST /v1/verifications/:id/check': {
    code: '123456',
    transaction: { amount: '10.00', currency: 'EUR', payee: 'ACME' },
  },
  'POST /v1/verifications/:id/resend': { channel: 'sms' },
  'POST /v1/factors': { user: 'user_1', type: 'totp', label: 'alice', issuer: 'ACME' },
  'POST /v1/factors/:id/verify': { code: '123456' },
  'POST /v1/factors/:id/challenge': { code: '123456' },
  'POST /v1/admin/api-keys': { app: 'acme', scopes: ['verify'] },
  'PUT /v1/admin/apps/:name': { brand: 'ACME', codeLength: 6 },
  'PUT /v1/admin/apps/:name/limits': { rates: { 'ip:10m': 5 } },
  'POST /v1/blocklist': { kind: 'number', value: '+14155550123', action: 'block', reason: 'test' },
  'POST /v1/webhooks/http/status': { messageId: 'm1', status: 'delivered' },
  'POST /v2/Services': { FriendlyName: 'Acme', CodeLength: '6' },
  'POST /v2/Services/:Sid': { FriendlyName: 'Acme', CustomCodeEnabled: 'false' },
  'POST /v2/Services/:ServiceSid/Verifications': {
    To: '+14155550123',
    Channel: 'sms',
    Locale: 'en',
    DeviceIp: '203.0.113.7',
  },
  'POST /v2/Services/:ServiceSid/Verifications/:Sid': { Status: 'canceled' },
  'POST /v2/Services/:ServiceSid/VerificationCheck': { To: '+14155550123', Code: '123456' },
};
