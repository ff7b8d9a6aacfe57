/**
 * Exploitable without this: a body, path or header shape nobody thought of reaches a handler that
 * throws, and the service answers 500 (a stack trace or an internal message tells an attacker how it
 * is built), accepts a code that is not the one sent (Arabic-Indic or full-width digits, padded
 * digits), or echoes a code back into a response a log or proxy keeps. fast-check generates the
 * inputs over every mounted route (app.routes), so routes added later are covered without edits.
 *
 * Runs (bounded so the suite stays fast; a whole file takes 10–40 s depending on machine load): 30 arbitrary bodies + 20 mutated plausible bodies per route,
 * 150 path-parameter strings per parameterised route, 300 phone inputs, 60 code spellings,
 * 150 Authorization headers, 100 query strings.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASONS } from '../../src/platform/errors.js';
import { RANGES } from '../delivery/helpers.js';
import {
  ADMIN_KEY,
  createTestApp,
  RELAXED_LIMITS,
  startVerification,
  type TestApp,
} from '../helpers/test-app.js';
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

const ARABIC_INDIC = '٠١٢٣٤٥٦٧٨٩';
const FULL_WIDTH = '０１２３４５６７８９';
const DEVANAGARI = '०१२३४५६७८९';

const HOSTILE_STRINGS = fc.oneof(
  fc.constantFrom(
    '../../etc/passwd',
    '..%2F..%2Fadmin',
    "' OR '1'='1",
    '"; DROP TABLE verifications; --',
    '1; SELECT * FROM api_keys',
    '%00',
    '\u0000',
    '%',
    '%E0%A4%A',
    '${jndi:ldap://x}',
    '<script>alert(1)</script>',
    '{{7*7}}',
    '__proto__',
    'constructor',
    ARABIC_INDIC.slice(1, 7),
    FULL_WIDTH.slice(1, 7),
    ' 123456 ',
    '\u202e123456',
    'ver_' + 'A'.repeat(26),
    'x'.repeat(5000),
  ),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

/** A value of the wrong kind, or a hostile one of the right kind. */
const HOSTILE_VALUE: fc.Arbitrary<unknown> = fc.oneof(
  HOSTILE_STRINGS,
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -0,
    Number.MAX_SAFE_INTEGER + 2,
    1.5,
    [],
    {},
    [[[]]],
    { $gt: '' },
    { __proto__: { admin: true } },
  ),
  fc.constantFrom('y'.repeat(8_000), '7'.repeat(8_000)),
  fc.double(),
  fc.array(fc.string(), { maxLength: 5 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const PARAM_VALUE = fc.oneof(
  HOSTILE_STRINGS.map((s) => encodeURIComponent(s)),
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    "'",
    ';',
    '%3B',
    '%25',
    '%zz',
    '%',
    'a%00b',
    '..;',
    '*',
    '-1',
    '0',
    'null',
    'undefined',
  ),
);

/** GET and DELETE requests carry no body (fetch refuses one on GET). */
function bodyOf(method: string, body: string): string | undefined {
  return method === 'GET' || method === 'HEAD' ? undefined : body;
}

interface Expectation {
  /** Strings that must not appear in the response (codes sent in the request). */
  secrets: string[];
  /** A /v2 route: its errors are Twilio's `{ code, message, more_info, status }`, not problems. */
  twilio?: boolean;
}

async function expectSafe(
  response: Response,
  label: string,
  expectation: Expectation = { secrets: [] },
): Promise<void> {
  const text = await response.text();
  const where = `${label} → ${response.status} ${text.slice(0, 300)}`;
  expect(response.status, where).toBeLessThan(500);
  expect(text, where).not.toMatch(
    /\n\s+at |node_modules|SqliteError|TypeError|ReferenceError|SyntaxError: Unexpected/,
  );
  for (const secret of expectation.secrets)
    expect(text.includes(secret), `${where} echoes ${secret}`).toBe(false);
  if (response.status >= 400 && expectation.twilio) {
    expect(response.headers.get('content-type'), where).toBe('application/json');
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(body).sort(), where).toEqual(['code', 'message', 'more_info', 'status']);
    expect(typeof body.code, where).toBe('number');
    expect(body.status, where).toBe(response.status);
  } else if (response.status >= 400) {
    expect(response.headers.get('content-type'), where).toBe('application/problem+json');
    const body = JSON.parse(text) as { reason: string; status: number };
    expect(REASONS, where).toContain(body.reason);
    expect(body.status, where).toBe(response.status);
  }
}

/** Long digit strings only: a 1-digit "code" appears in any response by chance. */
function codesIn(value: unknown): string[] {
  const found: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'string' && /code/i.test(key) && v.length >= 6) found.push(v);
    else if (v && typeof v === 'object') for (const [k, inner] of Object.entries(v)) walk(inner, k);
  };
  walk(value, '');
  return found;
}

describe('hostile input over every mounted route (fast-check)', { timeout: 120_000 }, () => {
  let t: TestApp;
  let routes: MountedRoute[];
  const key = (r: MountedRoute): string => `${r.method} ${r.path}`;
  const sampleParams: Record<string, string> = {};
  let verificationSid = '';

  /** /v2 takes Twilio's form bodies and Basic credentials; every other route JSON and a bearer key. */
  function send(method: string, path: string, body: unknown): Promise<Response> {
    if (!isTwilioVerify(path))
      return t.call(method, path, { body: bodyOf(method, JSON.stringify(body)) });
    const headers = {
      authorization: basicAuth(t.deps.admin.accountSid, ADMIN_KEY),
      'content-type': 'application/x-www-form-urlencoded',
    };
    return t.call(method, path, {
      key: null,
      headers,
      body: body === undefined ? undefined : bodyOf(method, formOf(body)),
    });
  }

  /** A /v2 verification route's `Sid` is a verification's; the Services routes' a Service's. */
  const paramsOf = (route: MountedRoute): Record<string, string> =>
    route.path.includes('/Verifications/')
      ? { ...sampleParams, Sid: verificationSid }
      : sampleParams;

  beforeAll(async () => {
    t = await createTestApp({ env: { ...RELAXED_LIMITS, FLASHCALL_RANGES: RANGES } });
    routes = mountedRoutes(t.app);
    const started = await startVerification(t);
    sampleParams.id = started.id;
    sampleParams.name = 'default';
    sampleParams.asset = 'init.js';
    // A Service the verification routes aim at, and another for the Services routes (which may delete it).
    const service = async (name: string) =>
      (
        (await (await send('POST', '/v2/Services', { FriendlyName: name })).json()) as {
          sid: string;
        }
      ).sid;
    sampleParams.ServiceSid = await service('Fuzz');
    sampleParams.Sid = await service('Fuzz target');
    const v2 = await send('POST', `/v2/Services/${sampleParams.ServiceSid}/Verifications`, {
      To: '+14155550124',
      Channel: 'sms',
    });
    verificationSid = ((await v2.json()) as { sid: string }).sid;
  });
  afterAll(() => t.close());

  it('mounts the routes these properties are about', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(routes.map(key)).toContain('POST /v1/verifications/:id/check');
    expect(routes.map(key)).toContain('POST /v2/Services/:ServiceSid/VerificationCheck');
    expect(verificationSid).toMatch(/^VE[0-9a-f]{32}$/);
  });

  it('arbitrary JSON bodies: never a 5xx, a stack trace or an echoed code', async () => {
    for (const route of routes) {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (body) => {
          const response = await send(route.method, fillPath(route, paramsOf(route)), body);
          await expectSafe(response, `${key(route)} ${JSON.stringify(body).slice(0, 200)}`, {
            secrets: codesIn(body),
            twilio: isTwilioVerify(route),
          });
        }),
        { numRuns: 30 },
      );
    }
  });

  it('plausible bodies with one field replaced by a wrong type, huge string, unicode digits or spaces', async () => {
    for (const route of routes) {
      const plausible = PLAUSIBLE[key(route)] ?? {};
      const fields = [...Object.keys(plausible), 'extra'];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...fields), HOSTILE_VALUE, async (field, value) => {
          const body = { ...plausible, [field]: value };
          const response = await send(route.method, fillPath(route, paramsOf(route)), body);
          await expectSafe(
            response,
            `${key(route)} ${field}=${JSON.stringify(value)?.slice(0, 120)}`,
            { secrets: codesIn(body), twilio: isTwilioVerify(route) },
          );
        }),
        { numRuns: 20 },
      );
    }
  });

  it('path parameters with traversal, SQL meta-characters and broken escapes → 4xx problem (never another resource)', async () => {
    for (const route of routes.filter((r) => r.params.length > 0)) {
      await fc.assert(
        fc.asyncProperty(PARAM_VALUE, async (value) => {
          const params = Object.fromEntries(route.params.map((p) => [p, value]));
          const path = fillPath(route, params);
          const response = await send(route.method, path, PLAUSIBLE[key(route)] ?? {});
          const label = `${route.method} ${path.slice(0, 200)}`;
          // A traversal must not reach another route: a success here is only the route's own resource.
          // GET /v1/admin/apps/:name succeeds for a name an earlier PUT of this property created (seen
          // in CI: 'constructor' went through PUT, then GET found that app).
          if (response.status < 400) {
            expect(
              [
                'GET /docs/:asset',
                'PUT /v1/admin/apps/:name',
                'GET /v1/admin/apps/:name',
                'GET /v1/admin/apps/:name/limits',
                'PUT /v1/admin/apps/:name/limits',
                // The (empty) list of webhooks of an app an earlier PUT created: its own resource too.
                'GET /v1/admin/apps/:name/webhooks',
              ],
              label,
            ).toContain(key(route));
          }
          await expectSafe(response, label, { secrets: [], twilio: isTwilioVerify(route) });
        }),
        { numRuns: 150 },
      );
    }
  });

  it('query strings of any shape on every GET route', async () => {
    for (const route of routes.filter((r) => r.method === 'GET')) {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.constantFrom(
              'user',
              'kind',
              'action',
              'limit',
              'cursor',
              'x',
              'user[]',
              '__proto__',
            ),
            HOSTILE_STRINGS,
            { maxKeys: 3 },
          ),
          async (query) => {
            const qs = new URLSearchParams(query).toString();
            const response = await send(
              'GET',
              `${fillPath(route, paramsOf(route))}?${qs}`,
              undefined,
            );
            await expectSafe(response, `GET ${route.path}?${qs.slice(0, 200)}`, {
              secrets: [],
              twilio: isTwilioVerify(route),
            });
          },
        ),
        { numRuns: 100 },
      );
    }
  });
});

describe('phone numbers in every format, accepted or refused cleanly', { timeout: 120_000 }, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
  });
  afterAll(() => t.close());

  const PHONE = fc.oneof(
    // Shapes libphonenumber-js accepts: E.164, spaced, dotted, bracketed, national with a country hint.
    fc
      .tuple(
        fc.constantFrom(
          '+1 415',
          '+33 6',
          '+44 7700',
          '+49 151',
          '+81 90',
          '+7 912',
          '+234 803',
          '+91 98',
        ),
        fc.stringMatching(/^[0-9 .()-]{4,14}$/),
      )
      .map(([a, b]) => `${a}${b}`),
    fc.stringMatching(/^\+?[0-9 ().-]{0,40}$/),
    fc
      .tuple(fc.constantFrom('0', '00', '+', '++', '+0', ' +'), fc.stringMatching(/^[0-9]{1,20}$/))
      .map(([a, b]) => a + b),
    fc.constantFrom(
      '+1 (415) 555-0123',
      '+1.415.555.0123',
      '+33 6 12 34 56 78',
      '06 12 34 56 78',
      'tel:+14155550123',
      '+1415555012３',
      '+١٤١٥٥٥٥٠١٢٣',
      '+14155550123;ext=1',
      '+14155550123 x12',
      '+1 415 555 0123 +1 415 555 0124',
      '+999999999999',
      '',
    ),
    HOSTILE_STRINGS,
  );
  const COUNTRY = fc.option(fc.constantFrom('FR', 'US', 'GB', 'XX', 'fr', 'ZZZ', ''), {
    nil: undefined,
  });

  it('POST /v1/verifications: 201 with an E.164 number, or a 4xx problem; never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(PHONE, COUNTRY, async (to, country) => {
        const response = await t.call('POST', '/v1/verifications', {
          body: { to, ...(country === undefined ? {} : { country }) },
        });
        if (response.status === 201) {
          const body = (await response.clone().json()) as { to: string };
          expect(body.to, `${to} → ${body.to}`).toMatch(/^\+[1-9][0-9]{6,14}$/);
        }
        await expectSafe(response, `to=${JSON.stringify(to)} country=${String(country)}`);
      }),
      { numRuns: 300 },
    );
  });

  it('POST /v1/verifications/check with any number and code: never approves, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(PHONE, HOSTILE_STRINGS, async (to, code) => {
        const response = await t.call('POST', '/v1/verifications/check', { body: { to, code } });
        expect(response.status).not.toBe(200);
        await expectSafe(response, `to=${JSON.stringify(to)} code=${JSON.stringify(code)}`, {
          secrets: code.length >= 6 ? [code] : [],
        });
      }),
      { numRuns: 100 },
    );
  });
});

describe('codes: only the ASCII digits that were sent approve', { timeout: 120_000 }, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
  });
  afterAll(() => t.close());

  const respell = (code: string, digits: string): string =>
    [...code].map((d) => digits[Number(d)]).join('');
  const SPELLING = fc.constantFrom<[string, (code: string) => string]>(
    ['arabic-indic', (c) => respell(c, ARABIC_INDIC)],
    ['full-width', (c) => respell(c, FULL_WIDTH)],
    ['devanagari', (c) => respell(c, DEVANAGARI)],
    ['leading space', (c) => ` ${c}`],
    ['trailing space', (c) => `${c} `],
    ['inner space', (c) => `${c.slice(0, 3)} ${c.slice(3)}`],
    ['trailing newline', (c) => `${c}\n`],
    ['zero-width joiner', (c) => `${c.slice(0, 3)}\u200d${c.slice(3)}`],
    ['one more digit', (c) => `${c}0`],
    ['one digit less', (c) => c.slice(0, -1)],
    ['as a number', (c) => c],
  );

  it('another spelling of the right code never approves; the code itself still does afterwards', async () => {
    await fc.assert(
      fc.asyncProperty(SPELLING, async ([name, spell]) => {
        const v = await startVerification(t, { to: '+14155550123' });
        const code = t.codeFor(v.id);
        const presented: unknown = name === 'as a number' ? Number(code) : spell(code);
        const response = await t.call('POST', `/v1/verifications/${v.id}/check`, {
          body: { code: presented },
        });
        expect(response.status, `${name}: ${JSON.stringify(presented)}`).not.toBe(200);
        await expectSafe(response, name, { secrets: [code] });
        const right = await t.call('POST', `/v1/verifications/${v.id}/check`, { body: { code } });
        expect(right.status, name).toBe(200);
      }),
      { numRuns: 60 },
    );
  });
});

describe('Authorization header abuse', { timeout: 120_000 }, () => {
  let t: TestApp;
  let appKey: string;
  beforeAll(async () => {
    t = await createTestApp({ env: RELAXED_LIMITS });
    appKey = await t.createKey('acme', ['verify']);
  });
  afterAll(() => t.close());

  it('any header value that is not exactly one valid key → 401 unauthorized, on every protected route', async () => {
    const protectedRoutes = mountedRoutes(t.app).filter((r) => !isPublic(r));
    const HEADER = fc.oneof(
      // What a raw socket delivers: bytes read as Latin-1, without the CR/LF/NUL HTTP forbids.
      HOSTILE_STRINGS.map(
        (s) =>
          `Bearer ${Buffer.from(s)
            .toString('latin1')
            .replace(/[\0\r\n]/g, '')}`,
      ),
      fc.constantFrom(
        'Bearer',
        'Bearer ',
        'bearer ' + appKey,
        'Basic ' + Buffer.from(`x:${appKey}`).toString('base64'),
        `Bearer ${appKey}x`,
        `Bearer ${appKey.slice(0, -1)}`,
        `Bearer  ${appKey}`,
        `Bearer ${appKey}, Bearer ${appKey}`,
        `Bearer ${appKey.split('.')[0]!}.${'A'.repeat(43)}`,
        `Bearer key_${'0'.repeat(26)}.${appKey.split('.')[1]!}`,
        `Token ${appKey}`,
      ),
      fc.string({ maxLength: 300 }).filter((s) => /^[\t\x20-\x7e]*$/.test(s)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...protectedRoutes), HEADER, async (route, header) => {
        const response = await t.call(
          route.method,
          fillPath(route, { id: 'ver_x', name: 'acme' }),
          { key: null, headers: { authorization: header }, body: bodyOf(route.method, '{}') },
        );
        const label = `${route.method} ${route.path} Authorization: ${header.slice(0, 80)}`;
        expect(response.status, label).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe(
          isTwilioVerify(route) ? 'Basic realm="Twilio API"' : 'Bearer',
        );
        await expectSafe(response, label, {
          secrets: [appKey.split('.')[1]!],
          twilio: isTwilioVerify(route),
        });
      }),
      { numRuns: 150 },
    );
  });
});
