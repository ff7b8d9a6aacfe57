import type { Context, MiddlewareHandler } from 'hono';
import type { AdminService, Principal, Scope } from '../admin/admin.service.js';
import type { EventRecorder } from '../events/events.js';
import type { Clock } from '../platform/clock.js';
import { getClientAddress } from './client-address.js';
import { problem } from './problem.js';

export interface AuthVariables {
  principal: Principal;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]{16,200}=*)$/;

interface NodeIncoming {
  incoming?: { rawHeaders?: string[] };
}

/**
 * How many Authorization headers the client sent. Node keeps only the first of duplicates while
 * some proxies keep the last, so a request carrying two could be authorised as one principal by a
 * proxy and as another here (RFC 9110 §5.3: Authorization is not a list). Such requests are refused.
 */
export function authorizationCount(c: Context): number {
  const raw = (c.env as NodeIncoming | undefined)?.incoming?.rawHeaders;
  if (!raw) return c.req.header('authorization') === undefined ? 0 : 1;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'authorization') count++;
  return count;
}

/**
 * Requires `Authorization: Bearer <api key>` and sets `principal`. A missing, malformed, unknown
 * or revoked key gets 401 and a failure record; the answer never says which of those it was.
 */
export function authenticate(
  admin: AdminService,
  events: EventRecorder,
  clock: Clock,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function authenticateMiddleware(c, next) {
    const header = c.req.header('authorization') ?? '';
    const duplicated = authorizationCount(c) > 1;
    const match = duplicated ? null : BEARER.exec(header);
    const principal = match?.[1] ? await admin.authenticate(match[1]) : undefined;
    if (!principal) {
      await events.record({
        at: clock.now(),
        kind: 'failure',
        reason: 'unauthorized',
        rule: duplicated ? 'duplicate_key' : header ? 'invalid_key' : 'missing_key',
        ip: getClientAddress(c),
        userAgent: c.req.header('user-agent'),
      });
      return problem(c, 'unauthorized');
    }
    c.set('principal', principal);
    await next();
  };
}

/** Requires the authenticated key to carry `scope` (403 otherwise, recorded). */
export function requireScope(
  scope: Scope,
  events: EventRecorder,
  clock: Clock,
): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async function requireScopeMiddleware(c, next) {
    const principal = c.get('principal');
    if (!principal.scopes.includes(scope)) {
      await events.record({
        at: clock.now(),
        kind: 'failure',
        reason: 'forbidden',
        rule: `scope:${scope}`,
        app: principal.app,
        ip: getClientAddress(c),
        userAgent: c.req.header('user-agent'),
      });
      return problem(c, 'forbidden', { details: { requiredScope: scope } });
    }
    await next();
  };
}
