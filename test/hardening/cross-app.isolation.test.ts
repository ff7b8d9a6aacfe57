/**
 * Exploitable without this: one tenant's API key reads another tenant's verifications (numbers,
 * status), checks or cancels them (locks a victim out or approves a login it does not own), resends
 * codes to its numbers (pumping on its bill), or reads and deletes its factors. For every mounted
 * route (app.routes, so later routes are covered too) app B's key is aimed at app A's resources:
 * the answer never names A's resources, and A's state is unchanged afterwards.
 *
 * `security` and `admin` are operator scopes (service-wide blocklist, keys, settings of every app):
 * B's key is given every tenant scope but those; routes that need them must refuse it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/admin/admin.service.js';
import { RANGES } from '../delivery/helpers.js';
import { enroll } from '../helpers/factors.js';
import {
  createTestApp,
  RELAXED_LIMITS,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
import { verificationSid } from '../../src/platform/twilio-sids.js';
import {
  basicAuth,
  fillPath,
  formOf,
  isPublic,
  isTwilioVerify,
  mountedRoutes,
  PLAUSIBLE,
  type MountedRoute,
} from './routes.js';

const OPERATOR_SCOPES = new Set(['security', 'admin']);
const A_NUMBER = '+14155550177';
const A_USER = 'alice-of-app-a';

interface AState {
  verification: { status: string; attempts: number; sends: number };
  factors: number;
}

describe('cross-app isolation on every route', { timeout: 120_000 }, () => {
  let t: TestApp;
  let keyA: string;
  let keyB: string;
  let verificationId: string;
  let factorId: string;
  let before: AState;
  let serviceSidA: string;

  async function stateOfA(): Promise<AState> {
    const v = (await (
      await t.call('GET', `/v1/verifications/${verificationId}`, { key: keyA })
    ).json()) as AState['verification'];
    const list = (await (
      await t.call('GET', `/v1/factors?user=${A_USER}`, { key: keyA })
    ).json()) as { factors: unknown[] };
    return {
      verification: { status: v.status, attempts: v.attempts, sends: v.sends },
      factors: list.factors.length,
    };
  }

  /** Parameters naming A's resources: its verification, its factor, its app (and, on /v2, their sids). */
  function paramsFor(route: MountedRoute): Record<string, string> {
    const id = route.path.startsWith('/v1/factors') ? factorId : verificationId;
    const sid = route.path.includes('/Verifications/')
      ? verificationSid(verificationId)
      : serviceSidA;
    return { id, name: 'app-a', asset: 'init.js', ServiceSid: serviceSidA, Sid: sid };
  }

  /** B's request: a bearer key and JSON on /v1; on /v2 the same key with its Account sid (Basic) and a form. */
  function asB(route: MountedRoute, path: string): Promise<Response> {
    if (!isTwilioVerify(route))
      return t.call(route.method, path, { key: keyB, body: bodyFor(route) });
    const body = bodyFor(route);
    const headers = {
      authorization: basicAuth(t.deps.admin.accountSid, keyB),
      'content-type': 'application/x-www-form-urlencoded',
    };
    return t.call(route.method, path, {
      key: null,
      headers,
      body: body === undefined ? undefined : formOf(JSON.parse(body)),
    });
  }

  /** Each route's plausible body, aimed at A's number. */
  function bodyFor(route: MountedRoute): string | undefined {
    if (route.method === 'GET' || route.method === 'HEAD') return undefined;
    const body: Record<string, unknown> = { ...PLAUSIBLE[`${route.method} ${route.path}`] };
    // Aim lookups by number at A's number; a start to that number would only make B one of its own.
    if ('to' in body && route.path !== '/v1/verifications') body.to = A_NUMBER;
    if ('To' in body) body.To = A_NUMBER;
    return JSON.stringify(body);
  }

  beforeAll(async () => {
    t = await createTestApp({ env: { ...RELAXED_LIMITS, FLASHCALL_RANGES: RANGES } });
    keyA = await t.createKey('app-a', ['verify', 'factors']);
    keyB = await t.createKey(
      'app-b',
      SCOPES.filter((s) => !OPERATOR_SCOPES.has(s)),
    );
    verificationId = (await startVerification(t, { to: A_NUMBER, channel: 'sms' }, keyA)).id;
    factorId = (await enroll(t, { user: A_USER, type: 'totp' }, keyA)).id;
    serviceSidA = (
      (await (await t.call('GET', '/v1/admin/apps/app-a')).json()) as { twilioServiceSid: string }
    ).twilioServiceSid;
    before = await stateOfA();
  });
  afterAll(() => t.close());

  it('B never sees, changes or learns of A’s resources, whatever the route', async () => {
    const routes = mountedRoutes(t.app).filter((r) => !isPublic(r));
    expect(routes.length).toBeGreaterThan(20);
    const outcomes: string[] = [];
    for (const route of routes) {
      const path =
        fillPath(route, paramsFor(route)) + (route.method === 'GET' ? `?user=${A_USER}` : '');
      const response = await asB(route, path);
      const text = await response.text();
      const label = `${route.method} ${route.path} → ${response.status} ${text.slice(0, 200)}`;
      outcomes.push(`${route.method} ${route.path} ${response.status}`);
      expect(response.status, label).toBeLessThan(500);
      expect(text, label).not.toContain(verificationId);
      expect(text, label).not.toContain(verificationSid(verificationId));
      expect(text, label).not.toContain(serviceSidA);
      expect(text, label).not.toContain(factorId);
      expect(text, label).not.toContain(A_USER);
      expect(text, label).not.toContain('app-a');
      // Reads and actions on A's resource by id are "not found" for B: not even their existence leaks.
      if (
        route.params.includes('id') &&
        !route.path.startsWith('/v1/admin') &&
        !route.path.startsWith('/v1/blocklist')
      ) {
        expect(response.status, label).toBe(404);
      }
      if (route.path.startsWith('/v1/admin') || route.path.startsWith('/v1/blocklist'))
        expect(response.status, label).toBe(403);
      // On /v2, A's Service (and so A's verifications) does not exist for B; creating, changing or
      // deleting a Service needs `admin`, refused before the sid is even looked up.
      if (isTwilioVerify(route) && route.params.length > 0)
        expect(response.status, label).toBe(
          route.path === '/v2/Services/:Sid' && route.method !== 'GET' ? 403 : 404,
        );
      if (isTwilioVerify(route) && route.method === 'POST' && route.params.length === 0)
        expect(response.status, label).toBe(403);
    }
    expect(await stateOfA()).toEqual(before);
    console.log(
      `[cross-app] ${routes.length} routes tried with app B's key on app A's resources:\n  ${outcomes.join('\n  ')}`,
    );
  });

  it('checking A’s verification by id or by number with the right code from B neither approves nor uses an attempt', async () => {
    const code = t.codeFor(verificationId);
    const byId = await t.call('POST', `/v1/verifications/${verificationId}/check`, {
      key: keyB,
      body: { code },
    });
    expect(byId.status).toBe(404);
    const byNumber = await t.call('POST', '/v1/verifications/check', {
      key: keyB,
      body: { to: A_NUMBER, code },
    });
    expect(byNumber.status).toBe(404);
    expect(await stateOfA()).toEqual(before);
    const own = await t.call('POST', `/v1/verifications/${verificationId}/check`, {
      key: keyA,
      body: { code },
    });
    expect(own.status).toBe(200);
  });
});
