import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AdminService, Principal, Scope } from '../admin/admin.service.js';
import type { EventRecorder } from '../events/events.js';
import type { AppEnv } from '../http/app-env.js';
import { authorizationCount } from '../http/auth.js';
import { getClientAddress } from '../http/client-address.js';
import type { Clock } from '../platform/clock.js';
import { twilioError } from './twilio-verify.errors.js';
import { apiKeyIdOf, apiKeySid, isTwilioSid } from '../platform/twilio-sids.js';

/**
 * HTTP Basic as Twilio's SDKs send it (RFC 7617). The password is an API key of this service, as
 * `POST /v1/admin/api-keys` made it; the user name says which account or key it claims to be:
 * - the deployment's Account sid (`AC…`), with any key, ADMIN_API_KEY included; or
 * - the key's own sid (`SK…`), as SDKs configured with an API key send it; the password may then be
 *   the key's secret part alone, as a Twilio API key secret is.
 * Either way the principal is the key's, with its scopes. Every refusal is the same 401 / 20003,
 * recorded like /v1's (reason `unauthorized`), and never says which part was wrong.
 */

const BASIC = /^Basic ([A-Za-z0-9+/]{4,600}={0,2})$/;

/** Constant-time comparison of two sids (34 ASCII characters each when well formed). */
function sameSid(presented: string, expected: string): boolean {
  const a = Buffer.from(presented.toLowerCase());
  const b = Buffer.from(expected.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Credentials {
  user: string;
  password: string;
}

function credentialsOf(header: string): Credentials | undefined {
  const match = BASIC.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

async function principalOf(
  admin: AdminService,
  { user, password }: Credentials,
): Promise<Principal | undefined> {
  if (isTwilioSid('AC', user)) {
    const principal = await admin.authenticate(password);
    return principal && sameSid(user, admin.accountSid) ? principal : undefined;
  }
  if (isTwilioSid('SK', user)) {
    // A secret alone (no `key_….` before it) belongs to the key the user name names.
    const keyId = apiKeyIdOf(user);
    const key = password.includes('.') || keyId === undefined ? password : `${keyId}.${password}`;
    const principal = await admin.authenticate(key);
    const sid = principal && apiKeySid(principal.keyId);
    return sid !== undefined && sameSid(user, sid) ? principal : undefined;
  }
  return undefined;
}

/** Requires Twilio-style Basic credentials on /v2 and sets `principal`, as /v1's Bearer authentication does. */
export function twilioAuthenticate(
  admin: AdminService,
  events: EventRecorder,
  clock: Clock,
): MiddlewareHandler<AppEnv> {
  return async function twilioAuthenticateMiddleware(c, next) {
    const header = c.req.header('authorization') ?? '';
    const duplicated = authorizationCount(c) > 1;
    const credentials = duplicated ? undefined : credentialsOf(header);
    const principal = credentials ? await principalOf(admin, credentials) : undefined;
    if (!principal) {
      await events.record({
        at: clock.now(),
        kind: 'failure',
        reason: 'unauthorized',
        rule: duplicated ? 'duplicate_key' : header ? 'invalid_key' : 'missing_key',
        ip: getClientAddress(c),
        userAgent: c.req.header('user-agent'),
      });
      throw twilioError(20003);
    }
    c.set('principal', principal);
    await next();
  };
}

/** Whether a principal may act on an app's Service: its own app, or any with scope `admin` (which can mint keys for any app). */
export function mayUseApp(principal: Principal, app: string): boolean {
  return principal.app === app || principal.scopes.includes('admin');
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope);
}
