// @ts-check
/**
 * An integrator's program, written against the types openapi-typescript generates from
 * openapi.yaml and calling the service through openapi-fetch. test/http/openapi.client.test.ts
 * generates the types into test-output/, type-checks this file against them with `tsc --checkJs
 * --strict` (a renamed path, field or enum value fails it), then runs it against the real server.
 *
 * It is JavaScript with JSDoc types, not TypeScript, because the types it needs exist only once the
 * test has generated them: a .ts file here would break the project's own `tsc` on a fresh checkout.
 */
import createClient from 'openapi-fetch';

/** @typedef {import('../../../test-output/openapi-client/api.js').paths} Paths */
/** @typedef {import('openapi-fetch').Client<Paths>} ApiClient */

/**
 * @param {{ baseUrl: string, key?: string, middleware?: import('openapi-fetch').Middleware }} options
 * @returns {ApiClient}
 */
export function createApiClient({ baseUrl, key, middleware }) {
  /** @type {ApiClient} */
  const client = createClient({
    baseUrl,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  if (middleware) client.use(middleware);
  return client;
}

/**
 * @param {string} step
 * @param {{ response: Response, error?: unknown }} result
 * @returns {never}
 */
function fail(step, result) {
  throw new Error(`${step}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
}

/**
 * The public probes, as an orchestrator and a token verifier read them.
 * @param {ApiClient} client
 */
export async function readService(client) {
  const health = await client.GET('/healthz');
  const ready = await client.GET('/readyz');
  const jwks = await client.GET('/.well-known/jwks.json');
  if (!health.data) fail('healthz', health);
  if (!ready.data) fail('readyz', ready);
  if (!jwks.data) fail('jwks', jwks);
  return {
    health: health.data.status,
    ready: ready.data.status,
    database: ready.data.checks.database,
    keyIds: jwks.data.keys.map((k) => k.kid ?? null),
  };
}

/**
 * An API key for an app, made with the admin key.
 * @param {ApiClient} admin
 * @param {string} app
 */
export async function createVerifyKey(admin, app) {
  const created = await admin.POST('/v1/admin/api-keys', { body: { app, scopes: ['verify'] } });
  if (!created.data) fail('create key', created);
  return { key: created.data.key, scopes: created.data.scopes, status: created.response.status };
}

/**
 * Start → a wrong code → the right code → read back.
 * @param {ApiClient} client
 * @param {{ to: string, readCode: (verificationId: string) => string }} options
 */
export async function verifyNumber(client, { to, readCode }) {
  const started = await client.POST('/v1/verifications', {
    body: { to, channel: 'sms', purpose: 'login' },
  });
  if (!started.data) fail('start', started);
  const { id } = started.data;
  const code = readCode(id);

  const wrong = await client.POST('/v1/verifications/{id}/check', {
    params: { path: { id } },
    body: { code: code === '000000' ? '111111' : '000000' },
  });
  if (!wrong.error) fail('wrong code accepted', wrong);

  const checked = await client.POST('/v1/verifications/{id}/check', {
    params: { path: { id } },
    body: { code },
  });
  if (!checked.data) fail('check', checked);

  const read = await client.GET('/v1/verifications/{id}', { params: { path: { id } } });
  if (!read.data) fail('read', read);

  return {
    started: {
      httpStatus: started.response.status,
      id,
      status: started.data.status,
      channel: started.data.channel,
      attemptsRemaining: started.data.attemptsRemaining,
    },
    wrongCode: {
      httpStatus: wrong.response.status,
      contentType: wrong.response.headers.get('content-type'),
      reason: wrong.error.reason,
      attemptsRemaining: wrong.error.attemptsRemaining,
    },
    checked: {
      httpStatus: checked.response.status,
      status: checked.data.status,
      token: checked.data.token,
    },
    read: {
      status: read.data.status,
      attempts: read.data.attempts,
      approvedAt: read.data.approvedAt,
      deliveries: read.data.deliveries.map((d) => d.status),
    },
  };
}

/**
 * A start with a number that is not one.
 * @param {ApiClient} client
 * @param {string} to
 */
export async function startWithBadNumber(client, to) {
  const refused = await client.POST('/v1/verifications', { body: { to, channel: 'auto' } });
  if (!refused.error) fail('bad number accepted', refused);
  return {
    httpStatus: refused.response.status,
    contentType: refused.response.headers.get('content-type'),
    reason: refused.error.reason,
    title: refused.error.title,
  };
}
